import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import type { FastifyInstance } from 'fastify';
import { DEMO_SCRIPT_HASHES } from '../demo/demo-page.js';

/**
 * The security headers (docs/CONTRACT.md, security headers): `X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: no-referrer`, and one Content-Security-Policy under which both HTML pages
 * work, the demo page (`/`) and Swagger UI (`/docs`): scripts only from the service itself or
 * the demo page's own inline script by hash (no `'unsafe-inline'` for scripts); inline styles
 * allowed (Swagger UI's page has them); no framing (`frame-ancestors 'none'`, and
 * `X-Frame-Options: DENY` for older browsers). The rest are helmet's defaults.
 */
const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      connectSrc: ["'self'"],
      fontSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      imgSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      scriptSrc: ["'self'", ...DEMO_SCRIPT_HASHES],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  // Whether a host is HTTPS-only is for whoever terminates TLS and owns the domain to say.
  strictTransportSecurity: false,
};

/**
 * Helmet's headers for {@link HELMET_OPTIONS}, worked out once: none of them depends on the
 * request, and running helmet's middleware per request (as `@fastify/helmet` does, rebuilding
 * it each time) cost a tenth of the service's CPU on a replay (docs/PERFORMANCE.md).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = (() => {
  const headers: Record<string, string> = {};
  const recorder = {
    // Lower case, as Fastify keeps them: reply.headers() then allocates no new name per request.
    setHeader: (name: string, value: unknown) => (headers[name.toLowerCase()] = String(value)),
    removeHeader: () => undefined,
  };
  helmet(HELMET_OPTIONS)({} as IncomingMessage, recorder as unknown as ServerResponse, (error) => {
    if (error) throw error;
  });
  return Object.freeze(headers);
})();

/**
 * Sets {@link SECURITY_HEADERS} on every answer of the Fastify app, in an `onRequest` hook added
 * before any other hook, so that the answers given from a hook (405, Nest middleware's
 * refusals such as 415) or by a filter (404, every problem answer) carry them too. The answers
 * written before any hook (the parser's and the router's refusals, `src/http/http-errors.ts`)
 * add them themselves.
 *
 * Express apps are left alone: the Nest module sends no headers of its own, and an Express app
 * that wants the same does `app.use(helmet(...))`, as its first middleware.
 */
export function useSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
}
