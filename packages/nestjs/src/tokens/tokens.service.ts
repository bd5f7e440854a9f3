import { Inject, Injectable } from '@nestjs/common';
import { IDEMPOTENCY_SETTINGS, TOKEN_STORE } from '../idempotency.constants.js';
import { IdempotencyMetrics } from '../idempotency.metrics.js';
import type { IdempotencySettings } from '../idempotency.settings.js';
import type { Caller } from '../interfaces/caller.interface.js';
import type { TokenStore } from '../interfaces/token-store.interface.js';
import { rateLimitHeaders, retryAfterSeconds } from '../limiter/limiter-policy.js';
import { tokenQuotaExceeded, tokenRateLimited } from '../problems/idempotency.problems.js';
import type { IssuedToken } from './issued-token.js';
import { TokenCodec } from './token-codec.js';

/** Granted tokens (one, or a batch) and the RateLimit headers their answer carries. */
export interface Issuance {
  issued: IssuedToken;
  /** All the tokens granted, `issued.token` first: more than one for a batch. */
  tokens: string[];
  headers: Record<string, string>;
}

/** Issues tokens: one signed value, one store call that checks the limits and stores it. */
@Injectable()
export class TokensService {
  constructor(
    private readonly codec: TokenCodec,
    private readonly metrics: IdempotencyMetrics,
    @Inject(TOKEN_STORE) private readonly store: TokenStore,
    @Inject(IDEMPOTENCY_SETTINGS) private readonly settings: IdempotencySettings,
  ) {}

  /**
   * `scope`, `ttlSeconds` and `count` must already be valid (see `parseIssueQuery`); a batch
   * (`count` > 1) is issued all or none, in one store call.
   * @throws ProblemException 429 `TOKEN_RATE_LIMITED` / `TOKEN_QUOTA_EXCEEDED`, with the same headers.
   */
  async issue(
    caller: Caller,
    scope: string | undefined,
    ttlSeconds = this.settings.tokenTtlSeconds,
    count = 1,
  ): Promise<Issuance> {
    const tag = this.codec.tagOf(caller);
    const refs = Array.from({ length: count }, () => this.codec.newRef(tag));
    const policy = this.settings.policyFor(scope);
    const result = await this.store.issue({
      ref: refs[0],
      ...(count > 1 && { moreIds: refs.slice(1).map(({ id }) => id) }),
      binding: this.codec.bindingOf(caller, scope),
      ttlMs: ttlSeconds * 1000,
      limits: policy,
    });
    const headers = rateLimitHeaders(policy, result);
    if (!result.granted) {
      const refuse = result.refusal === 'rate' ? tokenRateLimited : tokenQuotaExceeded;
      const problem = refuse(retryAfterSeconds(result.retryAfterMs), headers);
      this.metrics.issueRefused(problem.problem.code);
      throw problem;
    }
    for (let i = 0; i < count; i += 1) this.metrics.tokenIssued();
    const tokens = refs.map((ref) => this.codec.tokenOf(ref));
    const issued = {
      token: tokens[0],
      scope: scope ?? null,
      expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
      expiresIn: ttlSeconds,
    };
    return { issued, tokens, headers };
  }
}
