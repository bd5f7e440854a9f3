import { type ArgumentsHost, Catch, type ExceptionFilter, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { REPLAYED_HEADER } from '../idempotency.constants.js';
import { StoreUnavailableError } from '../stores/store-unavailable.error.js';
import { IdempotencyRefusal } from './idempotency-refusal.js';
import { storeUnavailable } from './idempotency.problems.js';
import { ReplayException } from './replay.exception.js';
import { problemAnswer, sendAnswer } from './send-answer.js';

/**
 * Answers what the module itself decided on its routes: its refusals as problem details, a
 * store failure as `503 STORE_UNAVAILABLE`, a copy with the first answer. Everything else an
 * app's handler throws goes on to the app's own exception filters.
 */
@Catch(IdempotencyRefusal, StoreUnavailableError, ReplayException)
@Injectable()
export class IdempotencyRefusalFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(
    exception: IdempotencyRefusal | StoreUnavailableError | ReplayException,
    host: ArgumentsHost,
  ): void {
    const response = host.switchToHttp().getResponse<object>();
    const adapter = this.adapterHost.httpAdapter;
    if (exception instanceof ReplayException) {
      sendAnswer(adapter, response, exception.response, { [REPLAYED_HEADER]: 'true' });
    } else {
      const problem = exception instanceof StoreUnavailableError ? storeUnavailable() : exception;
      sendAnswer(adapter, response, problemAnswer(problem));
    }
  }
}
