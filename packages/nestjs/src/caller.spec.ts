import { describe, expect, it } from '@jest/globals';
import type { Request } from 'express';
import type { FastifyRequest } from 'fastify';
import { callerOf, defaultSubjectResolver } from './caller.js';
import { limiterAddress } from './client-address.js';
import type { IdempotencyRequest, SubjectResolver } from './interfaces/caller.interface.js';

// Type checks (npm run typecheck): a resolver written for either adapter's request fits the option.
const forExpress: SubjectResolver = (request: Request) => request.header('x-user');
const forFastify: SubjectResolver = (request: FastifyRequest) =>
  request.headers['x-user'] as string | undefined;

const request = (extra: Partial<IdempotencyRequest>): IdempotencyRequest => ({
  method: 'POST',
  url: '/',
  headers: {},
  ...extra,
});

describe('callers', () => {
  it("reads the subject from the app's request.user (id, else sub), and the address from request.ip", () => {
    expect(callerOf(request({ user: { id: 7 }, ip: '10.0.0.1' }), defaultSubjectResolver)).toEqual({
      subject: '7',
      address: '10.0.0.1',
    });
    expect(callerOf(request({ user: { sub: 'alice' } }), defaultSubjectResolver).subject).toBe(
      'alice',
    );
    expect(callerOf(request({}), defaultSubjectResolver).subject).toBeUndefined();
  });

  it('takes resolvers typed for Express and Fastify requests', () => {
    const headers = { 'x-user': 'bob' };
    expect(forFastify(request({ headers }))).toBe('bob');
    expect(
      forExpress({
        ...request({ headers }),
        header: (name: string) => headers[name as 'x-user'],
      } as IdempotencyRequest),
    ).toBe('bob');
  });

  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::FFFF:c000:0207', '192.0.2.7'],
    ['2001:db8:0:1:aaaa:bbbb:cccc:dddd', '2001:db8:0:1::/64'],
    ['2001:db8:0:1::2', '2001:db8:0:1::/64'],
    ['2001:DB8::1', '2001:db8:0:0::/64'],
    ['[2001:db8:0:1::9]', '2001:db8:0:1::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.7', '64:ff9b:0:0::/64'],
    ['unknown', 'unknown'],
  ])('counts %s as the limiter address %s (IPv6 per /64, IPv4-mapped as IPv4)', (ip, expected) => {
    expect(limiterAddress(ip)).toBe(expected);
    expect(callerOf(request({ ip }), defaultSubjectResolver).address).toBe(expected);
  });
});
