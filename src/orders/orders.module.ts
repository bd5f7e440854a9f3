import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { OrderConfirmationConsumer } from './events/order-confirmation.consumer.js';
import { OrderEventQueue } from './events/order-event-queue.js';
import { createOrderEventQueue } from './events/order-event-queue.factory.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

/** The demo orders, their "order placed" events, and the consumer that confirms each once. */
@Module({
  controllers: [OrdersController],
  providers: [
    OrdersService,
    {
      provide: OrderEventQueue,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => createOrderEventQueue(config),
    },
    OrderConfirmationConsumer,
  ],
  exports: [OrdersService, OrderEventQueue],
})
export class OrdersModule {}
