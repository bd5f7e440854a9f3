import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { IDEMPOTENCY_SETTINGS, TOKEN_STORE } from '../idempotency.constants.js';
import type { IdempotencySettings } from '../idempotency.settings.js';
import type { TokenRef, TokenStore } from '../interfaces/token-store.interface.js';
import { captureResponse } from './response-capture.js';
import { encodeOutcome, type StoredResponse } from './stored-response.js';

/** What the interceptor hands to the recorder for a first use. */
export interface Claim {
  ref: TokenRef;
  owner: string;
  /** Whether copies may get the answer again; `false` keeps only the status. */
  replay: boolean;
  /** Lower-case names of the answer headers to keep for replays. */
  replayHeaders: readonly string[];
}

/**
 * Writes the first request's answer under its marker once it is sent, whoever rendered it:
 * the handler's return value, the app's own exception filters, `@Res()`. The write is not
 * awaited: the client gets its answer without waiting for Redis, and a copy that arrives in
 * between sees `REQUEST_IN_PROGRESS` and retries. Shutdown waits for the writes under way.
 *
 * With `minReplicas` the answer waits for the write and its replicas instead: an answer a
 * client has seen then survives a failover (its copies are replayed it), which is what the
 * setting is for. When they do not acknowledge it in time the answer leaves anyway (the handler
 * ran) and the warning says so.
 */
@Injectable()
export class OutcomeRecorder implements OnApplicationShutdown {
  private readonly logger = new Logger('Idempotency');
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    @Inject(TOKEN_STORE) private readonly store: TokenStore,
    @Inject(IDEMPOTENCY_SETTINGS) private readonly settings: IdempotencySettings,
  ) {}

  /** Records whatever `response` sends next as the outcome of the claimed token. */
  claim(response: object, claim: Claim): void {
    const rules = {
      headers: claim.replayHeaders,
      maxBodyBytes: this.settings.maxStoredResponseBytes,
    };
    captureResponse(response, rules, (answer) => this.record(claim, answer));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private record(claim: Claim, answer: StoredResponse): Promise<unknown> | void {
    const kept = claim.replay ? answer : { status: answer.status, headers: {} };
    const write = this.store
      .recordOutcome(
        claim.ref,
        claim.owner,
        encodeOutcome(kept),
        this.settings.resultTtlSeconds * 1000,
      )
      .then((recorded) => {
        if (!recorded) {
          this.logger.warn(
            'Outcome not recorded: the marker expired or changed hands while the handler ran',
          );
        }
      })
      .catch((error: Error) =>
        this.logger.warn(
          `Outcome write failed (${error.message}); copies may see the token as used`,
        ),
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
    if (this.settings.minReplicas > 0) return write;
  }
}
