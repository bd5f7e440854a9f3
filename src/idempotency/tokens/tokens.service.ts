import { Inject, Injectable } from '@nestjs/common';
import { IDEMPOTENCY_SETTINGS, TOKEN_STORE } from '../idempotency.constants.js';
import type { IdempotencySettings } from '../idempotency.settings.js';
import type { Caller } from '../interfaces/caller.interface.js';
import type { TokenStore } from '../interfaces/token-store.interface.js';
import type { IssuedToken } from './issued-token.js';
import { TokenCodec } from './token-codec.js';

/** Issues tokens: one signed value, one store call. */
@Injectable()
export class TokensService {
  constructor(
    private readonly codec: TokenCodec,
    @Inject(TOKEN_STORE) private readonly store: TokenStore,
    @Inject(IDEMPOTENCY_SETTINGS) private readonly settings: IdempotencySettings,
  ) {}

  /** `scope` and `ttlSeconds` must already be valid (see `parseIssueQuery`). */
  async issue(caller: Caller, scope: string | undefined, ttlSeconds = this.settings.tokenTtlSeconds): Promise<IssuedToken> {
    const { token, ref } = this.codec.create(caller);
    await this.store.issue({ ref, binding: this.codec.bindingOf(caller, scope), ttlMs: ttlSeconds * 1000 });
    return {
      token,
      scope: scope ?? null,
      expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
      expiresIn: ttlSeconds,
    };
  }
}
