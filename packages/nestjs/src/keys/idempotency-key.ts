/** The request header of a client-chosen key. Lower case, as Node exposes incoming headers. */
export const KEY_HEADER = 'idempotency-key';

const MIN_LENGTH = 8;
const MAX_LENGTH = 255;
/** Visible ASCII (0x21–0x7E): what a bare key may be made of. */
const BARE_KEY = /^[\x21-\x7e]+$/;

/**
 * The key an `Idempotency-Key` header carries, or why it carries none. Two spellings are the
 * same key: a Structured Field string as the IETF draft writes it (`"8e03…"`, with `\"` and `\\`
 * escapes, RFC 8941 §3.3.3) and the same characters bare. A value that starts with `"` is read
 * as the quoted form. The key is 8 to 255 characters of visible ASCII; space only inside the
 * quoted form.
 */
export function parseIdempotencyKey(header: string): { key: string } | { invalid: string } {
  const key = header.startsWith('"') ? unquote(header) : header;
  if (key === undefined)
    return {
      invalid:
        'The Idempotency-Key header is not a well-formed quoted string (a closing ", escapes only as \\" and \\\\, nothing after it).',
    };
  if (key.length < MIN_LENGTH || key.length > MAX_LENGTH)
    return {
      invalid: `The Idempotency-Key is ${key.length} characters long; it must be ${MIN_LENGTH} to ${MAX_LENGTH}.`,
    };
  if (!BARE_KEY.test(header.startsWith('"') ? key.replaceAll(' ', '!') : key))
    return {
      invalid:
        'The Idempotency-Key has characters other than visible ASCII (a space is allowed only in the quoted form).',
    };
  return { key };
}

/** An RFC 8941 sf-string's content, or `undefined` when it is not one. */
function unquote(quoted: string): string | undefined {
  let key = '';
  for (let at = 1; at < quoted.length; at += 1) {
    const char = quoted[at];
    if (char === '"') return at === quoted.length - 1 ? key : undefined;
    if (char === '\\') {
      const escaped = quoted[(at += 1)];
      if (escaped !== '"' && escaped !== '\\') return undefined;
      key += escaped;
    } else if (char < ' ' || char > '~') return undefined;
    else key += char;
  }
  return undefined; // no closing quote
}
