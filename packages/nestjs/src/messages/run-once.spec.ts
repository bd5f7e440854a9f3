import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { IdempotencyMetrics } from '../idempotency.metrics.js';
import { MemoryTokenStore } from '../stores/memory-token.store.js';
import type { TokenRef } from '../interfaces/token-store.interface.js';
import { runOnce } from './run-once.js';

describe('runOnce', () => {
  it('runs the work once and returns its result to every later delivery', async () => {
    const store = new MemoryTokenStore();
    let runs = 0;
    const work = async () => ({ sent: ++runs });
    expect(await runOnce('message-1', work, { store })).toEqual({
      outcome: 'ran',
      result: { sent: 1 },
    });
    expect(await runOnce('message-1', work, { store })).toEqual({
      outcome: 'duplicate',
      result: { sent: 1 },
    });
    expect(await runOnce('message-1', () => undefined, { store, scope: 'other' })).toEqual({
      outcome: 'ran',
      result: undefined,
    });
    expect(await runOnce('message-1', work, { store, scope: 'other' })).toEqual({
      outcome: 'duplicate',
      result: undefined,
    });
    expect(runs).toBe(1);
  });

  it('claims the marker 0.2 claimed for the same scope and key (a message in flight across an upgrade is still found)', async () => {
    const claimed: TokenRef[] = [];
    const store = new MemoryTokenStore();
    const claim = store.claim.bind(store);
    store.claim = (command) => (claimed.push(command.ref), claim(command));
    const keys = ['order-1', 'ä'.repeat(300), ...Array.from({ length: 200 }, (_, i) => `k${i}`)];
    for (const key of keys) await runOnce(key, () => undefined, { store, scope: 'mail' });
    expect(claimed).toEqual(
      keys.map((key) => {
        const digest = createHash('sha256').update(`mail\0${key}`).digest();
        return {
          tag: `m${digest.toString('base64url', 0, 9).slice(1)}`,
          id: digest.toString('base64url', 9, 25),
        };
      }),
    );
  });

  it('runs once among 20 concurrent deliveries; the others are in progress', async () => {
    const store = new MemoryTokenStore();
    let runs = 0;
    const work = async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return runs;
    };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => runOnce('message-2', work, { store })),
    );
    expect(results.filter((r) => r.outcome === 'ran')).toEqual([{ outcome: 'ran', result: 1 }]);
    expect(results.filter((r) => r.outcome === 'in_progress')).toHaveLength(19);
    expect(runs).toBe(1);
  });

  it('lets the next delivery run the work when it threw', async () => {
    const store = new MemoryTokenStore();
    const failing = () => Promise.reject(new Error('broker down'));
    await expect(runOnce('message-3', failing, { store })).rejects.toThrow('broker down');
    expect(await runOnce('message-3', () => 'sent', { store })).toEqual({
      outcome: 'ran',
      result: 'sent',
    });
  });

  it("after a run died (lease over, nothing recorded): skips with 'skip', runs with 'retry'", async () => {
    let now = 1_000_000;
    const store = new MemoryTokenStore(() => now);
    let runs = 0;
    void runOnce('message-4', () => new Promise(() => (runs += 1)), { store, leaseSeconds: 5 });
    await new Promise((resolve) => setImmediate(resolve));
    const work = () => (runs += 1);
    expect(await runOnce('message-4', work, { store, afterCrash: 'skip' })).toEqual({
      outcome: 'in_progress',
    });
    now += 5_001; // the first run's worker is gone: its lease ran out
    expect(await runOnce('message-4', work, { store, afterCrash: 'skip' })).toEqual({
      outcome: 'crashed',
    });
    expect(runs).toBe(1);
    expect(await runOnce('message-4', work, { store })).toEqual({ outcome: 'ran', result: 2 });
    expect(await runOnce('message-4', work, { store, afterCrash: 'skip' })).toEqual({
      outcome: 'duplicate',
      result: 2,
    });
  });

  it('reports a run as ran when its result cannot be written (the work is done)', async () => {
    const store = new MemoryTokenStore();
    store.recordOutcome = () => Promise.reject(new Error('Redis gone'));
    expect(await runOnce('message-5', () => 7, { store })).toEqual({ outcome: 'ran', result: 7 });
  });

  it('counts each delivery in idempotency_messages_total by outcome', async () => {
    const store = new MemoryTokenStore();
    const metrics = await IdempotencyMetrics.create();
    for (let i = 0; i < 3; i += 1) await runOnce('message-6', () => 1, { store, metrics });
    const text = await metrics.registry!.metrics();
    expect(text).toContain('idempotency_messages_total{outcome="ran"} 1');
    expect(text).toContain('idempotency_messages_total{outcome="duplicate"} 2');
  });

  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  it.each([
    ['a BigInt', 10n],
    ['a cycle', cycle],
    ['a function', () => 'not JSON'],
  ])(
    'records a run whose result JSON cannot encode (%s) as done without a result',
    async (_, value) => {
      const store = new MemoryTokenStore();
      let runs = 0;
      const work = () => {
        runs += 1;
        return value;
      };
      expect((await runOnce('message-json', work, { store })).outcome).toBe('ran');
      expect(await runOnce('message-json', work, { store })).toEqual({
        outcome: 'duplicate',
        result: undefined,
      });
      expect(runs).toBe(1);
    },
  );

  it('refuses options that cannot work: a keep shorter than the lease, a malformed scope', async () => {
    const store = new MemoryTokenStore();
    await expect(
      runOnce('m', () => 1, { store, leaseSeconds: 60, keepSeconds: 30 }),
    ).rejects.toThrow(/keepSeconds \(30\) must be at least leaseSeconds \(60\)/);
    await expect(runOnce('m', () => 1, { store, scope: 'no spaces' })).rejects.toThrow(/scope/);
    await expect(runOnce('', () => 1, { store })).rejects.toThrow(/non-empty string/);
  });
});
