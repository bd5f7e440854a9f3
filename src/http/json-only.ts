import { HttpStatus, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { ProblemException } from '@idempotency-tokens/nestjs';
import type { FastifyInstance } from 'fastify';
import { sendProblem } from './http-errors.js';

/** `application/json`, or any `+json` type, with parameters (`; charset=utf-8`). */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/**
 * The service's routes read JSON only. A body of any other type is refused with 415 before any
 * handler, guard or token check, so it never spends a token on a validation error.
 */
function hasBodyOtherThanJson(headers: IncomingHttpHeaders): boolean {
  const hasBody =
    Number(headers['content-length'] ?? 0) > 0 || headers['transfer-encoding'] !== undefined;
  const type = headers['content-type'];
  return hasBody && (type === undefined || !JSON_TYPE.test(type));
}

function unsupportedMediaType(): ProblemException {
  return new ProblemException({
    status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    title: 'Unsupported media type',
    detail: 'Send the body as application/json. Nothing was consumed.',
  });
}

/** On Fastify: a hook, since Nest middleware would run every request through `@fastify/middie`. */
export function refuseBodiesOtherThanJson(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!hasBodyOtherThanJson(request.headers)) return done();
    void sendProblem(reply, unsupportedMediaType());
  });
}

/** On Express, which leaves such bodies unparsed: Nest middleware (AppModule applies it there only). */
@Injectable()
export class JsonOnlyMiddleware implements NestMiddleware {
  use(request: IncomingMessage, _response: unknown, next: () => void): void {
    if (hasBodyOtherThanJson(request.headers)) throw unsupportedMediaType();
    next();
  }
}
