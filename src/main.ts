import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AppModule } from './app.module.js';
import { createApp } from './app.setup.js';
import { ConfigError, loadConfig } from './config/app-config.js';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Main');
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  if (config.tokenSecretGenerated) {
    logger.warn('TOKEN_SECRET is not set: using a random secret for this process; its tokens die with it and other instances reject them.');
  }
  const app = await createApp(AppModule.forRoot(config), { adapter: 'fastify', trustProxy: config.trustProxy });
  await app.listen(config.port, '0.0.0.0');
  logger.log(`Ready: listening on port ${config.port}`);
}

void bootstrap();
