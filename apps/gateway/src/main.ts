import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit } from '../../../libs/config/src';
import { exitCleanlyOn } from '../../../libs/runtime/src';
import { ConfiguredIoAdapter } from './transport/configured-io.adapter';
import { GatewayModule } from './gateway.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(['GATEWAY_ID', 'GATEWAY_PUBLIC_URL', 'PORT']);
  const app = await NestFactory.create(GatewayModule.forRoot(config), { bufferLogs: false });
  app.useWebSocketAdapter(new ConfiguredIoAdapter(app, config));
  await app.listen(config.port!, '0.0.0.0');
  Logger.log(`gateway ${config.gatewayId} listening on :${config.port} (${config.gatewayPublicUrl})`, 'Gateway');
  exitCleanlyOn(app, ['SIGTERM', 'SIGINT']);
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
