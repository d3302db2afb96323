import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';
import type { AppConfig } from '../../../../libs/config/src';

/** Largest Socket.IO packet accepted: a 4000-character message is far below it. */
const MAX_PACKET_BYTES = 64 * 1024;

/** Socket.IO with the gateway's limits and CORS policy applied at the edge. */
export class ConfiguredIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    return super.createIOServer(port, {
      ...(options as ServerOptions),
      maxHttpBufferSize: MAX_PACKET_BYTES,
      cors: { origin: this.config.corsOrigins.length > 0 ? this.config.corsOrigins : true },
    }) as Server;
  }
}
