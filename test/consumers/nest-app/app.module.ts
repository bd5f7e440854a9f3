import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { IdempotencyModule } from '@idempotency-tokens/nestjs';
import { AppErrorFilter } from './app-error.filter.js';
import { AuthGuard } from './auth.guard.js';
import { OrdersController } from './orders.controller.js';
import { OrdersResolver } from './orders.resolver.js';

@Module({
  // Redis by URL: the module makes the client and closes it with the app.
  imports: [
    IdempotencyModule.forRoot({ secret: process.env.TOKEN_SECRET!, redis: process.env.REDIS_URL! }),
  ],
  controllers: [OrdersController],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: AppErrorFilter },
    // A mistake the module must refuse at start: @Idempotent() on a resolver.
    ...(process.env.WITH_RESOLVER ? [OrdersResolver] : []),
  ],
})
export class AppModule {}
