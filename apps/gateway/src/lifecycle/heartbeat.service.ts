import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../../../../libs/config/src';
import { GatewayRegistry } from '../../../../libs/routing/src';
import { RoomRegistry } from '../rooms/room.registry';
import { SocketRoomChannel } from '../transport/socket-room.channel';
import { CONFIG } from '../tokens';

/** Heartbeat period; the registration's TTL (GATEWAY_TTL_SECONDS) spans several of them. */
const HEARTBEAT_MS = 1_000;

/**
 * Keeps this gateway registered with its load so the scheduler can place rooms on it, and
 * removes the registration on a clean exit so no room is sent to a gateway that is leaving.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HeartbeatService.name);
  private timer: NodeJS.Timeout | undefined;
  private status: 'active' | 'draining' = 'active';

  constructor(
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly registry: GatewayRegistry,
    private readonly rooms: RoomRegistry,
    private readonly channel: SocketRoomChannel,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  setDraining(): Promise<void> {
    this.status = 'draining';
    return this.beat();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.registry.deregister(this.config.gatewayId!).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    try {
      await this.registry.heartbeat({
        id: this.config.gatewayId!,
        url: this.config.gatewayPublicUrl!,
        status: this.status,
        rooms: this.rooms.size,
        connections: this.channel.connectionCount(),
      });
    } catch (err) {
      this.logger.warn(`heartbeat failed: ${(err as Error).message}`);
    }
  }
}
