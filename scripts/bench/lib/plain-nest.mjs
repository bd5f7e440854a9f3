/**
 * What the benchmark's plain-JavaScript Nest apps (the peer, the bare floor) share: decorators
 * applied as functions, the service's order DTO, the order a POST /orders makes, /health.
 *
 * Nothing here imports a package: each app has its own copy of Nest and class-validator (the
 * peer in scripts/bench/peer/node_modules, the bare one in the root's), and class-validator
 * keeps a DTO's rules in the copy that decorated it, so each app passes its own decorators in.
 */
import { randomUUID } from 'node:crypto';

/** What TypeScript emits for `@A() @B() member`: methods get their descriptor back, properties none. */
export const decorate = (decorators, target, key) => {
  const descriptor = key && Object.getOwnPropertyDescriptor(target, key);
  const result = Reflect.decorate(decorators, target, key, descriptor);
  if (descriptor) Object.defineProperty(target, key, result);
  return result;
};

/** The service's CreateOrderDto: item 1..100 characters, quantity 1..1000. */
export function createOrderDto({ IsString, Length, IsInt, Min, Max }) {
  class CreateOrderDto {}
  decorate([IsString(), Length(1, 100)], CreateOrderDto.prototype, 'item');
  decorate([IsInt(), Min(1), Max(1000)], CreateOrderDto.prototype, 'quantity');
  return CreateOrderDto;
}

/** The order the demo's OrdersService makes, and its Location on the reply. */
export function placeOrder({ item, quantity }, reply) {
  const order = { id: randomUUID(), item, quantity, createdAt: new Date().toISOString() };
  reply.header('Location', `/orders/${order.id}`);
  return order;
}

/**
 * Declares `method(...)` of `Controller` as taking `params`: each a parameter decorator (`Body()`,
 * `Headers('x')`, …) and the type ValidationPipe reads from `design:paramtypes` (TypeScript's
 * emitted metadata), then applies the method decorators.
 */
export function route(Controller, method, params, decorators) {
  const prototype = Controller.prototype;
  Reflect.defineMetadata(
    'design:paramtypes',
    params.map(({ type = Object }) => type),
    prototype,
    method,
  );
  params.forEach(({ decorator }, index) => decorator(prototype, method, index));
  decorate(decorators, prototype, method);
}

/**
 * The peer's and the module's `POST /orders`: the order DTO under a strict ValidationPipe, 201
 * with the order and its Location; `idempotent` is the package's decorator protecting it.
 */
export function ordersController(
  { Body, Controller, HttpCode, Post, Res, ValidationPipe },
  validators,
  idempotent,
) {
  class OrdersController {
    create(order, reply) {
      return placeOrder(order, reply);
    }
  }
  route(
    OrdersController,
    'create',
    [
      {
        type: createOrderDto(validators),
        decorator: Body(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true })),
      },
      { decorator: Res({ passthrough: true }) },
    ],
    [Post(), HttpCode(201), idempotent],
  );
  decorate([Controller('orders')], OrdersController);
  return OrdersController;
}

/** GET /health: 200 once the app listens (the orchestrator's readiness check). */
export function healthController({ Controller, Get }) {
  class HealthController {
    health() {
      return { status: 'ok' };
    }
  }
  decorate([Get()], HealthController.prototype, 'health');
  decorate([Controller('health')], HealthController);
  return HealthController;
}
