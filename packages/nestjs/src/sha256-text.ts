import { createHash, hash } from 'node:crypto';

/**
 * SHA-256 and HMAC-SHA256 as base64url text, by Node's one-shot `crypto.hash()`: no Hash or
 * Hmac object per call. Those are native objects the garbage collector must finalise one by
 * one; with one HMAC and one hash per request they cost 7-8 % of a replay each, measured with
 * `npm run bench:ab` (docs/PERFORMANCE.md). A `Buffer` result is avoided for the same reason:
 * each one gets its own backing store, a string does not.
 */
export function sha256(text: string): string {
  return hash('sha256', text, 'base64url');
}

/** SHA-256's block, in bytes: RFC 2104 pads the key to it. */
const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;

/**
 * HMAC-SHA256 (RFC 2104) with one key: H((K ^ opad) || H((K ^ ipad) || message)), from two
 * one-shot hashes over buffers kept between calls. The same bytes as `createHmac()` (its spec
 * compares them on keys and messages of every length).
 */
export class HmacSha256 {
  /** K ^ ipad, then room for the message. */
  private inner: Buffer;
  /** K ^ opad, then the inner digest. */
  private readonly outer = Buffer.alloc(BLOCK_BYTES + DIGEST_BYTES);

  constructor(key: Buffer) {
    const block = Buffer.alloc(BLOCK_BYTES);
    (key.length > BLOCK_BYTES ? createHash('sha256').update(key).digest() : key).copy(block);
    this.inner = Buffer.alloc(BLOCK_BYTES + 256);
    for (let i = 0; i < BLOCK_BYTES; i++) {
      this.inner[i] = block[i] ^ 0x36;
      this.outer[i] = block[i] ^ 0x5c;
    }
  }

  /** The MAC of `message` (UTF-8) as base64url: 43 characters for its 32 bytes. */
  base64url(message: string): string {
    const length = Buffer.byteLength(message);
    if (BLOCK_BYTES + length > this.inner.length) {
      const larger = Buffer.alloc(BLOCK_BYTES + 2 * length);
      this.inner.copy(larger, 0, 0, BLOCK_BYTES);
      this.inner = larger;
    }
    this.inner.write(message, BLOCK_BYTES);
    const inner = hash('sha256', this.inner.subarray(0, BLOCK_BYTES + length), 'hex');
    this.outer.write(inner, BLOCK_BYTES, 'hex');
    return hash('sha256', this.outer, 'base64url');
  }
}

/**
 * The base64url of a digest's first 16 bytes, from the base64url of all of it: 21 characters
 * hold 126 bits, the 22nd holds the last 2 in its top bits and 4 bits of the 17th byte below
 * them, which the 16 bytes' own text has as zeros.
 */
export function first16Bytes(base64url: string): string {
  return base64url.slice(0, 21) + TOP_BITS_ONLY[base64url.charCodeAt(21)];
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** By character code: the base64url character with only the top 2 of its 6 bits kept. */
const TOP_BITS_ONLY: string[] = [];
for (let value = 0; value < ALPHABET.length; value++)
  TOP_BITS_ONLY[ALPHABET.charCodeAt(value)] = ALPHABET[value & 0b110000];
