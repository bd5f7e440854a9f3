import { MAX_BODY_DEPTH } from './body-depth.js';
import { first16Bytes, sha256 } from './sha256-text.js';

/**
 * What makes two requests "the same request" for a token: the method, the URL as sent (path
 * and query string), and the parsed body in RFC 8785 canonical JSON, so key order and
 * whitespace do not matter but every value does. Headers are not covered.
 *
 * Throws when the body cannot be canonicalised (a lone UTF-16 surrogate, which JSON.parse
 * accepts but JCS forbids, or a number JSON.parse made infinite): the interceptor answers that
 * as a malformed request.
 */
export function fingerprintOf(method: string, url: string, body: unknown): string {
  const canonical = body === undefined ? '' : canonicalJson(body);
  // 128 of SHA-256's bits are plenty to tell requests apart, and keep every marker 21 bytes smaller.
  return first16Bytes(sha256(`${method}\n${url}\n${canonical}`));
}

/**
 * `value` as RFC 8785 canonical JSON, the same text as the `canonicalize` package (a spec
 * compares them) in time linear in the size of the value: `canonicalize` joins each level's
 * text into its parent's, so a long string 64 levels down was copied 64 times; appending to one
 * string copies nothing until it is hashed. Recursive, so only for values no deeper than the
 * contract's limit (checked before).
 */
export function canonicalJson(value: unknown): string {
  let text = '';
  const visit = (current: unknown, depth: number): void => {
    if (current !== null && typeof current === 'object') {
      if (depth > MAX_BODY_DEPTH) throw new Error(`Nested deeper than ${MAX_BODY_DEPTH} levels`);
      const json = current as { toJSON?: unknown };
      if (typeof json.toJSON === 'function') return visit(json.toJSON(), depth + 1);
      if (Array.isArray(current)) {
        text += '[';
        for (let i = 0; i < current.length; i++) {
          if (i > 0) text += ',';
          if (isSkipped(current[i])) text += 'null';
          else visit(current[i], depth + 1);
        }
        text += ']';
      } else {
        const record = current as Record<string, unknown>;
        text += '{';
        let first = true;
        for (const key of Object.keys(record).sort()) {
          if (isSkipped(record[key])) continue;
          text += first ? `${quoted(key)}:` : `,${quoted(key)}:`;
          first = false;
          visit(record[key], depth + 1);
        }
        text += '}';
      }
    } else {
      text += scalar(current);
    }
  };
  visit(value, 1);
  return text;
}

/** What JSON leaves out of an object and writes as null in an array. */
const isSkipped = (value: unknown) =>
  value === undefined || typeof value === 'symbol' || typeof value === 'function';

function scalar(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) throw new Error('NaN is not allowed');
    if (!Number.isFinite(value)) throw new Error('Infinity is not allowed');
    return String(value); // ECMAScript's Number::toString, which RFC 8785 prescribes
  }
  return JSON.stringify(value) ?? ''; // null, booleans; a bigint throws, as in JSON.stringify
}

/** Characters JSON escapes, and surrogates (which must come in pairs). */
// eslint-disable-next-line no-control-regex -- JSON escapes the control characters
const SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function quoted(text: string): string {
  if (!SPECIAL.test(text)) return `"${text}"`;
  if (LONE_SURROGATE.test(text)) throw new Error('Lone surrogate is not allowed');
  return JSON.stringify(text);
}
