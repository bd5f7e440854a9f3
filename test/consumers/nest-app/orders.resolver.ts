import { Injectable } from '@nestjs/common';
import { Idempotent } from '@idempotency-tokens/nestjs';

/** Stands for a GraphQL resolver: to Nest, a provider whose methods are no HTTP routes. */
@Injectable()
export class OrdersResolver {
  @Idempotent()
  createOrder(): void {}
}
