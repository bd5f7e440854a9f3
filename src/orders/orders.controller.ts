import { Body, Controller, HttpCode, Param, Post, Res, UsePipes } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponse, Idempotent } from '@idempotency-tokens/nestjs';
import { DtoValidationPipe } from '../validation/dto-validation.pipe.js';
import { CreateOrderDto } from './dto/create-order.dto.js';
import { Order } from './order.js';
import { OrdersService } from './orders.service.js';

/** Both Express' and Fastify's response objects have `header(name, value)`. */
interface HeaderSetter {
  header(name: string, value: string): unknown;
}

/**
 * Pipes run after guards: a body that fails validation has spent its token, and the 400 is
 * kept as the outcome and replayed to copies.
 */
@ApiTags('orders')
@ApiProblemResponse(401, 'No valid API key (only when API_KEYS is set)', ['UNAUTHENTICATED'])
@Controller('orders')
@UsePipes(DtoValidationPipe)
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @ApiOperation({ summary: 'Place an order (needs a token with scope orders.create)' })
  @ApiCreatedResponse({
    type: Order,
    headers: { Location: { description: '/orders/{id}', schema: { type: 'string' } } },
  })
  @Idempotent({ scope: 'orders.create' })
  create(@Body() dto: CreateOrderDto, @Res({ passthrough: true }) response: HeaderSetter): Order {
    const order = this.orders.create(dto);
    response.header('Location', `/orders/${order.id}`);
    return order;
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel an order (needs a token without a scope)' })
  @ApiOkResponse({ type: Order })
  @ApiProblemResponse(404, 'No such order', ['ORDER_NOT_FOUND'], ['Idempotency-Token-Consumed'])
  @Idempotent({ replay: false })
  cancel(@Param('id') id: string): Order {
    return this.orders.cancel(id);
  }
}
