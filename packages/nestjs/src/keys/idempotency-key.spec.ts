import { describe, expect, it } from '@jest/globals';
import { parseIdempotencyKey } from './idempotency-key.js';

const UUID = '8e03978e-40d5-43e8-bc93-6894a57f9324';

describe('parseIdempotencyKey', () => {
  it.each([
    [UUID, UUID],
    [`"${UUID}"`, UUID],
    ['"with \\"quotes\\" and \\\\"', 'with "quotes" and \\'],
    ['"a key with spaces"', 'a key with spaces'],
    ['12345678', '12345678'],
    ['x'.repeat(255), 'x'.repeat(255)],
    [`"${'y'.repeat(255)}"`, 'y'.repeat(255)],
    ['bare"quote\\s', 'bare"quote\\s'],
  ])('reads %s as the key %s', (header, key) => {
    expect(parseIdempotencyKey(header)).toEqual({ key });
  });

  it.each([
    ['1234567', /7 characters long/],
    ['"1234567"', /7 characters long/],
    ['x'.repeat(256), /256 characters long/],
    ['"unterminated', /not a well-formed quoted string/],
    ['"trailing" x', /not a well-formed quoted string/],
    ['"bad \\escape"', /not a well-formed quoted string/],
    ['"tab\there"', /not a well-formed quoted string/],
    ['"a", "b-second-key"', /not a well-formed quoted string/],
    ['two words here', /other than visible ASCII/],
    ['ключ-ключ-ключ', /other than visible ASCII/],
    ['"ключ-ключ-ключ"', /not a well-formed quoted string/],
  ])('refuses %s', (header, why) => {
    expect(parseIdempotencyKey(header)).toEqual({ invalid: expect.stringMatching(why) });
  });
});
