import { describe, expect, it } from '@jest/globals';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { setImmediate as turn } from 'node:timers/promises';
import { resolveSettings } from '../idempotency.settings.js';
import type { TokenStore } from '../interfaces/token-store.interface.js';
import { OutcomeRecorder } from './outcome.recorder.js';

/** A store whose outcome writes end only when the test says so, and that lists what it was given. */
function slowStore() {
  const written: string[] = [];
  const finishes: (() => void)[] = [];
  const store = {
    recordOutcome: (_ref: unknown, _owner: string, outcome: string) =>
      new Promise<boolean>((resolve) => {
        written.push(outcome);
        finishes.push(() => resolve(true));
      }),
  } as unknown as TokenStore;
  return { store, written, finishes };
}

const answered = (recorder: OutcomeRecorder, id: string) => {
  const response = new ServerResponse(new IncomingMessage(new Socket()));
  recorder.claim(response, {
    ref: { tag: 'aaaaaaaaaaaa', id },
    owner: `owner-${id}`,
    replay: true,
    replayHeaders: [],
  });
  response.statusCode = 201;
  response.end('{"id":1}');
};

describe('OutcomeRecorder', () => {
  it('writes the answer as sent, and shutdown waits for every write under way', async () => {
    const { store, written, finishes } = slowStore();
    const recorder = new OutcomeRecorder(store, resolveSettings({ secret: 's'.repeat(32) }));
    answered(recorder, 'first');
    answered(recorder, 'second');
    expect(written).toHaveLength(2);
    expect(written[0]).toContain('{"id":1}');

    let closed = false;
    const shutdown = recorder.onApplicationShutdown().then(() => (closed = true));
    finishes[0]();
    await turn();
    expect(closed).toBe(false); // one write is still under way
    finishes[1]();
    await shutdown;
    expect(closed).toBe(true);
  });

  it('lets shutdown through at once when no write is under way', async () => {
    const { store, finishes } = slowStore();
    const recorder = new OutcomeRecorder(store, resolveSettings({ secret: 's'.repeat(32) }));
    answered(recorder, 'done');
    finishes[0]();
    await turn();
    await expect(recorder.onApplicationShutdown()).resolves.toBeUndefined();
  });
});
