import helmet from '@fastify/helmet';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { DEMO_SCRIPT_HASHES } from '../demo/demo-page.js';

/**
 * What every answer carries, for the answers written before helmet's hooks can run: the HTTP
 * parser's refusals on the socket and Fastify's router errors (`src/http/http-errors.ts`).
 */
export const BASE_SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const;

/**
 * Security headers on every answer of the Fastify app (docs/CONTRACT.md, security headers), by
 * `@fastify/helmet`: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and one
 * Content-Security-Policy under which both HTML pages work, the demo page (`/`) and Swagger UI
 * (`/docs`): scripts only from the service itself or the demo page's own inline script by hash
 * (no `'unsafe-inline'` for scripts); inline styles allowed (Swagger UI's page has them); no
 * framing (`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for older browsers).
 *
 * Helmet sets them in `onRequest` hooks, which run in the order they were added: registered (and
 * awaited) before any other hook, so that the answers given from a hook (405, Nest middleware's
 * refusals such as 415) or by a filter (404, every problem answer) carry them too.
 *
 * Express apps are left alone: the Nest module sends no headers of its own, and an Express app
 * that wants the same does `app.use(helmet(...))` with the `helmet` package, as its first middleware.
 */
export async function useSecurityHeaders(fastify: FastifyAdapter): Promise<void> {
  await fastify.getInstance().register(helmet, {
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
    referrerPolicy: { policy: BASE_SECURITY_HEADERS['Referrer-Policy'] },
    // Whether a host is HTTPS-only is for whoever terminates TLS and owns the domain to say.
    strictTransportSecurity: false,
  });
}
