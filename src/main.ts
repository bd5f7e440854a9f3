import 'reflect-metadata';
import { type INestApplication, Logger } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { createApp } from './app.setup.js';
import { ConfigError, loadConfig } from './config/app-config.js';

/** docs/CONTRACT.md: in-flight handlers get this long to finish after SIGTERM. */
const SHUTDOWN_GRACE_MS = 10_000;

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const app = await createApp(AppModule.forRoot(config), {
    adapter: 'fastify',
    trustProxy: config.trustProxy,
    bufferLogs: true,
    http: { maxConnectionsPerAddress: config.maxConnectionsPerAddress },
  });
  app.useLogger(app.get(PinoLogger));
  const logger = new Logger('Main');
  if (config.tokenSecretGenerated) {
    logger.warn(
      'TOKEN_SECRET is not set: using a random secret for this process; its tokens die with it and other instances reject them.',
    );
  }

  // Stop accepting, let in-flight requests finish and record their outcomes, close Redis, exit 0.
  // (Nest's own shutdown hooks would re-raise the signal, and the exit code would not be 0.)
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(
        `${signal}: shutting down, waiting up to ${SHUTDOWN_GRACE_MS / 1000} s for in-flight requests`,
      );
      setTimeout(() => {
        logger.error('In-flight requests did not finish in time; exiting anyway');
        process.exit(1);
      }, SHUTDOWN_GRACE_MS).unref();
      app.close().then(
        () => process.exit(0),
        (error: Error) => {
          logger.error(`Shutdown failed: ${error.message}`);
          process.exit(1);
        },
      );
    });
  }

  await listenOnEveryAddress(app, config.port);
  logger.log(`Ready: listening on port ${config.port}`);
}

/** IPv6 and IPv4 on one dual-stack socket; IPv4 alone on a host without IPv6. */
async function listenOnEveryAddress(app: INestApplication, port: number): Promise<void> {
  try {
    await app.listen(port, '::');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
    await app.listen(port, '0.0.0.0');
  }
}

void bootstrap();
