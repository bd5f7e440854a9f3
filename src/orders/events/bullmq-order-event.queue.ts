import { type BeforeApplicationShutdown, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { OrderPlaced } from './order-placed.event.js';
import { type OrderEventHandler, OrderEventQueue, REQUEUE_DELAY_MS } from './order-event-queue.js';

const QUEUE_NAME = 'order-events';
const JOB_NAME = 'order-placed';
/** A delivery that threw is tried again after 1 s, 2 s, 4 s, 8 s, then lands in the failed set. */
const ATTEMPTS = 5;
const BACKOFF_MS = 1_000;
/** Dead letters kept in the failed set for someone to look at; completed jobs are not kept. */
const KEPT_FAILED_JOBS = 1_000;
/**
 * How long shutdown waits for the consumer's running job (its store calls time out after 2 s),
 * then for publishes still on the wire, then for the connections to close politely, before it
 * cuts them: a Redis that does not answer must not hold the process after `app.close()`, and all
 * of it stays well within main.ts' 10 s grace.
 */
const RUNNING_JOB_WAIT_MS = 2_500;
const CLOSE_WAIT_MS = 1_000;

/** Resolves `true` when `work` settles within `ms`, `false` otherwise (the timer never holds the process). */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  timer!.unref();
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    late,
  ]);
  clearTimeout(timer);
  return settled;
}

/**
 * The queue on Redis: a BullMQ `Queue` that publishes and a `Worker` in this process that
 * consumes, each on a connection of its own that this class owns and closes (BullMQ's worker
 * blocks on its connection and needs `maxRetriesPerRequest: null`; the app's fail-fast client
 * suits neither). Jobs carry no id of their own, so BullMQ does not deduplicate them: a
 * republished event is delivered again and `runOnce` in the consumer is what makes it count once.
 */
export class BullmqOrderEventQueue
  extends OrderEventQueue
  implements BeforeApplicationShutdown, OnApplicationShutdown
{
  readonly kind = 'bullmq';
  private readonly logger = new Logger('OrderEvents');
  private readonly queue: Queue<OrderPlaced>;
  private worker?: Worker<OrderPlaced>;
  private readonly publishing = new Set<Promise<unknown>>();
  /** The consumer's runs in progress: shutdown waits for them, not for BullMQ's polite close. */
  private readonly handling = new Set<Promise<unknown>>();
  /** Log an outage once, not once per reconnect or per command. */
  private down = false;

  /**
   * `producer`: fail-fast options (a publish during an outage fails at once and is logged);
   * `consumer`: `maxRetriesPerRequest: null`. `prefix`: one hash tag on Redis Cluster, so that
   * every key of the queue is in one slot.
   */
  constructor(
    private readonly producer: Redis | Cluster,
    private readonly consumer: Redis | Cluster,
    private readonly prefix: string,
  ) {
    super();
    for (const client of [producer, consumer]) {
      client.on('error', (error: Error) => this.reportDown(error));
      client.on('ready', () => this.reportUp());
    }
    this.queue = new Queue<OrderPlaced>(QUEUE_NAME, {
      connection: producer,
      prefix,
      defaultJobOptions: {
        attempts: ATTEMPTS,
        backoff: { type: 'exponential', delay: BACKOFF_MS },
        removeOnComplete: true,
        removeOnFail: KEPT_FAILED_JOBS,
      },
    });
    this.queue.on('error', (error: Error) => this.reportDown(error));
  }

  async publish(event: OrderPlaced): Promise<void> {
    const adding = this.queue.add(JOB_NAME, event);
    this.publishing.add(adding);
    try {
      await adding;
    } finally {
      this.publishing.delete(adding);
    }
  }

  consume(handler: OrderEventHandler): void {
    if (this.worker) throw new Error('BullmqOrderEventQueue: one consumer only');
    this.worker = new Worker<OrderPlaced>(
      QUEUE_NAME,
      async (job: Job<OrderPlaced>, token?: string) => {
        const handling = handler(job.data);
        this.handling.add(handling);
        const delivery = await handling.finally(() => this.handling.delete(handling));
        if (delivery === 'requeue') {
          // Back to the delayed set without spending one of the job's attempts.
          await job.moveToDelayed(Date.now() + REQUEUE_DELAY_MS, token);
          throw new DelayedError();
        }
        if (delivery === 'dead_letter')
          throw new UnrecoverableError('dead-lettered by the consumer');
      },
      { connection: this.consumer, prefix: this.prefix },
    );
    this.worker.on('error', (error: Error) => this.reportDown(error));
    this.worker.on('failed', (job, error) => {
      if (!job) return;
      const final = error instanceof UnrecoverableError || job.attemptsMade >= ATTEMPTS;
      if (final)
        this.logger.error(
          `Order placed event for order ${job.data.orderId} dead-lettered (${error.message}): job ${job.id} in the failed set`,
        );
      else
        this.logger.warn(
          `Order placed event for order ${job.data.orderId} failed (${error.message}); BullMQ retries it`,
        );
    });
  }

  /**
   * Stops consuming before the app's Redis (the token store a running job records in) is
   * closed: no job is fetched any more, the running one finishes, queued ones wait in Redis for
   * the next start. The worker is closed with `force`: its blocking fetch is cut at once instead
   * of waiting on a Redis that may not answer; a job whose completion is lost with it is
   * redelivered by BullMQ's stalled check, and `runOnce` takes it for a duplicate. Events the
   * draining HTTP requests publish still reach Redis (the producer closes last).
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.worker) return;
    await within(this.worker.close(true), CLOSE_WAIT_MS);
    if (!(await within(Promise.all(this.handling), RUNNING_JOB_WAIT_MS)))
      this.logger.warn(`An order confirmation still running after ${RUNNING_JOB_WAIT_MS} ms: cut`);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!(await within(Promise.all(this.publishing), CLOSE_WAIT_MS)))
      this.logger.warn(`${this.publishing.size} order placed event(s) not queued: Redis too slow`);
    await within(this.queue.close(), CLOSE_WAIT_MS);
    // BullMQ leaves connections it was given open: they are ours to close (politely when they
    // are up, so that what is still on the wire is sent; a connection that is down has nothing
    // to send and would only wait for its next reconnect).
    const clients = [this.producer, this.consumer];
    const quitting = clients.map((client) =>
      client.status === 'ready' ? client.quit() : client.disconnect(),
    );
    if (!(await within(Promise.all(quitting), CLOSE_WAIT_MS)))
      for (const client of clients) client.disconnect();
  }

  private reportDown(error: Error): void {
    if (this.down) return;
    this.down = true;
    this.logger.error(`Order events queue: Redis unreachable (${error.message})`);
  }

  private reportUp(): void {
    if (this.down) this.logger.log('Order events queue: Redis connection restored');
    this.down = false;
  }
}
