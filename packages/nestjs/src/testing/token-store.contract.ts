import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type {
  ClaimCommand,
  ConsumeCommand,
  ConsumeResult,
  IssueLimits,
  IssueResult,
  KeyClaimCommand,
  TokenRef,
  TokenStore,
} from '../interfaces/token-store.interface.js';
import { StoreUnavailableError } from '../stores/store-unavailable.error.js';

/** One check of the contract: run it under any test runner; it rejects when the store breaks the contract. */
export interface ContractCase {
  name: string;
  run: () => Promise<void>;
}

const LONG = 60_000;
const UNLIMITED: IssueLimits = {
  bucket: '',
  rateLimit: 1_000_000,
  windowMs: LONG,
  maxOutstanding: 1_000_000,
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newRef = (): TokenRef => ({
  tag: randomBytes(9).toString('base64url'),
  id: randomBytes(16).toString('base64url'),
});

/** Asserts that every member of `expected` is in `actual` (extra members allowed). */
function assertIncludes(actual: IssueResult, expected: Partial<Record<string, unknown>>): void {
  assert.deepEqual(
    Object.fromEntries(
      Object.keys(expected).map((key) => [key, (actual as Record<string, unknown>)[key]]),
    ),
    expected,
  );
}

/**
 * The {@link TokenStore} contract as a list of checks, built on `node:assert` so that any test
 * runner can run them (`for (const c of tokenStoreContract(get)) it(c.name, c.run)` in Jest or
 * Vitest, `test(c.name, c.run)` in `node:test`). `getStore` is called when a check runs, so the
 * store may be made in a `before` hook. The project runs it against the memory store, a real
 * Redis and a real Redis Cluster; run it against your own store.
 */
export function tokenStoreContract(getStore: () => TokenStore): ContractCase[] {
  const store = () => getStore();

  async function issued(binding = 'subject|scope', ttlMs = LONG): Promise<TokenRef> {
    const ref = newRef();
    assertIncludes(await store().issue({ ref, binding, ttlMs, limits: UNLIMITED }), {
      granted: true,
    });
    return ref;
  }
  const consume = (ref: TokenRef, overrides: Partial<ConsumeCommand> = {}) =>
    store().consume({
      ref,
      bucket: '',
      binding: 'subject|scope',
      fingerprint: 'fp-1',
      owner: 'owner-1',
      leaseMs: LONG,
      keepMs: LONG,
      ...overrides,
    });
  const expectConsume = async (
    ref: TokenRef,
    expected: ConsumeResult,
    overrides: Partial<ConsumeCommand> = {},
  ) => assert.deepEqual(await consume(ref, overrides), expected);
  /** Issues for one caller (`tag`) under `limits`; each call is a new token id. */
  const issueFor = (tag: string, limits: Partial<IssueLimits>, ttlMs = LONG) =>
    store().issue({
      ref: { tag, id: newRef().id },
      binding: 'b|',
      ttlMs,
      limits: { ...UNLIMITED, ...limits },
    });

  /** Claims a message's run (see `runOnce`); the overrides change owner, lease, `afterCrash`. */
  const claim = (ref: TokenRef, overrides: Partial<ClaimCommand> = {}) =>
    store().claim({
      ref,
      owner: 'run-1',
      leaseMs: LONG,
      keepMs: LONG,
      afterCrash: 'retry',
      ...overrides,
    });

  /** Claims a client-chosen key's use for caller `ref.tag`; the overrides change the request. */
  const claimKey = (ref: TokenRef, overrides: Partial<KeyClaimCommand> = {}) =>
    store().claimKey({
      ref,
      binding: 'subject|scope',
      fingerprint: 'fp-1',
      owner: 'owner-1',
      leaseMs: LONG,
      keepMs: LONG,
      limits: { bucket: '', rateLimit: 1_000_000, windowMs: LONG },
      ...overrides,
    });
  const states = (results: { state: string }[]) => results.map((result) => result.state);

  const cases: Record<string, () => Promise<void>> = {
    'answers ping': async () => {
      assert.equal(await store().ping(), undefined);
    },

    'consumes an issued token once: the first consume is first, a copy finds it in progress':
      async () => {
        const ref = await issued();
        await expectConsume(ref, { state: 'first' });
        await expectConsume(ref, { state: 'in_progress' }, { owner: 'owner-2' });
      },

    'does not know a token that was never issued': async () => {
      await expectConsume(newRef(), { state: 'unknown' });
    },

    'refuses another binding without burning the token': async () => {
      const ref = await issued('alice|scope');
      await expectConsume(ref, { state: 'unknown' }, { binding: 'bob|scope' });
      await expectConsume(ref, { state: 'unknown' }, { binding: 'alice|other' });
      await expectConsume(ref, { state: 'first' }, { binding: 'alice|scope' });
    },

    'tells another binding nothing about a used token': async () => {
      const ref = await issued('alice|scope');
      await consume(ref, { binding: 'alice|scope' });
      await store().recordOutcome(ref, 'owner-1', 'the answer', LONG);
      await expectConsume(ref, { state: 'unknown' }, { binding: 'bob|scope' });
    },

    'reports a copy with another fingerprint as a mismatch, before anything else': async () => {
      const ref = await issued();
      await consume(ref);
      await expectConsume(ref, { state: 'mismatch' }, { fingerprint: 'fp-2' });
      await store().recordOutcome(ref, 'owner-1', 'the answer', LONG);
      await expectConsume(ref, { state: 'mismatch' }, { fingerprint: 'fp-2' });
    },

    'hands the recorded outcome to copies': async () => {
      const ref = await issued();
      await consume(ref);
      assert.equal(await store().recordOutcome(ref, 'owner-1', '{"status":201}', LONG), true);
      await expectConsume(ref, { state: 'done', outcome: '{"status":201}' }, { owner: 'owner-2' });
    },

    'records an outcome only for the owner, and only once': async () => {
      const ref = await issued();
      await consume(ref);
      assert.equal(await store().recordOutcome(ref, 'owner-2', 'intruder', LONG), false);
      assert.equal(await store().recordOutcome(ref, 'owner-1', 'first', LONG), true);
      assert.equal(await store().recordOutcome(ref, 'owner-1', 'second', LONG), false);
      await expectConsume(ref, { state: 'done', outcome: 'first' });
    },

    'records nothing for a token that was never consumed': async () => {
      const ref = await issued();
      assert.equal(await store().recordOutcome(ref, 'owner-1', 'early', LONG), false);
      await expectConsume(ref, { state: 'first' });
    },

    'reports a first request whose lease ran out as used, and still lets its owner record':
      async () => {
        const ref = await issued();
        await consume(ref, { leaseMs: 100 });
        await sleep(200);
        await expectConsume(ref, { state: 'used' }, { owner: 'owner-2' });
        assert.equal(await store().recordOutcome(ref, 'owner-1', 'late', LONG), true);
        await expectConsume(ref, { state: 'done', outcome: 'late' }, { owner: 'owner-2' });
      },

    'forgets an unused token after its ttl': async () => {
      const ref = await issued('subject|scope', 100);
      await sleep(200);
      await expectConsume(ref, { state: 'unknown' });
    },

    'forgets a marker after keepMs, counted again from the outcome': async () => {
      const ref = await issued();
      // Margins of 300-400 ms each way: timers never fire early, but a loaded machine fires late.
      await consume(ref, { keepMs: 500 });
      await sleep(100);
      assert.equal(await store().recordOutcome(ref, 'owner-1', 'kept', 800), true);
      await sleep(500); // past the consume's keepMs, within the outcome's
      await expectConsume(ref, { state: 'done', outcome: 'kept' }, { owner: 'owner-2' });
      await sleep(500);
      await expectConsume(ref, { state: 'unknown' }, { owner: 'owner-2' });
    },

    'consumes nothing past the deadline: the token still works as a first use': async () => {
      const ref = await issued();
      await assert.rejects(consume(ref, { deadlineMs: Date.now() - 1 }), StoreUnavailableError);
      await expectConsume(ref, { state: 'first' }, { deadlineMs: Date.now() + LONG });
    },

    'issues and charges nothing past the deadline': async () => {
      const tag = newRef().tag;
      const limits = { ...UNLIMITED, rateLimit: 1, maxOutstanding: 1 };
      const ref = { tag, id: newRef().id };
      const late = { ref, binding: 'b|', ttlMs: LONG, limits, deadlineMs: Date.now() - 1 };
      await assert.rejects(store().issue(late), StoreUnavailableError);
      await expectConsume(ref, { state: 'unknown' }, { binding: 'b|' });
      assertIncludes(await issueFor(tag, limits), { granted: true, remaining: 0 });
    },

    'refuses to issue a ref twice': async () => {
      const ref = await issued();
      await assert.rejects(
        store().issue({ ref, binding: 'subject|scope', ttlMs: LONG, limits: UNLIMITED }),
      );
    },

    'lets exactly one of 50 concurrent consumes of one token be first': async () => {
      const ref = await issued();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => consume(ref, { owner: `owner-${i}` })),
      );
      assert.equal(results.filter((r) => r.state === 'first').length, 1);
      assert.equal(results.filter((r) => r.state === 'in_progress').length, 49);
    },

    'keeps tokens of different callers apart': async () => {
      const a = await issued();
      const b = { tag: newRef().tag, id: a.id };
      await store().issue({ ref: b, binding: 'subject|scope', ttlMs: LONG, limits: UNLIMITED });
      await expectConsume(a, { state: 'first' });
      await expectConsume(b, { state: 'first' });
    },

    'limiter: grants up to the rate limit, reporting what remains, then refuses until the oldest grant leaves':
      async () => {
        const tag = newRef().tag;
        const limits = { rateLimit: 3, windowMs: 1000 };
        const results: IssueResult[] = [];
        for (let i = 0; i < 3; i++) results.push(await issueFor(tag, limits));
        assert.deepEqual(
          results.map((r) => r.granted && r.remaining),
          [2, 1, 0],
        );
        assert.ok(
          results[0].resetMs > 900,
          `resetMs ${results[0].resetMs} should be close to the window`,
        );
        const refused = await issueFor(tag, limits);
        assertIncludes(refused, { granted: false, refusal: 'rate', remaining: 0 });
        assert.ok(
          !refused.granted && refused.retryAfterMs > 0 && refused.retryAfterMs <= 1000,
          `retryAfterMs within the window`,
        );
        await sleep(refused.retryAfterMs + 20);
        assertIncludes(await issueFor(tag, limits), { granted: true });
      },

    'limiter: slides: never more than the limit in any window-long interval, refusals not counted':
      async () => {
        const tag = newRef().tag;
        // Half a window between the grants: a stall of up to 700 ms (a loaded CI machine) still
        // finds the second grant in the window when the first has left it.
        const limits = { rateLimit: 2, windowMs: 1500 };
        assertIncludes(await issueFor(tag, limits), { granted: true });
        await sleep(750);
        assertIncludes(await issueFor(tag, limits), { granted: true });
        assertIncludes(await issueFor(tag, limits), { granted: false, refusal: 'rate' });
        await sleep(800); // the first grant has left the window, the second has not
        assertIncludes(await issueFor(tag, limits), { granted: true, remaining: 0 });
        assertIncludes(await issueFor(tag, limits), { granted: false, refusal: 'rate' });
      },

    'limiter: refuses past the quota until a token is used or expires': async () => {
      const tag = newRef().tag;
      const limits = { maxOutstanding: 2 };
      const first = { tag, id: newRef().id };
      await store().issue({
        ref: first,
        binding: 'b|',
        ttlMs: LONG,
        limits: { ...UNLIMITED, ...limits },
      });
      await issueFor(tag, limits, 300);
      const refused = await issueFor(tag, limits);
      assertIncludes(refused, { granted: false, refusal: 'quota' });
      assert.ok(
        !refused.granted && refused.retryAfterMs <= 300,
        'retryAfterMs: when the soonest held token expires',
      );
      await expectConsume(first, { state: 'first' }, { binding: 'b|' });
      assertIncludes(await issueFor(tag, limits), { granted: true });
      assertIncludes(await issueFor(tag, limits), { granted: false, refusal: 'quota' });
      await sleep(350); // the 300 ms token expired unused
      assertIncludes(await issueFor(tag, limits), { granted: true });
    },

    'limiter: keeps buckets and callers apart': async () => {
      const tag = newRef().tag;
      await issueFor(tag, { rateLimit: 1 });
      assertIncludes(await issueFor(tag, { rateLimit: 1 }), { granted: false });
      assertIncludes(await issueFor(tag, { rateLimit: 1, bucket: 'payments' }), { granted: true });
      assertIncludes(await issueFor(newRef().tag, { rateLimit: 1 }), { granted: true });
    },

    'limiter: grants exactly the limit to 50 concurrent issues': async () => {
      const tag = newRef().tag;
      const results = await Promise.all(
        Array.from({ length: 50 }, () => issueFor(tag, { rateLimit: 10 })),
      );
      assert.equal(results.filter((r) => r.granted).length, 10);
    },

    'batches: issues every token of a batch, each usable once': async () => {
      const ref = newRef();
      const moreIds = [newRef().id, newRef().id, newRef().id, newRef().id];
      const limits = { ...UNLIMITED, rateLimit: 10 };
      assertIncludes(
        await store().issue({ ref, moreIds, binding: 'subject|scope', ttlMs: LONG, limits }),
        { granted: true, remaining: 5 },
      );
      for (const id of [ref.id, ...moreIds])
        await expectConsume({ tag: ref.tag, id }, { state: 'first' }, { owner: id });
    },

    'batches: all or none at the edge of the rate limit and of the quota': async () => {
      const tag = newRef().tag;
      const batch = (size: number, limits: Partial<IssueLimits>) => {
        const ids = Array.from({ length: size }, () => newRef().id);
        const ref = { tag, id: ids[0] };
        const issue = store().issue({
          ref,
          moreIds: ids.slice(1),
          binding: 'subject|scope',
          ttlMs: LONG,
          limits: { ...UNLIMITED, ...limits },
        });
        return { ids, issue };
      };
      await batch(3, { rateLimit: 5 }).issue;
      const refused = batch(3, { rateLimit: 5 });
      assertIncludes(await refused.issue, { granted: false, refusal: 'rate', remaining: 2 });
      for (const id of refused.ids) await expectConsume({ tag, id }, { state: 'unknown' });
      assertIncludes(await batch(2, { rateLimit: 5 }).issue, { granted: true, remaining: 0 });

      const quotaTag = newRef().tag;
      const held = (size: number) =>
        store().issue({
          ref: { tag: quotaTag, id: newRef().id },
          moreIds: Array.from({ length: size - 1 }, () => newRef().id),
          binding: 'b|',
          ttlMs: LONG,
          limits: { ...UNLIMITED, maxOutstanding: 4 },
        });
      assertIncludes(await held(3), { granted: true });
      assertIncludes(await held(2), { granted: false, refusal: 'quota' });
      assertIncludes(await held(1), { granted: true });
    },

    'rotation: a first use issues the next token in the same step; it is bound and usable':
      async () => {
        const ref = await issued();
        const next = { ref: { tag: ref.tag, id: newRef().id }, ttlMs: LONG, limits: UNLIMITED };
        const first = await consume(ref, { next });
        assert.equal(first.state, 'first');
        assert.ok('next' in first && first.next?.granted);
        await expectConsume(next.ref, { state: 'unknown' }, { binding: 'other|scope' });
        await expectConsume(next.ref, { state: 'first' }, { owner: 'owner-2' });
        await expectConsume(newRef(), { state: 'unknown' }, { next }); // no first use: nothing issued
      },

    'rotation: under a full window the consume still happens and no next token is issued':
      async () => {
        const tag = newRef().tag;
        const limits = { ...UNLIMITED, rateLimit: 1 };
        const ref = { tag, id: newRef().id };
        assertIncludes(
          await store().issue({ ref, binding: 'subject|scope', ttlMs: LONG, limits }),
          { granted: true },
        );
        const next = { ref: { tag, id: newRef().id }, ttlMs: LONG, limits };
        const first = await consume(ref, { next });
        assert.equal(first.state, 'first');
        assert.ok('next' in first);
        assertIncludes(first.next!, { granted: false, refusal: 'rate' });
        await expectConsume(next.ref, { state: 'unknown' });
        await expectConsume(ref, { state: 'in_progress' }, { owner: 'owner-2' });
      },

    'keys: the first claim is first, copies see the marker as a consume would': async () => {
      const ref = newRef();
      const first = await claimKey(ref);
      assert.equal(first.state, 'first');
      assert.deepEqual(await claimKey(ref, { owner: 'owner-2' }), { state: 'in_progress' });
      assert.deepEqual(await claimKey(ref, { fingerprint: 'fp-2' }), { state: 'mismatch' });
      assert.deepEqual(await claimKey(ref, { binding: 'other|scope' }), { state: 'unknown' });
      assert.equal(await store().recordOutcome(ref, 'owner-1', 'the answer', LONG), true);
      assert.deepEqual(await claimKey(ref, { owner: 'owner-3' }), {
        state: 'done',
        outcome: 'the answer',
      });
      assert.deepEqual(await claimKey({ tag: newRef().tag, id: ref.id }), {
        state: 'first',
        remaining: 999_999,
        resetMs: LONG,
      });
    },

    "keys: a first use is a grant in the caller's window, shared with issuance; refused beyond":
      async () => {
        const tag = newRef().tag;
        const limits = { bucket: '', rateLimit: 3, windowMs: LONG };
        assertIncludes(await issueFor(tag, { rateLimit: 3 }), { granted: true, remaining: 2 });
        const first = await claimKey({ tag, id: newRef().id }, { limits });
        assert.deepEqual([first.state, 'remaining' in first && first.remaining], ['first', 1]);
        await claimKey({ tag, id: newRef().id }, { limits });
        const refused = await claimKey({ tag, id: newRef().id }, { limits });
        assert.equal(refused.state, 'rate');
        assert.ok('retryAfterMs' in refused && refused.retryAfterMs > LONG - 5_000);
        assertIncludes(await issueFor(tag, { rateLimit: 3 }), { granted: false, refusal: 'rate' });
      },

    'keys: a copy is answered even when the window is full; a refused key stays unclaimed':
      async () => {
        const ref = newRef();
        const limits = { bucket: '', rateLimit: 1, windowMs: LONG };
        await claimKey(ref, { limits });
        assert.deepEqual(await claimKey(ref, { limits, owner: 'o-2' }), { state: 'in_progress' });
        const other = { tag: ref.tag, id: newRef().id };
        assert.equal((await claimKey(other, { limits })).state, 'rate');
        assert.equal((await claimKey(other)).state, 'first'); // under a larger limit: not claimed before
      },

    'keys: lets exactly one of 50 concurrent claims of a key be first, and the limit hold':
      async () => {
        const ref = newRef();
        const one = states(
          await Promise.all(
            Array.from({ length: 50 }, (_, i) => claimKey(ref, { owner: `o-${i}` })),
          ),
        );
        assert.equal(one.filter((state) => state === 'first').length, 1);
        assert.equal(one.filter((state) => state === 'in_progress').length, 49);
        const limits = { bucket: '', rateLimit: 10, windowMs: LONG };
        const tag = newRef().tag;
        const many = states(
          await Promise.all(
            Array.from({ length: 50 }, () => claimKey({ tag, id: newRef().id }, { limits })),
          ),
        );
        assert.equal(many.filter((state) => state === 'first').length, 10);
      },

    'keys: claims nothing past the deadline': async () => {
      const ref = newRef();
      await assert.rejects(claimKey(ref, { deadlineMs: Date.now() - 1 }), StoreUnavailableError);
      assert.equal((await claimKey(ref)).state, 'first');
    },

    'messages: claims once; a finished run is done with its result, a running one in progress':
      async () => {
        const ref = newRef();
        assert.deepEqual(await claim(ref), { state: 'claimed' });
        assert.deepEqual(await claim(ref, { owner: 'run-2' }), { state: 'in_progress' });
        assert.equal(await store().recordOutcome(ref, 'run-2', 'not mine', LONG), false);
        assert.equal(await store().recordOutcome(ref, 'run-1', '{"sent":1}', LONG), true);
        assert.deepEqual(await claim(ref, { owner: 'run-3' }), {
          state: 'done',
          outcome: '{"sent":1}',
        });
        assert.equal(await store().release(ref, 'run-1'), false); // a result is never dropped
      },

    'messages: a released claim is claimed again; only its owner releases it': async () => {
      const ref = newRef();
      await claim(ref);
      assert.equal(await store().release(ref, 'run-2'), false);
      assert.equal(await store().release(ref, 'run-1'), true);
      assert.deepEqual(await claim(ref, { owner: 'run-2' }), { state: 'claimed' });
    },

    'messages: a run whose lease ran out is crashed (skip) or taken over (retry)': async () => {
      const ref = newRef();
      await claim(ref, { leaseMs: 200 });
      await sleep(250);
      assert.deepEqual(await claim(ref, { owner: 'run-2', afterCrash: 'skip' }), {
        state: 'crashed',
      });
      assert.deepEqual(await claim(ref, { owner: 'run-3' }), { state: 'reclaimed' });
      assert.deepEqual(await claim(ref, { owner: 'run-4' }), { state: 'in_progress' });
      assert.equal(await store().recordOutcome(ref, 'run-1', 'late', LONG), false);
      assert.equal(await store().recordOutcome(ref, 'run-3', '', LONG), true);
      assert.deepEqual(await claim(ref, { owner: 'run-5' }), { state: 'done', outcome: '' });
    },

    'messages: claims nothing past the deadline': async () => {
      const ref = newRef();
      await assert.rejects(claim(ref, { deadlineMs: Date.now() - 1 }), StoreUnavailableError);
      assert.deepEqual(await claim(ref), { state: 'claimed' });
    },

    'messages: lets exactly one of 50 concurrent claims run, and one of 50 take over a crash':
      async () => {
        const ref = newRef();
        const states = async (leaseMs: number) =>
          (
            await Promise.all(
              Array.from({ length: 50 }, (_, i) => claim(ref, { owner: `run-${i}`, leaseMs })),
            )
          ).map((result) => result.state);
        const first = await states(200);
        assert.equal(first.filter((state) => state === 'claimed').length, 1);
        await sleep(250);
        const second = await states(LONG);
        assert.equal(second.filter((state) => state === 'reclaimed').length, 1);
        assert.equal(second.filter((state) => state === 'in_progress').length, 49);
      },
  };
  return Object.entries(cases).map(([name, run]) => ({ name, run }));
}
