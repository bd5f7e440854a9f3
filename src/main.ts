import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createServer } from 'node:net';
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

  await app.listen(config.port, await anyAddress());
  logger.log(`Ready: listening on port ${config.port}`);
}

/**
 * `::`, one dual-stack socket for IPv6 and IPv4; `0.0.0.0` on a host without IPv6. Asked of a
 * throwaway socket: a failed `app.listen` would log an error for what is only a fallback.
 */
async function anyAddress(): Promise<string> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(0, '::', resolve);
    });
    return '::';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
    return '0.0.0.0';
  } finally {
    probe.close();
  }
}

void bootstrap();
