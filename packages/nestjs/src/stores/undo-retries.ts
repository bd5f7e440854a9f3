/** How often undos that could not be delivered are tried again. */
const RETRY_EVERY_MS = 250;

/**
 * Most undos waiting at once: past that, an outage long enough to pile them up loses the oldest
 * (each such token then stays consumed until its lease ends), and memory stays bounded.
 */
const MAX_WAITING = 10_000;

interface Waiting {
  undo: () => Promise<unknown>;
  until: number;
}

/**
 * Undos of claims whose answer was lost with the connection: Redis may have run the claim (and
 * a replica may have it, to be promoted), so the undo is tried until Redis answers it, or until
 * the claim's lease ends. One timer for all of them, and while Redis does not answer only one
 * undo is tried per tick: an outage costs a probe every {@link RETRY_EVERY_MS}, not one per
 * waiting request.
 */
export class UndoRetries {
  private readonly waiting: Waiting[] = [];
  private timer?: NodeJS.Timeout;
  /** A tick's undos may take a command time-out; the next tick waits for them. */
  private busy = false;

  /** Runs `undo` now; when it fails, again every tick while `forMs` lasts. */
  add(undo: () => Promise<unknown>, forMs: number): void {
    const entry = { undo, until: Date.now() + forMs };
    undo().catch(() => {
      if (this.waiting.push(entry) > MAX_WAITING) this.waiting.shift();
      this.timer ??= setInterval(() => void this.tick(), RETRY_EVERY_MS).unref();
    });
  }

  close(): void {
    this.waiting.length = 0;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.retry();
    } finally {
      this.busy = false;
    }
  }

  private async retry(): Promise<void> {
    const now = Date.now();
    while (this.waiting.length > 0 && this.waiting[0].until < now) this.waiting.shift();
    const next = this.waiting[0];
    if (!next) return this.close();
    try {
      await next.undo();
    } catch {
      return; // still unreachable: the others wait for the next tick
    }
    this.waiting.splice(this.waiting.indexOf(next), 1);
    // Reachable again: the rest go now, together.
    const rest = this.waiting.splice(0);
    const failed = await Promise.all(
      rest.map((entry) =>
        entry.undo().then(
          () => undefined,
          () => entry,
        ),
      ),
    );
    this.waiting.unshift(...failed.filter((entry) => entry !== undefined));
  }
}
