import { createServer, type Server } from 'node:http';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../../../../libs/config/src';
import { EXPORT_QUEUE, SNAPSHOT_QUEUE } from '../../../../libs/jobs/src';
import { closeConnectionsOnServerClose } from '../../../../libs/runtime/src/http-connections';
import { ExportProcessor } from '../exports/export.processor';
import { SnapshotProcessor } from '../snapshots/snapshot.processor';
import { CONFIG } from '../tokens';
import { WorkerMetrics } from './worker.metrics';

/**
 * Feeds the job counters from the BullMQ workers' events, and, when `PORT` is set, serves
 * `GET /metrics` (Prometheus text) on it. The worker has no other HTTP surface, so this is a
 * bare node:http server rather than a Nest HTTP app; without `PORT` there is none, so several
 * workers can run on one host. Unauthenticated: keep the port internal, like the others'.
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server: Server | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly metrics: WorkerMetrics,
    private readonly exportProcessor: ExportProcessor,
    private readonly snapshotProcessor: SnapshotProcessor,
  ) {}

  /** After every onModuleInit, so @nestjs/bullmq has created the processors' workers. */
  async onApplicationBootstrap(): Promise<void> {
    for (const [queue, host] of [
      [EXPORT_QUEUE, this.exportProcessor],
      [SNAPSHOT_QUEUE, this.snapshotProcessor],
    ] as const) {
      host.worker.on('completed', (job) => this.metrics.jobSettled(queue, job, 'completed'));
      host.worker.on('failed', (job) => this.metrics.jobSettled(queue, job, 'failed'));
    }
    if (this.config.port !== undefined) await this.listen(this.config.port);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"code":"not_found","message":"only GET /metrics here"}}');
        return;
      }
      this.metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType, 'Cache-Control': 'no-store' }).end(body),
        (err: unknown) => {
          this.logger.error({ msg: 'metrics scrape failed', err });
          res.writeHead(500).end();
        },
      );
    });
    closeConnectionsOnServerClose(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '0.0.0.0', () => resolve());
    });
    this.server = server;
    this.logger.log({ msg: `metrics on :${port}/metrics`, port });
  }
}
