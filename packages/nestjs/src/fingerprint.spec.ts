import { describe, expect, it } from '@jest/globals';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { canonicalJson as canonical, fingerprintOf } from './fingerprint.js';

/** The fingerprint as 0.2.0 computed it, with the `canonicalize` package: stored ones must still match. */
const previousFingerprint = (method: string, url: string, body: unknown) =>
  createHash('sha256')
    .update(`${method}\n${url}\n${canonicalize(body)}`)
    .digest()
    .toString('base64url', 0, 16);

/** A deterministic stream of awkward JSON values: integer-like and non-ASCII keys, escapes, odd numbers. */
function randomJson(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
  const texts = [
    '',
    'a',
    'A',
    'é',
    '€',
    '😀',
    'דּ',
    '\r',
    '\n\t"\\',
    '\u0000\u001f',
    '10',
    '9',
    '-1',
    '1.5',
    '__proto__',
    'constructor',
    ' ',
  ];
  const text = () => Array.from({ length: Math.floor(next() * 4) }, () => pick(texts)).join('');
  const numbers = [
    0,
    -0,
    1,
    -1,
    0.1,
    1e21,
    1e-7,
    5e-324,
    1.7976931348623157e308,
    333333333.3333333,
    2 ** 53,
    4.5,
  ];
  const value = (depth: number): unknown => {
    const kind = next();
    if (depth > 5 || kind < 0.4) {
      return pick([
        null,
        true,
        false,
        text(),
        pick(numbers),
        (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20),
      ]);
    }
    if (kind < 0.7) return Array.from({ length: Math.floor(next() * 5) }, () => value(depth + 1));
    const entries = Array.from({ length: Math.floor(next() * 6) }, () => [
      text(),
      value(depth + 1),
    ]);
    return JSON.parse(JSON.stringify(Object.fromEntries(entries)));
  };
  return value(0);
}

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

  it.each([
    ['a value', { s: '\ud800' }],
    ['a key', { '\udc00': 1 }],
    ['the second half of a pair alone', ['a\ude00b']],
  ])('throws on a lone surrogate in %s, which canonical JSON forbids', (_where, body) => {
    expect(() => fingerprintOf('POST', '/x', body)).toThrow('Lone surrogate is not allowed');
  });

  it('throws on numbers JSON cannot write, and on nesting past the contract limit', () => {
    expect(() => fingerprintOf('POST', '/x', JSON.parse('[1e999]'))).toThrow('Infinity');
    expect(() => fingerprintOf('POST', '/x', [Number.NaN])).toThrow('NaN');
    let deep: unknown = 1;
    for (let i = 0; i < 65; i++) deep = [deep];
    expect(() => fingerprintOf('POST', '/x', deep)).toThrow('Nested deeper than 64 levels');
  });
});

describe('writeCanonicalJson', () => {
  it('writes the examples of RFC 8785', () => {
    expect(
      canonical(
        JSON.parse(
          '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
            '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
        ),
      ),
    ).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    const sorted = { '€': 1, '\r': 2, דּ: 3, '1': 4, '😀': 5, '\u0080': 6, ö: 7 };
    expect(canonical(sorted)).toBe('{"\\r":2,"1":4,"\u0080":6,"ö":7,"€":1,"😀":5,"דּ":3}');
  });

  it('writes what the canonicalize package writes, for 2 000 awkward values', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const value = randomJson(seed);
      expect([seed, canonical(value)]).toEqual([seed, canonicalize(value)]);
    }
  });

  it('keeps fingerprints of 0.2.0, for small bodies and bodies of megabytes with pairs of surrogates', () => {
    const bodies = [
      { item: 'book', quantity: 1 },
      ...Array.from({ length: 300 }, (_, seed) => randomJson(seed + 1)),
      Array.from({ length: 50_000 }, (_, i) => (i % 3 ? '😀' : `é${i}`)),
      Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`k${i}😀`, { n: i / 7 }])),
    ];
    for (const body of bodies) {
      expect(fingerprintOf('POST', '/orders?a=1', body)).toBe(
        previousFingerprint('POST', '/orders?a=1', body),
      );
    }
  });
});
