/**
 * Who is asking, as the module sees it.
 * - `subject`: the authenticated user a token is bound to; `undefined` for anonymous callers,
 *   whose tokens are unbound (any anonymous caller may use them).
 * - `address`: the client address, the limiter's key for anonymous callers.
 */
export interface Caller {
  subject: string | undefined;
  address: string;
}

/** Works out the subject of a request; the default reads `request.user.id`, else `.sub`. */
export type SubjectResolver = (request: unknown) => string | undefined;
