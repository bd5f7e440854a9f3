import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log('ready');
  process.once('SIGTERM', () => {
    const started = Date.now();
    void app.close().then(() => console.log(`closed in ${Date.now() - started} ms`));
  });
}

bootstrap().catch((error: Error) => {
  console.error(`start refused: ${error.message}`);
  process.exit(1);
});
