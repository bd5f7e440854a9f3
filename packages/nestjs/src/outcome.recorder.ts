import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { IDEMPOTENCY_SETTINGS, TOKEN_STORE } from './idempotency.constants.js';
import type { IdempotencySettings } from './idempotency.settings.js';
import type { TokenRef, TokenStore } from './interfaces/token-store.interface.js';

/** An answer as kept for copies. No `body`: the answer is not replayable (too large, a stream, or replay off). */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** What the guard hands to the recorder for a first use. */
interface Claim {
  ref: TokenRef;
  owner: string;
  replay: boolean;
}

const CLAIM = Symbol('idempotency_module:claim');
type ClaimedRequest = { [CLAIM]?: Claim };

export function encodeOutcome(response: StoredResponse): string {
  return JSON.stringify(response);
}

export function decodeOutcome(outcome: string): StoredResponse {
  return JSON.parse(outcome) as StoredResponse;
}

/**
 * Writes the first request's answer under its marker once the handler has answered, whether
 * it returned or threw. The write is not awaited: the client gets its answer without waiting
 * for Redis, and a copy that arrives in between sees `REQUEST_IN_PROGRESS` and retries.
 * Shutdown waits for the writes still under way.
 */
@Injectable()
export class OutcomeRecorder implements OnApplicationShutdown {
  private readonly logger = new Logger('Idempotency');
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    @Inject(TOKEN_STORE) private readonly store: TokenStore,
    @Inject(IDEMPOTENCY_SETTINGS) private readonly settings: IdempotencySettings,
  ) {}

  claim(request: object, claim: Claim): void {
    (request as ClaimedRequest)[CLAIM] = claim;
  }

  /** Records the answer of a request that consumed a token; does nothing for any other request, or twice. */
  record(request: object, response: StoredResponse): void {
    const claim = (request as ClaimedRequest)[CLAIM];
    if (!claim) return;
    delete (request as ClaimedRequest)[CLAIM];
    const write = this.store
      .recordOutcome(
        claim.ref,
        claim.owner,
        encodeOutcome(this.keepable(claim, response)),
        this.settings.resultTtlSeconds * 1000,
      )
      .then((recorded) => {
        if (!recorded)
          this.logger.warn(
            'Outcome not recorded: the marker expired or changed hands while the handler ran',
          );
      })
      .catch((error: Error) =>
        this.logger.warn(
          `Outcome not recorded: ${error.message}; copies will see the token as used`,
        ),
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Only the status is kept when copies must not get the body. */
  private keepable(claim: Claim, response: StoredResponse): StoredResponse {
    const { body } = response;
    const replayable =
      claim.replay &&
      body !== undefined &&
      Buffer.byteLength(body) <= this.settings.maxStoredResponseBytes;
    return replayable ? response : { status: response.status, headers: {} };
  }
}
