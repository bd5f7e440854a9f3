import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { OutcomeRecorder, type StoredResponse } from './outcome.recorder.js';

/** The parts of Express' and Fastify's response objects we read; both have them. */
interface ResponseLike {
  statusCode: number;
  getHeader(name: string): unknown;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Records the answer of a handler that returned. (One that threw is recorded by
 * `ProblemDetailsFilter`, which renders it.) Runs after Nest has set the status code and the
 * `@Header()`s, so what it reads is what the client gets.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly recorder: OutcomeRecorder) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<object>();
    const response = http.getResponse<ResponseLike>();
    return next
      .handle()
      .pipe(tap((body) => this.recorder.record(request, storedResponseOf(response, body))));
  }
}

/**
 * JSON values and strings are kept as Nest will send them; buffers and streams are not kept
 * (copies then get `TOKEN_USED`), as a stream cannot be read twice.
 */
function storedResponseOf(response: ResponseLike, body: unknown): StoredResponse {
  const headers: Record<string, string> = {};
  const location = response.getHeader('location');
  if (typeof location === 'string') headers.location = location;
  const contentType = response.getHeader('content-type');
  const stored: StoredResponse = { status: response.statusCode, headers };
  if (body === undefined || body === null) {
    stored.body = '';
  } else if (typeof body === 'string') {
    headers['content-type'] =
      typeof contentType === 'string' ? contentType : 'text/plain; charset=utf-8';
    stored.body = body;
  } else if (!Buffer.isBuffer(body) && !isStream(body)) {
    headers['content-type'] = JSON_TYPE;
    stored.body = JSON.stringify(body);
  }
  return stored;
}

function isStream(body: unknown): boolean {
  const candidate = body as { pipe?: unknown; getStream?: unknown };
  return typeof candidate.pipe === 'function' || typeof candidate.getStream === 'function';
}
