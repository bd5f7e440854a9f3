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

/** How often an outcome write the replicas did not confirm is tried again (with `minReplicas`). */
const RETRY_EVERY_MS = 250;

/**
 * Writes the first request's answer under its marker once it is sent, whoever rendered it:
 * the handler's return value, the app's own exception filters, `@Res()`. The write is not
 * awaited: the client gets its answer without waiting for Redis, and a copy that arrives in
 * between sees `REQUEST_IN_PROGRESS` and retries. Shutdown waits for the writes under way.
 *
 * With `minReplicas` the answer waits for the write and its replicas instead: an answer a
 * client has seen then survives a failover (its copies are replayed it), which is what the
 * setting is for. When they do not confirm it in time (replicas behind, the primary died) the
 * answer leaves anyway, since the handler ran, and the write is tried again in the background
 * until its lease ends: the claim was on a replica before the handler ran, so a promoted
 * replica still holds it as this request's, and the outcome can be written there; until then
 * copies are told the request is in progress.
 */
@Injectable()
export class OutcomeRecorder implements OnApplicationShutdown {
  private readonly logger = new Logger('Idempotency');
  /**
   * Writes under way, counted, and what shutdown waits on once it waits. Not a Set of them: a
   * Set that every first use enters and leaves is copied into new tables as it churns, and the
   * old tables, left in the old generation, keep what they pointed at alive through every
   * scavenge until a full collection (docs/PERFORMANCE.md, third pass).
   */
  private writing = 0;
  private drained?: () => void;
  private readonly writeEnded = (): void => {
    if (--this.writing === 0) this.drained?.();
  };
  /** Set at shutdown: retries stop, so that shutdown waits for one attempt at most. */
  private closing = false;

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
    this.closing = true;
    if (this.writing > 0) await new Promise<void>((resolve) => (this.drained = resolve));
  }

  private record(claim: Claim, answer: StoredResponse): Promise<unknown> | void {
    const kept = claim.replay ? answer : { status: answer.status, headers: {} };
    const outcome = encodeOutcome(kept);
    const first = this.write(claim, outcome);
    const written: Promise<unknown> =
      this.settings.minReplicas > 0
        ? first.then((done) => (done ? undefined : this.retry(claim, outcome)))
        : first;
    this.writing += 1;
    written.then(this.writeEnded, this.writeEnded);
    // The answer waits for the first attempt only; the retries go on behind it.
    if (this.settings.minReplicas > 0) return first;
  }

  /** One attempt; false when it should be tried again (the store failed). */
  private async write(claim: Claim, outcome: string, retrying = false): Promise<boolean> {
    try {
      const recorded = await this.store.recordOutcome(
        claim.ref,
        claim.owner,
        outcome,
        this.settings.resultTtlSeconds * 1000,
      );
      // On a retry, not recorded is what an earlier attempt that did reach Redis leaves.
      if (!recorded && !retrying)
        this.logger.warn(
          'Outcome not recorded: the marker expired or changed hands while the handler ran',
        );
      return true;
    } catch (error) {
      if (!retrying)
        this.logger.warn(
          `Outcome write failed (${(error as Error).message}); copies may see the token as used` +
            (this.settings.minReplicas > 0 ? ' unless a retry succeeds' : ''),
        );
      return false;
    }
  }

  private async retry(claim: Claim, outcome: string): Promise<void> {
    const until = Date.now() + this.settings.inProgressTtlSeconds * 1000;
    while (!this.closing && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
      if (await this.write(claim, outcome, true)) return;
    }
    this.logger.warn('Outcome write given up: copies will see the token as used');
  }
}
