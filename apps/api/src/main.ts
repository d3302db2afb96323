import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfigOrExit } from '../../../libs/config/src';
import { exitCleanlyOn } from '../../../libs/runtime/src';
import { ApiModule } from './api.module';
import { jsonBody } from './common/json-body';
import { ApiMetrics } from './metrics/api.metrics';
import { webClient } from './web/web-client';

const DEFAULT_PORT = 3000;

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config), { bodyParser: false });
  app.disable('x-powered-by');
  app.use(app.get(ApiMetrics).middleware()); // counts every request, whoever answers it
  app.use(webClient(config)); // only `/`, `/app.js`, `/app.css`; before Nest's routes
  app.use(...jsonBody());
  app.enableCors({ origin: config.corsOrigins.length > 0 ? config.corsOrigins : false });
  const port = config.port ?? DEFAULT_PORT;
  await app.listen(port, '0.0.0.0');
  Logger.log(`api listening on :${port} (scheduler: ${config.staticGateways ? 'static' : 'redis'})`, 'Api');
  exitCleanlyOn(app, ['SIGTERM', 'SIGINT']);
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(`api failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
