import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * What makes two requests "the same request" for a token: the method, the URL as sent (path
 * and query string), and the parsed body in RFC 8785 canonical JSON, so key order and
 * whitespace do not matter but every value does. Headers are not covered.
 *
 * Throws when the body cannot be canonicalised (a lone UTF-16 surrogate, which JSON.parse
 * accepts but JCS forbids): the interceptor answers that as a malformed request.
 */
export function fingerprintOf(method: string, url: string, body: unknown): string {
  const canonicalBody = body === undefined ? '' : (canonicalize(body) ?? '');
  // 128 of SHA-256's bits are plenty to tell requests apart, and keep every marker 21 bytes smaller.
  return createHash('sha256')
    .update(`${method}\n${url}\n${canonicalBody}`)
    .digest()
    .toString('base64url', 0, 16);
}
