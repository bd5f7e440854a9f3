import { describe, expect, it } from '@jest/globals';
import { preferencesOf } from './prefer-header.js';

const of = (prefer?: string | string[]) => preferencesOf({ headers: { prefer } } as never);

describe('preferencesOf', () => {
  it.each([
    [undefined, { nextToken: false, waitSeconds: 0 }],
    ['next-token', { nextToken: true, waitSeconds: 0 }],
    ['Next-Token; x=1', { nextToken: true, waitSeconds: 0 }],
    ['wait=5', { nextToken: false, waitSeconds: 5 }],
    ['respond-async, WAIT="3", next-token', { nextToken: true, waitSeconds: 3 }],
    ['wait=600', { nextToken: false, waitSeconds: 10 }],
    [['wait=2', 'next-token'], { nextToken: true, waitSeconds: 2 }],
    ['wait=0', { nextToken: false, waitSeconds: 0 }],
    ['wait=-1, wait=1.5, wait=soon, wait', { nextToken: false, waitSeconds: 0 }],
    ['next-tokens, waiting=5', { nextToken: false, waitSeconds: 0 }],
  ])('reads %j', (prefer, expected) => {
    expect(of(prefer)).toEqual(expected);
  });
});
