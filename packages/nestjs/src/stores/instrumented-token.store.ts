import type { IdempotencyMetrics } from '../idempotency.metrics.js';
import type {
  ClaimCommand,
  ClaimResult,
  ConsumeCommand,
  ConsumeResult,
  IssueCommand,
  IssueResult,
  KeyClaimCommand,
  KeyClaimResult,
  TokenRef,
  TokenStore,
} from '../interfaces/token-store.interface.js';

/** Any {@link TokenStore}, with each call's latency in `idempotency_store_duration_seconds`. */
export class InstrumentedTokenStore implements TokenStore {
  constructor(
    private readonly store: TokenStore,
    private readonly metrics: IdempotencyMetrics,
  ) {}

  issue(command: IssueCommand): Promise<IssueResult> {
    return this.metrics.timeStore('issue', () => this.store.issue(command));
  }

  consume(command: ConsumeCommand): Promise<ConsumeResult> {
    return this.metrics.timeStore('consume', () => this.store.consume(command));
  }

  recordOutcome(ref: TokenRef, owner: string, outcome: string, keepMs: number): Promise<boolean> {
    return this.metrics.timeStore('record_outcome', () =>
      this.store.recordOutcome(ref, owner, outcome, keepMs),
    );
  }

  claimKey(command: KeyClaimCommand): Promise<KeyClaimResult> {
    return this.metrics.timeStore('claim_key', () => this.store.claimKey(command));
  }

  claim(command: ClaimCommand): Promise<ClaimResult> {
    return this.metrics.timeStore('claim', () => this.store.claim(command));
  }

  release(ref: TokenRef, owner: string): Promise<boolean> {
    return this.metrics.timeStore('release', () => this.store.release(ref, owner));
  }

  ping(): Promise<void> {
    return this.metrics.timeStore('ping', () => this.store.ping());
  }

  /** Not timed: its duration is the first request's, not the store's. */
  get waitForOutcome(): TokenStore['waitForOutcome'] {
    return this.store.waitForOutcome?.bind(this.store);
  }

  async close(): Promise<void> {
    await this.store.close?.();
  }
}
