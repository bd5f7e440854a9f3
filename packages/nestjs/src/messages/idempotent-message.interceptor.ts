import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import type * as Microservices from '@nestjs/microservices';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { idempotencyOf } from '../decorators/idempotent-route.js';
import { TOKEN_STORE } from '../idempotency.constants.js';
import { IdempotencyMetrics } from '../idempotency.metrics.js';
import type { IdempotentMessageOptions } from '../interfaces/message-options.interface.js';
import type { TokenStore } from '../interfaces/token-store.interface.js';
import { deliveryOf } from './delivery.js';
import { runOnce } from './run-once.js';

/** Nest's marker of a `@MessagePattern` (1, a request with a reply) or `@EventPattern` (2). */
const PATTERN_HANDLER_METADATA = 'microservices:handler_type';
const MESSAGE_PATTERN = 1;

/**
 * Runs a microservice handler at most once per message id (`@Idempotent({ key })`), with
 * `runOnce()` on the module's store. A delivery the handler does not see is settled the way
 * its transport expects (see `deliveryOf`); a request (`@MessagePattern`) that ran before gets
 * its first reply again, one whose first run is in progress or crashed gets an error reply
 * (`MESSAGE_IN_PROGRESS`: ask again later; `MESSAGE_CRASHED`).
 */
@Injectable()
export class IdempotentMessageInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Idempotency');
  /** Loaded on the first delivery: an HTTP-only app never needs `@nestjs/microservices`. */
  private microservices?: Promise<typeof Microservices>;

  constructor(
    @Inject(TOKEN_STORE) private readonly store: TokenStore,
    private readonly metrics: IdempotencyMetrics,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return from(this.handle(context, next));
  }

  private async handle(context: ExecutionContext, next: CallHandler): Promise<unknown> {
    const handler = context.getHandler();
    const options = idempotencyOf(handler, context.getClass()) as
      IdempotentMessageOptions | undefined;
    if (!options) return lastValueFrom(next.handle(), { defaultValue: undefined }); // @SkipIdempotency()
    const isRequest = Reflect.getMetadata(PATTERN_HANDLER_METADATA, handler) === MESSAGE_PATTERN;
    const rpc = context.switchToRpc();
    const microservices = await (this.microservices ??= import('@nestjs/microservices'));
    const delivery = deliveryOf(rpc.getContext(), options.noAck ?? true, microservices);
    const where = `${context.getClass().name}.${handler.name}`;
    const refuse = (code: string, message: string) =>
      new microservices.RpcException({ status: 'error', code, message });

    let key: unknown;
    try {
      key = options.key(rpc.getData(), rpc.getContext());
    } catch (error) {
      key = error;
    }
    if (typeof key !== 'string' || key === '') {
      delivery.reject();
      this.logger.error(
        `${where}: a delivery without a message id (the key function gave ${typeof key}); rejected, not run`,
      );
      throw refuse('MESSAGE_KEY_MISSING', 'The message carries no id to deduplicate it by');
    }

    const done = await runOnce(
      key,
      () => lastValueFrom(next.handle(), { defaultValue: undefined }),
      { ...options, store: this.store, metrics: this.metrics },
    );
    switch (done.outcome) {
      case 'ran':
        return done.result;
      case 'duplicate':
        delivery.acknowledge();
        return done.result;
      case 'in_progress':
        if (!isRequest) return delivery.requeue();
        delivery.acknowledge();
        throw refuse('MESSAGE_IN_PROGRESS', 'This message is being handled; ask again later');
      case 'crashed':
        delivery.reject();
        this.logger.warn(
          `${where}: message ${JSON.stringify(key)} was not run again: an earlier run died before it finished (afterCrash: 'skip')`,
        );
        if (isRequest)
          throw refuse(
            'MESSAGE_CRASHED',
            'An earlier run of this message died; it is not run again',
          );
        return undefined;
    }
  }
}
