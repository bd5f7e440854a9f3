import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';

try {
  const app = await NestFactory.create(AppModule, new FastifyAdapter(), {
    logger: ['error', 'warn'],
  });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log('ready');
  process.once('SIGTERM', () => {
    const started = Date.now();
    void app.close().then(() => console.log(`closed in ${Date.now() - started} ms`));
  });
} catch (error) {
  console.error(`start refused: ${(error as Error).message}`);
  process.exit(1);
}
