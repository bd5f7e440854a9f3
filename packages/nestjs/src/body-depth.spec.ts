import { describe, expect, it } from '@jest/globals';
import { nestedDeeperThan } from './body-depth.js';

const nested = (levels: number): unknown => {
  let value: unknown = 'x';
  for (let i = 0; i < levels; i++) value = i % 2 ? { a: value } : [value];
  return value;
};

describe('nestedDeeperThan', () => {
  it('counts objects and arrays alike, scalars as no level', () => {
    expect(nestedDeeperThan('text', 0)).toBe(false);
    expect(nestedDeeperThan(nested(64), 64)).toBe(false);
    expect(nestedDeeperThan(nested(65), 64)).toBe(true);
    expect(nestedDeeperThan({ wide: Array.from({ length: 1000 }, () => ({})) }, 3)).toBe(false);
  });

  it('finds the one deep value among many shallow ones, in arrays and objects', () => {
    const shallow = Array.from({ length: 1000 }, () => ({ a: [1] }));
    expect(nestedDeeperThan([...shallow, nested(64)], 64)).toBe(true);
    expect(nestedDeeperThan({ ...shallow, last: nested(63) }, 64)).toBe(false);
    expect(nestedDeeperThan({ ...shallow, last: nested(64) }, 64)).toBe(true);
  });

  it('answers for a million levels without overflowing the stack', () => {
    expect(nestedDeeperThan(nested(1_000_000), 64)).toBe(true);
  });
});
