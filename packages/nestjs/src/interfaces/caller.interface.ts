/**
 * Who is asking, as the module sees it.
 * - `subject`: the authenticated user a token is bound to; `undefined` for anonymous callers,
 *   whose tokens are unbound (any anonymous caller may use them).
 * - `address`: the client address, the limiter's key for anonymous callers: an IPv4 address, or
 *   an IPv6 /64 prefix (`2001:db8:0:1::/64`).
 */
export interface Caller {
  subject: string | undefined;
  address: string;
}

/** What the module reads of a request: Express' and Fastify's requests both have it. */
export interface IdempotencyRequest {
  method: string;
  url: string;
  /** Express' URL as sent, before any mounting rewrote `url`. */
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  ip?: string;
  /** Whatever the app's authentication put there. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each app types its own user
  user?: any;
}

/**
 * Works out the subject of a request; the default reads `request.user.id`, else `.sub`.
 * Written as a method type so that a resolver typed for Express' `Request` or Fastify's
 * `FastifyRequest` fits as it is.
 */
export type SubjectResolver = {
  resolve(request: IdempotencyRequest): string | undefined;
}['resolve'];
