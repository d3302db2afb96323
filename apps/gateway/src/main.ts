import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit } from '../../../libs/config/src';
import { exitCleanlyOn, installProcessLogger } from '../../../libs/runtime/src';
import { ConfiguredIoAdapter } from './transport/configured-io.adapter';
import { GatewayModule } from './gateway.module';

const config = loadConfigOrExit(['GATEWAY_ID', 'GATEWAY_PUBLIC_URL', 'PORT']);
// Every line of a gateway names it, so a fleet's logs can be searched by gateway.
const logger = installProcessLogger(config.log, { app: 'gateway', gatewayId: config.gatewayId! });

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(GatewayModule.forRoot(config), { logger });
  app.useWebSocketAdapter(new ConfiguredIoAdapter(app, config));
  await app.listen(config.port!, '0.0.0.0');
  Logger.log(`gateway ${config.gatewayId} listening on :${config.port} (${config.gatewayPublicUrl})`, 'Gateway');
  exitCleanlyOn(app, ['SIGTERM', 'SIGINT']);
}

bootstrap().catch((err: unknown) => {
  logger.fatal({ msg: 'gateway failed to start', err }, 'Gateway');
  process.exit(1);
});
