import { describe, expect, it } from '@jest/globals';
import { TokenCodec } from './token-codec.js';

const codec = new TokenCodec('k'.repeat(32));
const alice = { subject: 'alice', address: '10.0.0.1' };
const anonymous = (address: string) => ({ subject: undefined, address });

describe('TokenCodec', () => {
  it('makes tokens it verifies, and refuses any change to them', () => {
    const { token, ref } = codec.create(alice);
    expect(codec.verify(token)).toEqual(ref);
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '.') continue;
      const changed = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
      expect(codec.verify(changed)).toBeUndefined();
    }
  });

  it('accepts one spelling of a signature only (its last character carries 4 unused bits)', () => {
    const { token } = codec.create(alice);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const accepted = [...alphabet].filter((last) => codec.verify(token.slice(0, -1) + last));
    expect(accepted).toEqual([token.at(-1)]);
  });

  it("refuses another secret's tokens", () => {
    expect(new TokenCodec('x'.repeat(32)).verify(codec.create(alice).token)).toBeUndefined();
  });

  it('groups one caller under one tag, and keeps callers apart', () => {
    expect(codec.tagOf(alice)).toBe(codec.tagOf({ ...alice, address: 'elsewhere' }));
    expect(codec.tagOf(alice)).not.toBe(codec.tagOf({ subject: 'bob', address: alice.address }));
    expect(codec.tagOf(anonymous('1.1.1.1'))).not.toBe(codec.tagOf(anonymous('2.2.2.2')));
    expect(codec.create(alice).ref.tag).toBe(codec.tagOf(alice));
  });

  it('binds to the subject and scope, and leaves anonymous tokens unbound', () => {
    expect(codec.bindingOf(alice, 'orders')).not.toBe(
      codec.bindingOf({ subject: 'bob', address: '' }, 'orders'),
    );
    expect(codec.bindingOf(alice, 'orders')).not.toBe(codec.bindingOf(alice, 'payments'));
    expect(codec.bindingOf(alice, undefined)).not.toBe(codec.bindingOf(alice, 'orders'));
    expect(codec.bindingOf(anonymous('1.1.1.1'), 'x')).toBe(
      codec.bindingOf(anonymous('2.2.2.2'), 'x'),
    );
    expect(codec.bindingOf(alice, 'x')).not.toContain('alice');
  });

  it('gives the same tags and bindings however many it has seen (it keeps the last 10 000)', () => {
    const fresh = new TokenCodec('k'.repeat(32));
    const scopes = Array.from({ length: 10_100 }, (_, i) => `scope.${i}`);
    const first = scopes.map((scope) => fresh.bindingOf(anonymous('1.1.1.1'), scope));
    expect(new Set(first).size).toBe(scopes.length);
    // Again, past the kept ones too, and from a codec that has seen none: the same digests.
    expect(scopes.map((scope) => fresh.bindingOf(anonymous('2.2.2.2'), scope))).toEqual(first);
    expect(scopes.map((scope) => codec.bindingOf(anonymous('3.3.3.3'), scope))).toEqual(first);
    expect(fresh.bindingOf(anonymous('1.1.1.1'), undefined)).toBe(
      codec.bindingOf(anonymous('1.1.1.1'), ''),
    );
    // Bounded: the oldest make room (10 100 bindings and the 3 addresses' tags seen).
    expect((fresh as unknown as { digests: Map<string, string> }).digests.size).toBe(10_000);
    const callers = scopes.map((scope) => ({ subject: scope, address: '' }));
    const tags = callers.map((caller) => fresh.tagOf(caller));
    expect(callers.map((caller) => fresh.tagOf(caller))).toEqual(tags);
    expect(callers.map((caller) => codec.tagOf(caller))).toEqual(tags);
    expect(fresh.bindingOf(anonymous('1.1.1.1'), 'scope.1')).not.toBe(
      fresh.bindingOf({ subject: 'a', address: '1.1.1.1' }, 'scope.1'),
    );
  });
});
