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

  it('answers for a million levels without overflowing the stack', () => {
    expect(nestedDeeperThan(nested(1_000_000), 64)).toBe(true);
  });
});
