import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TokenService } from '../../../libs/auth/src';
import type { AppConfig } from '../../../libs/config/src';
import {
  Database,
  EventLogRepository,
  MembershipRepository,
  MessageSearchRepository,
  RoomRepository,
  SnapshotRepository,
  UserRepository,
} from '../../../libs/persistence/src';
import { SearchController } from './search/search.controller';
import { SearchService } from './search/search.service';
import { bullProducer } from '../../../libs/jobs/src';
import { createRedisClient, GatewayRegistry, RoomOwnership, type RedisClient } from '../../../libs/routing/src';
import { HealthController } from '../../../libs/runtime/src';
import { METRICS_REGISTRY, MetricsController } from '../../../libs/runtime/src/metrics';
import { AdminController } from './admin/admin.controller';
import { AdminService } from './admin/admin.service';
import { AuthController } from './auth/auth.controller';
import { AuthService } from './auth/auth.service';
import { AdminGuard, AuthGuard } from './common/auth.guard';
import { HttpErrorFilter } from './common/http-error.filter';
import { ExportsController } from './exports/exports.controller';
import { exportsImports, exportsProviders } from './exports/exports.providers';
import { ApiMetrics } from './metrics/api.metrics';
import { RoomsController } from './rooms/rooms.controller';
import { RoomsService } from './rooms/rooms.service';
import { RedisScheduler } from './scheduler/redis.scheduler';
import { StaticScheduler } from './scheduler/static.scheduler';
import { CONFIG, REDIS, SCHEDULER } from './tokens';
import { webRoute } from './web/web-client';

/** Wires the API from plain classes; Nest only assembles and runs them. */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    const jobs = bullProducer(config, new Logger('JobQueue'));
    return {
      module: ApiModule,
      imports: [...exportsImports(jobs)],
      controllers: [ExportsController, AuthController, RoomsController, SearchController, AdminController, HealthController, MetricsController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: ApiMetrics, useFactory: () => new ApiMetrics(webRoute) },
        { provide: METRICS_REGISTRY, useFactory: (metrics: ApiMetrics) => metrics.registry, inject: [ApiMetrics] },
        { provide: Database, useFactory: () => new Database(config.databaseUrl, { poolSize: 5, applicationName: 'api' }) },
        { provide: REDIS, useFactory: () => createRedisClient(config, 'commands', new Logger('Redis')) },
        { provide: TokenService, useFactory: () => new TokenService(config.jwtSecret, config.tokenTtlSeconds, config.ticketTtlSeconds) },
        { provide: UserRepository, useFactory: (db: Database) => new UserRepository(db), inject: [Database] },
        { provide: RoomRepository, useFactory: (db: Database) => new RoomRepository(db), inject: [Database] },
        { provide: EventLogRepository, useFactory: (db: Database) => new EventLogRepository(db), inject: [Database] },
        { provide: MembershipRepository, useFactory: (db: Database) => new MembershipRepository(db), inject: [Database] },
        { provide: MessageSearchRepository, useFactory: (db: Database) => new MessageSearchRepository(db), inject: [Database] },
        SearchService,
        { provide: SnapshotRepository, useFactory: (db: Database) => new SnapshotRepository(db), inject: [Database] },
        { provide: RoomOwnership, useFactory: (redis: RedisClient) => new RoomOwnership(redis), inject: [REDIS] },
        { provide: GatewayRegistry, useFactory: (redis: RedisClient) => new GatewayRegistry(redis, config.gatewayTtlSeconds), inject: [REDIS] },
        {
          provide: SCHEDULER,
          useFactory: (registry: GatewayRegistry, ownership: RoomOwnership) =>
            config.staticGateways ? new StaticScheduler(config.staticGateways) : new RedisScheduler(registry, ownership),
          inject: [GatewayRegistry, RoomOwnership],
        },
        ...exportsProviders(config, jobs),
        AuthGuard,
        AdminGuard,
        AuthService,
        RoomsService,
        AdminService,
      ],
    };
  }
}
