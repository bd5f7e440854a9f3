import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { idempotencyOutcomeOf } from '@idempotency-tokens/nestjs';
import { scrubTokens } from './scrub-tokens.js';

/** What the route is called, set by `app.setup.ts` on Fastify; Express puts it on `req.route`. */
export const ROUTE_PATH = Symbol('logging:route');

interface RoutedRequest extends IncomingMessage {
  route?: { path?: string };
  [ROUTE_PATH]?: string;
}

/**
 * One line per request, written when the answer is done: method, URL (tokens scrubbed), route,
 * status, duration, idempotency outcome; `aborted` when the client left first. Listening on the
 * HTTP server sees every request, body-parser refusals and 404s included, on both adapters.
 *
 * Not pino-http (which nestjs-pino wraps): its middleware never runs on Nest 12's Fastify
 * adapter, and on the server it makes a child logger per request, which with its serializers
 * cost about a fifth of the service's CPU on GET /tokens (scripts/bench). No headers are
 * logged, so neither the Idempotency-Token nor the Authorization header can leak.
 */
export function logRequests(server: Server, logger: Logger): void {
  server.on('request', (req: RoutedRequest, res: ServerResponse) => {
    const started = performance.now();
    res.once('close', () => {
      const responseTime = Math.round(performance.now() - started);
      const url = truncated(scrubTokens(req.url ?? ''));
      const route = req[ROUTE_PATH] ?? req.route?.path;
      const aborted = !res.writableFinished;
      logger[aborted || res.statusCode >= 500 ? 'warn' : 'info'](
        {
          method: req.method,
          url,
          status: res.statusCode,
          responseTime,
          route,
          idempotency: idempotencyOutcomeOf(req),
          aborted: aborted || undefined,
        },
        // The URL is in its own field; the message names the route only, so a long URL is logged once.
        `${req.method} ${route ?? '(no route)'} ${res.statusCode} ${responseTime}ms${aborted ? ' aborted' : ''}`,
      );
    });
  });
}

/** Long enough for any real path and query; a hostile URL of kilobytes is cut. */
const MAX_LOGGED_URL = 512;

function truncated(url: string): string {
  return url.length > MAX_LOGGED_URL ? `${url.slice(0, MAX_LOGGED_URL)}…` : url;
}
