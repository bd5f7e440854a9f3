import { expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { ConsumeCommand, TokenRef, TokenStore } from '../interfaces/token-store.interface.js';

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

  async function issued(binding = 'subject|scope', ttlMs = LONG): Promise<TokenRef> {
    const ref = newRef();
    await store().issue({ ref, binding, ttlMs });
    return ref;
  }
  const consume = (ref: TokenRef, overrides: Partial<ConsumeCommand> = {}) =>
    store().consume({ ref, binding: 'subject|scope', fingerprint: 'fp-1', owner: 'owner-1', leaseMs: LONG, keepMs: LONG, ...overrides });

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
    await expect(store().issue({ ref, binding: 'x|', ttlMs: LONG })).rejects.toThrow();
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
    await store().issue({ ref: b, binding: 'subject|scope', ttlMs: LONG });
    await expect(consume(a)).resolves.toEqual({ state: 'first' });
    await expect(consume(b)).resolves.toEqual({ state: 'first' });
  });
}
