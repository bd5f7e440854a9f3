import { afterEach, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { IdempotencyModule } from './idempotency.module.js';
import { resolveSettings } from './idempotency.settings.js';

const secret = 's'.repeat(32);

describe('module options', () => {
  const nodeEnv = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = nodeEnv;
  });

  it('applies the documented defaults', () => {
    expect(resolveSettings({ secret })).toMatchObject({
      keyPrefix: 'idem:',
      tokenTtlSeconds: 900,
      maxTokenTtlSeconds: 86_400,
      resultTtlSeconds: 86_400,
      inProgressTtlSeconds: 60,
      maxStoredResponseBytes: 65_536,
    });
  });

  it.each([
    [{ secret: 'short' }, /secret must be at least 32/],
    [{ secret, tokenTtlSeconds: 0 }, /tokenTtlSeconds must be a positive whole number/],
    [{ secret, resultTtlSeconds: 1.5 }, /resultTtlSeconds/],
    [
      { secret, tokenTtlSeconds: 100, maxTokenTtlSeconds: 10 },
      /must not exceed maxTokenTtlSeconds/,
    ],
    [{ secret, replayHeaders: ['Set-Cookie'] }, /set-cookie cannot be replayed/],
    [{ secret, minReplicas: 1 }, /minReplicas needs the Redis store/],
  ])('refuses %j at start', (options, message) => {
    expect(() => resolveSettings(options)).toThrow(message);
  });

  it('refuses the in-memory store under NODE_ENV=production, naming the option that fixes it', async () => {
    process.env.NODE_ENV = 'production';
    await expect(
      Test.createTestingModule({ imports: [IdempotencyModule.forRoot({ secret })] }).compile(),
    ).rejects.toThrow(/`redis` option/);
  });
});
