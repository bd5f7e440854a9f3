import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { ConsumeCommand, IssueLimits, TokenRef, TokenStore } from '../interfaces/token-store.interface.js';

/**
 * The {@link TokenStore} contract as Jest tests: call it inside a `describe` whose `beforeAll`
 * makes the store, and every implementation is held to the same semantics. The project runs it
 * against the memory store, a real Redis and a real Redis Cluster; run it against your own.
 */
export function tokenStoreContract(getStore: () => TokenStore): void {
  const store = () => getStore();
  const newRef = (): TokenRef => ({ tag: randomBytes(9).toString('base64url'), id: randomBytes(16).toString('base64url') });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const LONG = 60_000;
  const UNLIMITED: IssueLimits = { bucket: '', rateLimit: 1_000_000, windowMs: LONG, maxOutstanding: 1_000_000 };

  async function issued(binding = 'subject|scope', ttlMs = LONG): Promise<TokenRef> {
    const ref = newRef();
    await expect(store().issue({ ref, binding, ttlMs, limits: UNLIMITED })).resolves.toMatchObject({ granted: true });
    return ref;
  }
  const consume = (ref: TokenRef, overrides: Partial<ConsumeCommand> = {}) =>
    store().consume({ ref, bucket: '', binding: 'subject|scope', fingerprint: 'fp-1', owner: 'owner-1', leaseMs: LONG, keepMs: LONG, ...overrides });
  /** Issues for one caller (`tag`) under `limits`; each call is a new token id. */
  const issueFor = (tag: string, limits: Partial<IssueLimits>, ttlMs = LONG) =>
    store().issue({ ref: { tag, id: newRef().id }, binding: 'b|', ttlMs, limits: { ...UNLIMITED, ...limits } });

  it('answers ping', async () => {
    await expect(store().ping()).resolves.toBeUndefined();
  });

  it('consumes an issued token once: the first consume is first, a copy finds it in progress', async () => {
    const ref = await issued();
    await expect(consume(ref)).resolves.toEqual({ state: 'first' });
    await expect(consume(ref, { owner: 'owner-2' })).resolves.toEqual({ state: 'in_progress' });
  });

  it('does not know a token that was never issued', async () => {
    await expect(consume(newRef())).resolves.toEqual({ state: 'unknown' });
  });

  it('refuses another binding without burning the token', async () => {
    const ref = await issued('alice|scope');
    await expect(consume(ref, { binding: 'bob|scope' })).resolves.toEqual({ state: 'unknown' });
    await expect(consume(ref, { binding: 'alice|other' })).resolves.toEqual({ state: 'unknown' });
    await expect(consume(ref, { binding: 'alice|scope' })).resolves.toEqual({ state: 'first' });
  });

  it('tells another binding nothing about a used token', async () => {
    const ref = await issued('alice|scope');
    await consume(ref, { binding: 'alice|scope' });
    await store().recordOutcome(ref, 'owner-1', 'the answer', LONG);
    await expect(consume(ref, { binding: 'bob|scope' })).resolves.toEqual({ state: 'unknown' });
  });

  it('reports a copy with another fingerprint as a mismatch, before anything else', async () => {
    const ref = await issued();
    await consume(ref);
    await expect(consume(ref, { fingerprint: 'fp-2' })).resolves.toEqual({ state: 'mismatch' });
    await store().recordOutcome(ref, 'owner-1', 'the answer', LONG);
    await expect(consume(ref, { fingerprint: 'fp-2' })).resolves.toEqual({ state: 'mismatch' });
  });

  it('hands the recorded outcome to copies', async () => {
    const ref = await issued();
    await consume(ref);
    await expect(store().recordOutcome(ref, 'owner-1', '{"status":201}', LONG)).resolves.toBe(true);
    await expect(consume(ref, { owner: 'owner-2' })).resolves.toEqual({ state: 'done', outcome: '{"status":201}' });
  });

  it('records an outcome only for the owner, and only once', async () => {
    const ref = await issued();
    await consume(ref);
    await expect(store().recordOutcome(ref, 'owner-2', 'intruder', LONG)).resolves.toBe(false);
    await expect(store().recordOutcome(ref, 'owner-1', 'first', LONG)).resolves.toBe(true);
    await expect(store().recordOutcome(ref, 'owner-1', 'second', LONG)).resolves.toBe(false);
    await expect(consume(ref)).resolves.toEqual({ state: 'done', outcome: 'first' });
  });

  it('records nothing for a token that was never consumed', async () => {
    const ref = await issued();
    await expect(store().recordOutcome(ref, 'owner-1', 'early', LONG)).resolves.toBe(false);
    await expect(consume(ref)).resolves.toEqual({ state: 'first' });
  });

  it('reports a first request whose lease ran out as used, and still lets its owner record', async () => {
    const ref = await issued();
    await consume(ref, { leaseMs: 100 });
    await sleep(200);
    await expect(consume(ref, { owner: 'owner-2' })).resolves.toEqual({ state: 'used' });
    await expect(store().recordOutcome(ref, 'owner-1', 'late', LONG)).resolves.toBe(true);
    await expect(consume(ref, { owner: 'owner-2' })).resolves.toEqual({ state: 'done', outcome: 'late' });
  });

  it('forgets an unused token after its ttl', async () => {
    const ref = await issued('subject|scope', 100);
    await sleep(200);
    await expect(consume(ref)).resolves.toEqual({ state: 'unknown' });
  });

  it('forgets a marker after keepMs, counted again from the outcome', async () => {
    const ref = await issued();
    await consume(ref, { keepMs: 150 });
    await sleep(100);
    await store().recordOutcome(ref, 'owner-1', 'kept', 300);
    await sleep(100);
    await expect(consume(ref, { owner: 'owner-2' })).resolves.toEqual({ state: 'done', outcome: 'kept' });
    await sleep(300);
    await expect(consume(ref, { owner: 'owner-2' })).resolves.toEqual({ state: 'unknown' });
  });

  it('refuses to issue a ref twice', async () => {
    const ref = await issued();
    await expect(store().issue({ ref, binding: 'x|', ttlMs: LONG, limits: UNLIMITED })).rejects.toThrow();
  });

  it('lets exactly one of 50 concurrent consumes of one token be first', async () => {
    const ref = await issued();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => consume(ref, { owner: `owner-${i}` })),
    );
    expect(results.filter((r) => r.state === 'first')).toHaveLength(1);
    expect(results.filter((r) => r.state === 'in_progress')).toHaveLength(49);
  });

  it('keeps tokens of different callers apart', async () => {
    const a = await issued();
    const b = { tag: newRef().tag, id: a.id };
    await store().issue({ ref: b, binding: 'subject|scope', ttlMs: LONG, limits: UNLIMITED });
    await expect(consume(a)).resolves.toEqual({ state: 'first' });
    await expect(consume(b)).resolves.toEqual({ state: 'first' });
  });

  describe('limiter', () => {
    it('grants up to the rate limit, reporting what remains, then refuses until the oldest grant leaves', async () => {
      const tag = newRef().tag;
      const limits = { rateLimit: 3, windowMs: 1000 };
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await issueFor(tag, limits));
      expect(results.map((r) => r.granted && r.remaining)).toEqual([2, 1, 0]);
      expect(results[0].resetMs).toBeGreaterThan(900);
      const refused = await issueFor(tag, limits);
      expect(refused).toMatchObject({ granted: false, refusal: 'rate', remaining: 0 });
      if (refused.granted) return;
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
      await sleep(refused.retryAfterMs + 20);
      await expect(issueFor(tag, limits)).resolves.toMatchObject({ granted: true });
    });

    it('slides: never more than the limit in any window-long interval, refusals not counted', async () => {
      const tag = newRef().tag;
      const limits = { rateLimit: 2, windowMs: 600 };
      await expect(issueFor(tag, limits)).resolves.toMatchObject({ granted: true });
      await sleep(300);
      await expect(issueFor(tag, limits)).resolves.toMatchObject({ granted: true });
      await expect(issueFor(tag, limits)).resolves.toMatchObject({ granted: false, refusal: 'rate' });
      await sleep(350); // the first grant has left the window, the second has not
      await expect(issueFor(tag, limits)).resolves.toMatchObject({ granted: true, remaining: 0 });
      await expect(issueFor(tag, limits)).resolves.toMatchObject({ granted: false, refusal: 'rate' });
    });

    it('refuses past the quota until a token is used or expires', async () => {
      const tag = newRef().tag;
      const limits = { maxOutstanding: 2 };
      const first = { tag, id: newRef().id };
      await store().issue({ ref: first, binding: 'b|', ttlMs: LONG, limits: { ...UNLIMITED, ...limits } });
      await issueFor(tag, limits, 300);
      const refused = await issueFor(tag, limits);
      expect(refused).toMatchObject({ granted: false, refusal: 'quota' });
      if (!refused.granted) expect(refused.retryAfterMs).toBeLessThanOrEqual(300);
      await expect(consume(first, { binding: 'b|' })).resolves.toEqual({ state: 'first' });
      await expect(issueFor(tag, limits)).resolves.toMatchObject({ granted: true });
      await expect(issueFor(tag, limits)).resolves.toMatchObject({ granted: false, refusal: 'quota' });
      await sleep(350); // the 300 ms token expired unused
      await expect(issueFor(tag, limits)).resolves.toMatchObject({ granted: true });
    });

    it('keeps buckets and callers apart', async () => {
      const tag = newRef().tag;
      await issueFor(tag, { rateLimit: 1 });
      await expect(issueFor(tag, { rateLimit: 1 })).resolves.toMatchObject({ granted: false });
      await expect(issueFor(tag, { rateLimit: 1, bucket: 'payments' })).resolves.toMatchObject({ granted: true });
      await expect(issueFor(newRef().tag, { rateLimit: 1 })).resolves.toMatchObject({ granted: true });
    });

    it('grants exactly the limit to 50 concurrent issues', async () => {
      const tag = newRef().tag;
      const results = await Promise.all(Array.from({ length: 50 }, () => issueFor(tag, { rateLimit: 10 })));
      expect(results.filter((r) => r.granted)).toHaveLength(10);
    });
  });
}
