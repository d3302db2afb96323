import { type DynamicModule, Module } from '@nestjs/common';
import { Redis } from 'ioredis';
import { TokenService } from '../../../libs/auth/src';
import type { AppConfig } from '../../../libs/config/src';
import { Database, EventLogRepository, RoomRepository } from '../../../libs/persistence/src';
import { GatewayRegistry, RoomOwnership } from '../../../libs/routing/src';
import { HealthController } from '../../../libs/runtime/src';
import { HeartbeatService } from './lifecycle/heartbeat.service';
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
    return {
      module: GatewayModule,
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: config },
        {
          provide: Database,
          useFactory: () => new Database(config.databaseUrl, { poolSize: 8, applicationName: `gateway-${config.gatewayId}` }),
        },
        {
          provide: REDIS,
          useFactory: () => new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true }),
        },
        { provide: TokenService, useFactory: () => new TokenService(config.jwtSecret, config.tokenTtlSeconds, config.ticketTtlSeconds) },
        { provide: GatewayRegistry, useFactory: (redis: Redis) => new GatewayRegistry(redis, config.gatewayTtlSeconds), inject: [REDIS] },
        {
          provide: OWNERSHIP,
          useFactory: (redis: Redis) =>
            config.staticGateways
              ? new StaticOwnershipCheck(
                  config.staticGateways.map((g) => g.id),
                  config.gatewayId!,
                )
              : new RedisOwnershipCheck(new RoomOwnership(redis), config.gatewayId!),
          inject: [REDIS],
        },
        { provide: GroupCommitWriter, useFactory: (db: Database) => new GroupCommitWriter(new EventLogRepository(db)), inject: [Database] },
        SocketRoomChannel,
        {
          provide: RoomRegistry,
          useFactory: (db: Database, writer: GroupCommitWriter, channel: SocketRoomChannel) =>
            new RoomRegistry({
              gatewayId: config.gatewayId!,
              rooms: new RoomRepository(db),
              events: new EventLogRepository(db),
              writer,
              channel,
            }),
          inject: [Database, GroupCommitWriter, SocketRoomChannel],
        },
        RoomGateway,
        HeartbeatService,
      ],
    };
  }
}
