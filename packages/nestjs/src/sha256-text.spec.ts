import { describe, expect, it } from '@jest/globals';
import { createHash, createHmac } from 'node:crypto';
import { first16Bytes, HmacSha256, sha256 } from './sha256-text.js';

/** Deterministic text of `length` characters, ASCII and beyond (2-, 3- and 4-byte UTF-8). */
const textOf = (length: number, seed: number) =>
  Array.from({ length }, (_, i) => ['a', 'é', '€', '😀', '\0', '.'][(i * 7 + seed) % 6]).join('');

describe('HmacSha256', () => {
  it("is createHmac()'s HMAC-SHA256, for keys shorter than, as long as and longer than a block", () => {
    for (const keyLength of [0, 1, 32, 63, 64, 65, 200]) {
      const key = Buffer.from(textOf(keyLength, keyLength)).subarray(0, keyLength);
      const mac = new HmacSha256(key);
      for (const messageLength of [0, 1, 43, 100, 255, 256, 1000, 5000, 3]) {
        const message = textOf(messageLength, messageLength + keyLength);
        expect([keyLength, messageLength, mac.base64url(message)]).toEqual([
          keyLength,
          messageLength,
          createHmac('sha256', key).update(message).digest('base64url'),
        ]);
      }
    }
  });
});

describe('sha256', () => {
  it("is createHash()'s SHA-256", () => {
    for (const length of [0, 1, 55, 56, 64, 1000]) {
      const text = textOf(length, length);
      expect(sha256(text)).toBe(createHash('sha256').update(text).digest('base64url'));
    }
  });
});

describe('first16Bytes', () => {
  it("is the base64url of a digest's first 16 bytes, whatever the 17th byte", () => {
    for (let i = 0; i < 1024; i++) {
      const digest = createHash('sha256').update(String(i)).digest();
      expect(first16Bytes(digest.toString('base64url'))).toBe(digest.toString('base64url', 0, 16));
    }
  });
});
