import { Body, Controller, Get, HttpException, Param, Post } from '@nestjs/common';
import { Idempotent } from '@idempotency-tokens/nestjs';
import { randomUUID } from 'node:crypto';

/** On the controller: every POST needs a token, the GET does not. */
@Controller('orders')
@Idempotent({ scope: 'orders.create' })
export class OrdersController {
  @Post()
  create(@Body() body: { item: string }): { id: string; item: string } {
    return { id: randomUUID(), item: body.item };
  }

  @Post('declined')
  decline(): never {
    throw new HttpException(`payment declined ${randomUUID()}`, 402);
  }

  @Get(':id')
  read(@Param('id') id: string): { id: string } {
    return { id };
  }
}
