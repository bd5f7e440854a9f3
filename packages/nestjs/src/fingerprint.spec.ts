import { describe, expect, it } from '@jest/globals';
import { fingerprintOf } from './fingerprint.js';

describe('fingerprintOf', () => {
  const base = fingerprintOf('POST', '/orders', {
    item: 'a',
    quantity: 1,
    meta: { x: 1, y: [1, 2] },
  });

  it('ignores key order at every depth', () => {
    expect(
      fingerprintOf('POST', '/orders', { meta: { y: [1, 2], x: 1 }, quantity: 1, item: 'a' }),
    ).toBe(base);
  });

  it.each([
    [
      'method',
      () => fingerprintOf('PUT', '/orders', { item: 'a', quantity: 1, meta: { x: 1, y: [1, 2] } }),
    ],
    [
      'path',
      () =>
        fingerprintOf('POST', '/orders/1', { item: 'a', quantity: 1, meta: { x: 1, y: [1, 2] } }),
    ],
    [
      'query',
      () =>
        fingerprintOf('POST', '/orders?x=1', { item: 'a', quantity: 1, meta: { x: 1, y: [1, 2] } }),
    ],
    [
      'a value',
      () => fingerprintOf('POST', '/orders', { item: 'a', quantity: 2, meta: { x: 1, y: [1, 2] } }),
    ],
    [
      'array order',
      () => fingerprintOf('POST', '/orders', { item: 'a', quantity: 1, meta: { x: 1, y: [2, 1] } }),
    ],
    [
      'a value type',
      () =>
        fingerprintOf('POST', '/orders', { item: 'a', quantity: '1', meta: { x: 1, y: [1, 2] } }),
    ],
  ])('changes with the %s', (_what, other) => {
    expect(other()).not.toBe(base);
  });

  it('tells no body from an empty one', () => {
    expect(fingerprintOf('POST', '/x', undefined)).not.toBe(fingerprintOf('POST', '/x', {}));
  });

  it('throws on a lone surrogate, which canonical JSON forbids', () => {
    expect(() => fingerprintOf('POST', '/x', { s: '\ud800' })).toThrow();
  });
});
