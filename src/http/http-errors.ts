import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import {
  badRequest,
  headersTooLarge,
  methodNotAllowed,
  PROBLEM_JSON,
  type ProblemException,
  requestTimeout,
} from '@idempotency-tokens/nestjs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SECURITY_HEADERS } from './security-headers.js';

/**
 * The refusals that Node's HTTP parser and Fastify's router make before Nest sees a request, as
 * the same problem details as every other error (Fastify's own are `{"error":…}` JSON).
 */

/** Fastify's `clientErrorHandler`: the parser failed or timed out, so write the answer on the socket. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) socket.write(rawAnswer(clientErrorProblem(error)));
  socket.destroy();
}

function clientErrorProblem({ code }: NodeJS.ErrnoException): ProblemException {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return requestTimeout();
  if (code === 'HPE_HEADER_OVERFLOW') return headersTooLarge();
  return badRequest('The request line or a header is malformed.');
}

function rawAnswer({ problem }: ProblemException): string {
  const body = JSON.stringify(problem);
  const headers = {
    'Content-Type': PROBLEM_JSON,
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
    ...SECURITY_HEADERS,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n${lines.join('')}\r\n${body}`;
}

/** Fastify's `frameworkErrors`: a URL that is not valid percent-encoding, and the like. */
export function answerFrameworkError(
  error: Error,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  // Fastify answers these before any hook runs, helmet's included.
  void sendProblem(reply.headers(SECURITY_HEADERS), badRequest(`${error.message}.`));
}

export function sendProblem(reply: FastifyReply, { problem, headers }: ProblemException) {
  return reply.code(problem.status).headers(headers).type(PROBLEM_JSON).send(problem);
}

/** Apache's default: clients send a few dozen header fields, and proxies add a few more. */
export const MAX_HEADER_FIELDS = 100;

/**
 * More than {@link MAX_HEADER_FIELDS} header fields is 431, like headers over 16 KiB. Node's
 * parser refuses only the latter: past `maxHeadersCount` it drops fields silently, so it keeps
 * one more than the limit and the hook counts them.
 */
export function answerTooManyHeaders(fastify: FastifyInstance): void {
  fastify.server.maxHeadersCount = MAX_HEADER_FIELDS + 1;
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.raw.rawHeaders.length <= 2 * MAX_HEADER_FIELDS) return done();
    void sendProblem(reply, headersTooLarge());
  });
}

/**
 * A request for a path that has routes, with a method that has none, is 405 with `Allow`
 * (Fastify and Nest answer 404 for it). Routes are known from Fastify's `onRoute`; the lookup
 * runs only for requests that matched no route. `Allow` leaves HEAD out: Fastify adds it to
 * every GET route, and `HEAD /tokens` is itself a refusal.
 */
export function answerWrongMethods(fastify: FastifyInstance): void {
  const methods = new Set<string>();
  fastify.addHook('onRoute', ({ method }) => {
    for (const name of [method].flat()) if (name !== 'HEAD') methods.add(name);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.url !== undefined) return done();
    const path = request.url.split('?', 1)[0];
    const allowed = [...methods].filter((method) => fastify.findRoute({ method, url: path }));
    if (allowed.length === 0) return done();
    void sendProblem(reply, methodNotAllowed(allowed));
  });
}
