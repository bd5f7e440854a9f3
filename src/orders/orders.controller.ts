import { Body, Controller, Get, HttpCode, Param, Post, Res, UsePipes } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import {
  ApiProblemResponse,
  Idempotent,
  IdempotencyKey,
  validationFailed,
} from '@idempotency-tokens/nestjs';
import type { HeaderSetter } from '../http/header-setter.js';
import { DtoValidationPipe } from '../validation/dto-validation.pipe.js';
import { CreateOrderDto } from './dto/create-order.dto.js';
import { Order } from './order.js';
import { OrdersService } from './orders.service.js';

/** A UUID: the only ids an order can have (the token's downstream key, `@IdempotencyKey()`). */
const ORDER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
  @Idempotent({ scope: 'orders.create', rotate: true })
  create(
    @Body() dto: CreateOrderDto,
    @IdempotencyKey() orderId: string,
    @Res({ passthrough: true }) response: HeaderSetter,
  ): Order {
    const order = this.orders.create(dto, orderId);
    response.header('Location', `/orders/${order.id}`);
    return order;
  }

  @Get(':id')
  @ApiOperation({
    summary: 'An order, with the confirmations sent for it (no token: reading changes nothing)',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The id POST /orders answered' })
  @ApiOkResponse({ type: Order, description: 'The order as it is now' })
  @ApiProblemResponse(400, 'The id is not a UUID', ['VALIDATION_FAILED'])
  @ApiProblemResponse(404, 'No such order (or no longer kept: the demo keeps the newest 10 000)', [
    'ORDER_NOT_FOUND',
  ])
  get(@Param('id') id: string): Order {
    // A malformed id is the caller's mistake, not an order that went missing: 400, not 404.
    if (!ORDER_ID.test(id))
      throw validationFailed('The order id is not valid: see errors.', ['id must be a UUID']);
    return this.orders.get(id);
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
