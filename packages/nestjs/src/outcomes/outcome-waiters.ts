/**
 * Copies waiting for the first request's outcome (`Prefer: wait`), by marker: each resolves
 * when the outcome is announced or when its own time is up, whichever comes first. Nothing is
 * held per waiter but a timer: no connection, no polling.
 */
export class OutcomeWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves on `announce(marker)` or after `timeoutMs`. */
  wait(marker: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(marker) ?? new Set<() => void>();
      this.waiting.set(marker, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiting.get(marker) === waiters) this.waiting.delete(marker);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      waiters.add(done);
    });
  }

  announce(marker: string): void {
    for (const done of [...(this.waiting.get(marker) ?? [])]) done();
  }

  /** Lets every waiter go (at shutdown). */
  releaseAll(): void {
    for (const marker of [...this.waiting.keys()]) this.announce(marker);
  }
}
