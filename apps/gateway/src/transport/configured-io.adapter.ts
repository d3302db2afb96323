import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';
import type { AppConfig } from '../../../../libs/config/src';
import { coalesceFrameWrites } from './coalesced-writes';

/** Largest Socket.IO packet accepted: a 4000-character message is far below it. */
const MAX_PACKET_BYTES = 64 * 1024;

/** Socket.IO with the gateway's limits and CORS policy applied at the edge, and frames flushed together written together. */
export class ConfiguredIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, {
      ...(options as ServerOptions),
      maxHttpBufferSize: MAX_PACKET_BYTES,
      cors: { origin: this.config.corsOrigins.length > 0 ? this.config.corsOrigins : true },
    }) as Server;
    coalesceFrameWrites(server);
    return server;
  }
}
