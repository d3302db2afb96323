import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { S3Client } from '@aws-sdk/client-s3';
import { TokenService } from '../../../libs/auth/src';
import type { AppConfig } from '../../../libs/config/src';
import { Database, EventLogRepository, ReadMarkerRepository, RoomRepository, SearchIndexMaintenance, SnapshotRepository, UserRepository } from '../../../libs/persistence/src';
import { createRedisClient, GatewayRegistry, RoomOwnership, type RedisClient } from '../../../libs/routing/src';
import {
  CallingThreadSnapshotTransfer,
  createS3Client,
  createSnapshotEncoder,
  s3ClientConfig,
  SnapshotEncoder,
  SnapshotStore,
  SnapshotTransfer,
  ThreadSnapshotTransfer,
} from '../../../libs/storage/src';
import { HealthController, READINESS_GATE, type ReadinessGate } from '../../../libs/runtime/src';
import { METRICS_REGISTRY, MetricsController } from '../../../libs/runtime/src/metrics';
import { DrainService } from './lifecycle/drain.service';
import { GatewayLifecycle } from './lifecycle/gateway-lifecycle.service';
import { OwnershipWatcher } from './lifecycle/ownership.watcher';
import { RoomHibernator } from './lifecycle/room.hibernator';
import { SearchIndexCleaner } from './lifecycle/search-index.cleaner';
import { GatewayMetrics, moduleSources } from './metrics/gateway.metrics';
import { MAX_CONCURRENT_SNAPSHOTS, SnapshotScheduler } from './lifecycle/snapshot.scheduler';
import { ReadMarkerBatcher } from './read-markers/read-marker.batcher';
import { GroupCommitWriter } from './rooms/group-commit.writer';
import { RedisOwnershipCheck, StaticOwnershipCheck } from './rooms/room-ownership.check';
import { RoomRegistry } from './rooms/room.registry';
import { RoomGateway } from './transport/room.gateway';
import { SocketRoomChannel } from './transport/socket-room.channel';
import { CONFIG, OWNERSHIP, REDIS } from './tokens';

/** Wires the gateway from plain classes; Nest only assembles and runs them. */
@Module({})
export class GatewayModule {
  static forRoot(config: AppConfig): DynamicModule {
    // Bench only (not configuration, not in CONTRACT.md): SNAPSHOT_ENCODE_INLINE=1 restores the
    // gateway as it was, snapshots encoded on the event loop and swept all at once, so that
    // `npm run bench` can report the event loop with and without the change.
    const inlineSnapshots = process.env.SNAPSHOT_ENCODE_INLINE === '1';
    // Bench only, likewise: SNAPSHOT_LOAD_PHASE=off lets rooms loaded together fall due together,
    // so that the snapshot-wave bench can still make 500 rooms due at once (the worst case the
    // load phase avoids after a failover, and that rooms written in step can still reach).
    const loadPhase = process.env.SNAPSHOT_LOAD_PHASE !== 'off';
    return {
      module: GatewayModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: CONFIG, useValue: config },
        {
          provide: Database,
          useFactory: () => new Database(config.databaseUrl, { poolSize: 8, applicationName: `gateway-${config.gatewayId}` }),
        },
        { provide: REDIS, useFactory: () => createRedisClient(config, 'commands', new Logger('Redis')) },
        { provide: TokenService, useFactory: () => new TokenService(config.jwtSecret, config.tokenTtlSeconds, config.ticketTtlSeconds) },
        { provide: GatewayRegistry, useFactory: (redis: RedisClient) => new GatewayRegistry(redis, config.gatewayTtlSeconds), inject: [REDIS] },
        {
          provide: OWNERSHIP,
          useFactory: (redis: RedisClient) =>
            config.staticGateways
              ? new StaticOwnershipCheck(
                  config.staticGateways.map((g) => g.id),
                  config.gatewayId!,
                )
              : new RedisOwnershipCheck(new RoomOwnership(redis), config.gatewayId!),
          inject: [REDIS],
        },
        { provide: GatewayMetrics, useFactory: (moduleRef: ModuleRef) => new GatewayMetrics(config.gatewayId!, moduleSources(moduleRef)), inject: [ModuleRef] },
        { provide: METRICS_REGISTRY, useFactory: (metrics: GatewayMetrics) => metrics.registry, inject: [GatewayMetrics] },
        {
          provide: GroupCommitWriter,
          useFactory: (db: Database, metrics: GatewayMetrics) =>
            new GroupCommitWriter(new EventLogRepository(db), { onBatch: metrics.onBatch, onOutcome: metrics.onCommitOutcome }),
          inject: [Database, GatewayMetrics],
        },
        // Read markers: their own table and their own batched statement, never the group commit.
        { provide: ReadMarkerBatcher, useFactory: (db: Database) => new ReadMarkerBatcher(new ReadMarkerRepository(db)), inject: [Database] },
        SocketRoomChannel,
        { provide: RoomOwnership, useFactory: (redis: RedisClient) => new RoomOwnership(redis), inject: [REDIS] },
        { provide: S3Client, useFactory: () => createS3Client(config.s3) },
        // Their worker threads end in onApplicationShutdown, after the drain's final snapshots.
        { provide: SnapshotEncoder, useFactory: () => createSnapshotEncoder({ inline: inlineSnapshots }) },
        {
          provide: SnapshotTransfer,
          useFactory: (s3: S3Client) => (inlineSnapshots ? new CallingThreadSnapshotTransfer(s3) : new ThreadSnapshotTransfer(s3ClientConfig(config.s3), config.s3.bucket)),
          inject: [S3Client],
        },
        {
          provide: SnapshotStore,
          useFactory: (db: Database, s3: S3Client, encoder: SnapshotEncoder, transfer: SnapshotTransfer) => {
            const logger = new Logger('SnapshotStore');
            return new SnapshotStore(s3, config.s3.bucket, new SnapshotRepository(db), (msg) => logger.warn(msg), encoder, transfer);
          },
          inject: [Database, S3Client, SnapshotEncoder, SnapshotTransfer],
        },
        {
          provide: RoomRegistry,
          useFactory: (
            db: Database,
            writer: GroupCommitWriter,
            channel: SocketRoomChannel,
            snapshots: SnapshotStore,
            ownership: RoomOwnership,
            metrics: GatewayMetrics,
          ) =>
            new RoomRegistry({
              gatewayId: config.gatewayId!,
              rooms: new RoomRepository(db),
              events: new EventLogRepository(db),
              users: new UserRepository(db),
              snapshots,
              writer,
              channel,
              onLoaded: (roomId) => void ownership.markLoaded(roomId, config.gatewayId!).catch(() => undefined),
              onLoadSettled: metrics.onRoomLoad,
            }),
          inject: [Database, GroupCommitWriter, SocketRoomChannel, SnapshotStore, RoomOwnership, GatewayMetrics],
        },
        {
          provide: SnapshotScheduler,
          useFactory: (rooms: RoomRegistry) =>
            new SnapshotScheduler(
              rooms,
              { everyEvents: config.snapshotEveryEvents, intervalMs: config.snapshotIntervalMs, loadPhase },
              inlineSnapshots ? Infinity : MAX_CONCURRENT_SNAPSHOTS,
            ),
          inject: [RoomRegistry],
        },
        {
          provide: OwnershipWatcher,
          useFactory: (rooms: RoomRegistry, ownership: RoomOwnership) =>
            new OwnershipWatcher(rooms, ownership, config.gatewayId!, 2 * config.ticketTtlSeconds * 1000),
          inject: [RoomRegistry, RoomOwnership],
        },
        {
          provide: RoomHibernator,
          useFactory: (rooms: RoomRegistry, ownership: RoomOwnership, channel: SocketRoomChannel, drainer: DrainService) =>
            new RoomHibernator({
              rooms,
              socketsIn: (roomId) => channel.socketsIn(roomId),
              release: (roomId) => ownership.release(roomId, config.gatewayId!).then(() => undefined),
              isDraining: () => drainer.isDraining,
              idleMs: config.roomIdleMs,
            }),
          inject: [RoomRegistry, RoomOwnership, SocketRoomChannel, DrainService],
        },
        {
          provide: SearchIndexCleaner,
          useFactory: (db: Database, writer: GroupCommitWriter) => {
            const maintenance = new SearchIndexMaintenance(db);
            return new SearchIndexCleaner({ cleanPendingList: () => maintenance.cleanPendingList(), eventsWritten: () => writer.stats.events });
          },
          inject: [Database, GroupCommitWriter],
        },
        {
          provide: DrainService,
          useFactory: (rooms: RoomRegistry, ownership: RoomOwnership, writer: GroupCommitWriter, moduleRef: ModuleRef) =>
            new DrainService(rooms, ownership, writer, config.gatewayId!, () => moduleRef.get(GatewayLifecycle).heartbeat(), config.drainDeadlineMs),
          inject: [RoomRegistry, RoomOwnership, GroupCommitWriter, ModuleRef],
        },
        // Readiness turns 503 `draining` from the drain's first moment until the process exits.
        { provide: READINESS_GATE, useFactory: (drainer: DrainService): ReadinessGate => () => (drainer.isDraining ? 'draining' : null), inject: [DrainService] },
        RoomGateway,
        GatewayLifecycle,
      ],
    };
  }
}
