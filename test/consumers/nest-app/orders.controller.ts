import { Body, Controller, Post } from '@nestjs/common';
import { Idempotent } from '@idempotency-tokens/nestjs';
import { randomUUID } from 'node:crypto';

@Controller('orders')
export class OrdersController {
  @Post()
  @Idempotent({ scope: 'orders.create' })
  create(@Body() body: { item: string }): { id: string; item: string } {
    return { id: randomUUID(), item: body.item };
  }
}
