import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Caller } from '../interfaces/caller.interface.js';
import type { TokenRef } from '../interfaces/token-store.interface.js';
import { first16Bytes, HmacSha256 } from '../sha256-text.js';

/** `<tag>.<id>.<signature>`: 12 + 1 + 22 + 1 + 22 = 58 URL-safe characters. */
const TOKEN_SHAPE = /^([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})$/;
const ID_BYTES = 16; // 128 bits from the CSPRNG
const SIGNATURE_LENGTH = 22; // HMAC-SHA256 truncated to 128 bits, as RFC 2104 allows
const DIGEST_LENGTH = 12; // 72 bits of HMAC-SHA256: 12 base64url characters
const RANDOM_POOL_BYTES = 4096;
/** Tags and bindings kept (see {@link TokenCodec.digest}): a few MB at most. */
const MAX_KEPT_DIGESTS = 10_000;

/**
 * CSPRNG bytes drawn from a pooled block, as Node's randomUUID() does: one call into OpenSSL per
 * 256 tokens instead of one per token (measured: 4 % of the CPU of GET /tokens). Every byte is
 * used once.
 */
let randomPool = Buffer.alloc(0);
let randomOffset = 0;
function randomId(bytes: number): string {
  if (randomOffset + bytes > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomOffset = 0;
  }
  randomOffset += bytes;
  return randomPool.toString('base64url', randomOffset - bytes, randomOffset);
}

/**
 * Makes and checks tokens, and derives the store-facing identities of a caller.
 *
 * - The **tag** groups one caller's keys in one Redis Cluster slot (the limiter's keys join
 *   them), and is carried in the token so that any instance finds the key without a lookup.
 * - The **binding** is what a consume must present: a digest of the subject (none for
 *   anonymous callers, whose tokens are unbound) and the scope.
 * Subjects and addresses reach Redis only as keyed digests, never in clear.
 */
export class TokenCodec {
  private readonly mac: HmacSha256;
  /** A signature expected and one given, compared in constant time without a buffer per check. */
  private readonly expected = Buffer.alloc(SIGNATURE_LENGTH);
  private readonly given = Buffer.alloc(SIGNATURE_LENGTH);
  /** Recent tags and bindings by what they digest. */
  private readonly digests = new Map<string, string>();
  /**
   * What `digests` holds, in a ring: the oldest is the one the next insertion replaces. Not
   * the Map's own order: deleted entries stay in a Map's table until it is rebuilt, and
   * `keys().next()` steps over all of them, thousands once it is full (6 µs per insertion,
   * against 0.8 µs with the ring).
   */
  private readonly kept: (string | undefined)[] = new Array<undefined>(MAX_KEPT_DIGESTS);
  private oldest = 0;

  constructor(secret: string) {
    this.mac = new HmacSha256(Buffer.from(secret, 'utf8'));
  }

  create(caller: Caller): { token: string; ref: TokenRef } {
    const ref = this.newRef(this.tagOf(caller));
    return { token: this.tokenOf(ref), ref };
  }

  /**
   * A new token's ref under `tag` (a rotation's next token shares the consumed token's: one
   * slot). Signed with {@link tokenOf} once the store has granted it: a refused issuance, most
   * answers of a caller at its limit, then costs no HMAC.
   */
  newRef(tag: string): TokenRef {
    return { tag, id: randomId(ID_BYTES) };
  }

  /** The token the client holds for `ref`. */
  tokenOf(ref: TokenRef): string {
    return `${ref.tag}.${ref.id}.${this.signature(ref)}`;
  }

  /** The token's ref when its shape and signature are right; decided without any I/O. */
  verify(token: string): TokenRef | undefined {
    const match = TOKEN_SHAPE.exec(token);
    if (!match) return undefined;
    const ref = { tag: match[1], id: match[2] };
    this.expected.write(this.signature(ref), 'latin1');
    this.given.write(match[3], 'latin1');
    return timingSafeEqual(this.expected, this.given) ? ref : undefined;
  }

  /**
   * The first character says the kind of caller, `a` anonymous or `s` authenticated, so that a
   * token used by the other kind is told apart without a store call; the rest is a keyed
   * digest of who the caller is.
   */
  tagOf(caller: Caller): string {
    return caller.subject === undefined
      ? `a${this.digest('tag', `a:${caller.address}`).slice(1)}`
      : `s${this.digest('tag', `s:${caller.subject}`).slice(1)}`;
  }

  /** Whether a (verified) token was issued to the same kind of caller, anonymous or authenticated. */
  sameKindOfCaller(ref: TokenRef, caller: Caller): boolean {
    return ref.tag[0] === (caller.subject === undefined ? 'a' : 's');
  }

  /**
   * What a consume must present: a keyed digest of the subject (none for anonymous callers,
   * whose tokens any anonymous caller may use) and the scope. A digest, not the text, keeps the
   * stored value at 12 bytes whatever the subject and scope (Redis memory per token).
   * Unambiguous: a scope never contains `|`.
   */
  bindingOf(caller: Caller, scope = ''): string {
    const subject = caller.subject === undefined ? 'a' : `s:${caller.subject}`;
    return this.digest('binding', `${subject}|${scope}`);
  }

  /**
   * Where a client-chosen key's marker lives: the caller's tag (so another caller's same key is
   * another key, and the limiter's keys share its slot) and a keyed digest of scope and key. The
   * id is 23 characters, a token's 22: a key never meets a token's marker. Not kept like tags:
   * keys are new on every first use and would push the callers' digests out.
   */
  keyRefOf(caller: Caller, scope: string | undefined, key: string): TokenRef {
    const digest = first16Bytes(this.mac.base64url(`key\0${scope ?? ''}\0${key}`));
    return { tag: this.tagOf(caller), id: `k${digest}` };
  }

  /**
   * A request's downstream key (`@IdempotencyKey()`): a keyed digest of the token's or key's
   * ref, never the token, formatted as a UUID of version 8 (RFC 9562's own-format UUID) so
   * that it fits wherever another system expects an idempotency key or a unique id.
   */
  downstreamKeyOf(ref: TokenRef): string {
    const mac = this.mac.base64url(`downstream\0${ref.tag}.${ref.id}`);
    const bytes = Buffer.from(mac, 'base64url').subarray(0, 16);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  private signature(ref: TokenRef): string {
    return first16Bytes(this.mac.base64url(`token\0${ref.tag}.${ref.id}`));
  }

  /**
   * A keyed digest, kept for the next request of the same caller: the same few callers and
   * scopes come back request after request, and an HMAC per tag and per binding was a tenth of
   * the CPU of an issuance. The oldest is dropped past {@link MAX_KEPT_DIGESTS}, so callers
   * sending ever new subjects, addresses or scopes cannot grow it.
   */
  private digest(purpose: string, value: string): string {
    const data = `${purpose}\0${value}`;
    let digest = this.digests.get(data);
    if (digest === undefined) {
      digest = this.mac.base64url(data).slice(0, DIGEST_LENGTH);
      const dropped = this.kept[this.oldest];
      if (dropped !== undefined) this.digests.delete(dropped);
      this.kept[this.oldest] = data;
      this.oldest = (this.oldest + 1) % MAX_KEPT_DIGESTS;
      this.digests.set(data, digest);
    }
    return digest;
  }
}
