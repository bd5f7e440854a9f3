import { Body, Controller, HttpCode, Param, Post, Res, UsePipes, ValidationPipe } from '@nestjs/common';
import { Idempotent } from '../idempotency/index.js';
import { CreateOrderDto } from './dto/create-order.dto.js';
import type { Order } from './order.js';
import { OrdersService } from './orders.service.js';

/** Both Express' and Fastify's response objects have `header(name, value)`. */
interface HeaderSetter {
  header(name: string, value: string): unknown;
}

/**
 * Pipes run after guards: a body that fails validation has spent its token, and the 400 is
 * kept as the outcome and replayed to copies.
 */
@Controller('orders')
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }))
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @Idempotent({ scope: 'orders.create' })
  create(@Body() dto: CreateOrderDto, @Res({ passthrough: true }) response: HeaderSetter): Order {
    const order = this.orders.create(dto);
    response.header('Location', `/orders/${order.id}`);
    return order;
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Idempotent({ replay: false })
  cancel(@Param('id') id: string): Order {
    return this.orders.cancel(id);
  }
}
