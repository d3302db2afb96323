import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfigOrExit } from '../../../libs/config/src';
import { exitCleanlyOn, installProcessLogger } from '../../../libs/runtime/src';
import { ApiModule } from './api.module';
import { jsonBody } from './common/json-body';
import { requestLog } from './common/request-log.middleware';
import { ApiMetrics } from './metrics/api.metrics';
import { webClient } from './web/web-client';

const DEFAULT_PORT = 3000;

const config = loadConfigOrExit();
const logger = installProcessLogger(config.log, { app: 'api' });

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config), { bodyParser: false, logger });
  app.disable('x-powered-by');
  // TRUST_PROXY: whose X-Forwarded-For gives req.ip (the auth rate limit's client address). Unset
  // keeps Express's default (trust nothing: the socket's peer is the client, the header ignored).
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
  app.use(requestLog()); // request id (header and log lines) and one line per request
  app.use(app.get(ApiMetrics).middleware()); // counts every request, whoever answers it
  app.use(webClient(config)); // the web app's pages and bundle only (dist/web); before Nest's routes
  app.use(...jsonBody());
  app.enableCors({ origin: config.corsOrigins.length > 0 ? config.corsOrigins : false });
  const port = config.port ?? DEFAULT_PORT;
  await app.listen(port, '0.0.0.0');
  Logger.log(`api listening on :${port} (scheduler: ${config.staticGateways ? 'static' : 'redis'})`, 'Api');
  exitCleanlyOn(app, ['SIGTERM', 'SIGINT']);
}

bootstrap().catch((err: unknown) => {
  logger.fatal({ msg: 'api failed to start', err }, 'Api');
  process.exit(1);
});
