import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { IdempotencyModule } from '@idempotency-tokens/nestjs';
import { Redis } from 'ioredis';
import { AuthGuard } from './auth.guard.js';
import { OrdersController } from './orders.controller.js';

export const redis = new Redis(process.env.REDIS_URL!, {
  enableOfflineQueue: false,
  commandTimeout: 2000,
});

@Module({
  imports: [IdempotencyModule.forRoot({ secret: process.env.TOKEN_SECRET!, redis })],
  controllers: [OrdersController],
  providers: [{ provide: APP_GUARD, useClass: AuthGuard }],
})
export class AppModule {}
