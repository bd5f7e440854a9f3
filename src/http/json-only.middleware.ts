import { HttpStatus, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { ProblemException } from '@idempotency-tokens/nestjs';

/** `application/json`, or any `+json` type, with parameters (`; charset=utf-8`). */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/**
 * The service's routes read JSON only. A body of any other type is refused with 415 before any
 * handler, guard or token check, so it never spends a token on a validation error. Fastify's
 * parser refuses such bodies itself; Express leaves them unparsed, hence this middleware.
 */
@Injectable()
export class JsonOnlyMiddleware implements NestMiddleware {
  use(request: IncomingMessage, _response: unknown, next: () => void): void {
    const hasBody =
      Number(request.headers['content-length'] ?? 0) > 0 ||
      request.headers['transfer-encoding'] !== undefined;
    const type = request.headers['content-type'];
    if (hasBody && (type === undefined || !JSON_TYPE.test(type))) {
      throw new ProblemException({
        status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        title: 'Unsupported media type',
        detail: 'Send the body as application/json. Nothing was consumed.',
      });
    }
    next();
  }
}
