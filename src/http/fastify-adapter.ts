import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ROUTE_PATH } from '../logging/request-logger.js';
import { capConnectionsPerAddress } from './connection-cap.js';
import { closeConnectionsOnShutdown } from './graceful-close.js';
import {
  answerClientError,
  answerFrameworkError,
  answerTooManyHeaders,
  answerWrongMethods,
} from './http-errors.js';
import { refuseBodiesOtherThanJson } from './json-only.js';
import { useSecurityHeaders } from './security-headers.js';

/** What a slow or greedy client may hold (docs/CONTRACT.md, slow clients). */
export interface HttpLimits {
  /** The request's headers must have arrived this long after its first byte. */
  headersTimeoutMs: number;
  /** The whole request must have arrived this long after its first byte. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long (under 75 s, so proxies close first). */
  keepAliveTimeoutMs: number;
  /** Open connections per client address; 0: no cap. */
  maxConnectionsPerAddress: number;
}

export const CONTRACT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  maxConnectionsPerAddress: 256,
};

export interface FastifySetup {
  bodyLimit: number;
  trustProxy: boolean | number | string[];
  limits: HttpLimits;
}

/**
 * The service's HTTP layer on Fastify (docs/DESIGN.md, "The HTTP layer"): time-outs, the
 * connection cap, problem details for what the parser and router refuse, security headers,
 * shutdown that does not wait on keep-alive connections, and the route name for the request log.
 */
export function createFastifyAdapter({
  bodyLimit,
  trustProxy,
  limits,
}: FastifySetup): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit,
    // Fastify takes a hop count at run time (lib/request.js) though its types omit it.
    trustProxy: trustProxy as boolean | string[],
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two time-outs every 30 s by default: a 10 s bound could take 40 s.
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: 1_000 },
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    // A request arriving during the drain is served and its connection closed, not refused.
    return503OnClosing: false,
  });
  const fastify = adapter.getInstance();
  // First: every hook added after it, including Nest's middleware, answers with its headers.
  useSecurityHeaders(fastify);
  capConnectionsPerAddress(adapter.getHttpServer(), limits.maxConnectionsPerAddress);
  answerTooManyHeaders(fastify);
  answerWrongMethods(fastify);
  refuseBodiesOtherThanJson(fastify);
  closeConnectionsOnShutdown(fastify);
  // The request log names the route; Fastify knows it from onRequest on, on its own request object.
  fastify.addHook('onRequest', (request, _reply, done) => {
    (request.raw as { [ROUTE_PATH]?: string })[ROUTE_PATH] = request.routeOptions.url;
    done();
  });
  return adapter;
}
