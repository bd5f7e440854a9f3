import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ProblemDetailsFilter } from '@idempotency-tokens/nestjs';
import { AppModule, redis } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.useGlobalFilters(app.get(ProblemDetailsFilter));
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log('ready');
  process.once('SIGTERM', () => void app.close().then(() => redis.quit()));
}

void bootstrap();
