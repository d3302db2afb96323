import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { S3Client } from '@aws-sdk/client-s3';
import type { AppConfig } from '../../../../libs/config/src';
import { Database } from '../../../../libs/persistence/src';
import { GatewayRegistry, RoomOwnership, type RedisClient } from '../../../../libs/routing/src';
import { ensureBucket } from '../../../../libs/storage/src';
import { RoomRegistry } from '../rooms/room.registry';
import { SocketRoomChannel } from '../transport/socket-room.channel';
import { CONFIG, REDIS } from '../tokens';
import { DrainService } from './drain.service';
import { OwnershipWatcher } from './ownership.watcher';
import { RoomHibernator } from './room.hibernator';
import { SearchIndexCleaner } from './search-index.cleaner';
import { SnapshotScheduler } from './snapshot.scheduler';

/** Heartbeat period; the registration's TTL (GATEWAY_TTL_SECONDS) spans several of them. */
const HEARTBEAT_MS = 1_000;

/**
 * Runs the gateway's background duties (heartbeat with load and status, snapshots, ownership
 * watch, hibernation, the search index's pending list) and its shutdown: drain every room, then
 * deregister and close connections.
 */
@Injectable()
export class GatewayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(GatewayLifecycle.name);
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly db: Database,
    private readonly registry: GatewayRegistry,
    private readonly rooms: RoomRegistry,
    private readonly channel: SocketRoomChannel,
    private readonly snapshots: SnapshotScheduler,
    private readonly watcher: OwnershipWatcher,
    private readonly drainer: DrainService,
    private readonly s3: S3Client,
    private readonly ownership: RoomOwnership,
    private readonly hibernator: RoomHibernator,
    private readonly searchIndex: SearchIndexCleaner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Without the bucket rooms still load (from the log) and snapshots retry: warn, don't fail.
    await ensureBucket(this.s3, this.config.s3.bucket).catch((err: unknown) =>
      this.logger.warn(`S3 bucket "${this.config.s3.bucket}" not reachable yet: ${(err as Error).message}`),
    );
    await this.registry.clearDrainRequest(this.config.gatewayId!).catch(() => undefined);
    // A (re)started gateway holds no room: rooms still assigned to it from a previous life are
    // handed back unless a client comes for them, so they do not hold its capacity forever.
    await this.ownership.forgetLoaded(this.config.gatewayId!).catch(() => undefined);
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
    this.heartbeatTimer.unref();
    this.snapshots.start();
    this.watcher.start();
    this.hibernator.start();
    this.searchIndex.start();
  }

  /** SIGTERM / SIGINT: hand every room over while sockets are still open. */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    await this.drainer.drain(signal ?? 'shutdown');
  }

  async onApplicationShutdown(): Promise<void> {
    this.snapshots.stop();
    this.watcher.stop();
    this.hibernator.stop();
    await this.searchIndex.stop();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.registry.deregister(this.config.gatewayId!).catch(() => undefined);
    this.redis.disconnect();
    await this.db.close();
  }

  /**
   * Publishes status and load (also called by the drain before the first room moves), and picks
   * up an admin drain request. Once an admin drain finished, the gateway idles as `gone`: it
   * stops heartbeating and removes its registration, but keeps running until stopped.
   */
  async heartbeat(): Promise<void> {
    const id = this.config.gatewayId!;
    if (this.drainer.progress.state === 'drained') {
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      await this.registry.deregister(id).catch(() => undefined);
      return;
    }
    try {
      if (!this.drainer.isDraining && (await this.registry.drainRequested(id))) {
        void this.drainer.drain('admin request').then(() => this.heartbeat());
        return;
      }
      await this.registry.heartbeat({
        id,
        url: this.config.gatewayPublicUrl!,
        status: this.drainer.isDraining ? 'draining' : 'active',
        rooms: this.rooms.size,
        connections: this.channel.connectionCount(),
        capacity: this.config.maxRoomsPerGateway,
      });
    } catch (err) {
      this.logger.warn(`heartbeat failed: ${(err as Error).message}`);
    }
  }
}
