import { Body, Controller, Post, Res, UsePipes } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponse, Idempotent } from '@idempotency-tokens/nestjs';
import type { HeaderSetter } from '../http/header-setter.js';
import { DtoValidationPipe } from '../validation/dto-validation.pipe.js';
import { CreatePaymentDto } from './dto/create-payment.dto.js';
import { Payment } from './payment.js';
import { PaymentsService } from './payments.service.js';

/**
 * The demo of client-chosen keys: a server-to-server caller that cannot fetch a token first
 * sends an `Idempotency-Key` it made (a UUID), and the same key on every retry.
 */
@ApiTags('payments')
@ApiProblemResponse(401, 'No valid API key (only when API_KEYS is set)', ['UNAUTHENTICATED'])
@Controller('payments')
@UsePipes(DtoValidationPipe)
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post()
  @ApiOperation({ summary: 'Take a payment (needs an Idempotency-Key you choose)' })
  @ApiCreatedResponse({
    type: Payment,
    headers: { Location: { description: '/payments/{id}', schema: { type: 'string' } } },
  })
  @Idempotent({ scope: 'payments.create', keys: 'client' })
  create(
    @Body() dto: CreatePaymentDto,
    @Res({ passthrough: true }) response: HeaderSetter,
  ): Payment {
    const payment = this.payments.create(dto);
    response.header('Location', `/payments/${payment.id}`);
    return payment;
  }
}
