import { performance } from 'node:perf_hooks';
import type * as PromClient from 'prom-client';
import { importOptionalPeer } from './optional-peer.js';

/** How a message delivery fared: the `outcome` label of `idempotency_messages_total`. */
export type MessageOutcome = 'ran' | 'duplicate' | 'in_progress' | 'crashed';

/** How a presented token fared: the `outcome` label of `idempotency_tokens_consumed_total`. */
export type ConsumeOutcome =
  'first_use' | 'replay' | 'in_progress' | 'used' | 'unknown' | 'invalid' | 'mismatch';

const OUTCOME = Symbol('idempotency_module:outcome');
type Annotated = { [OUTCOME]?: ConsumeOutcome; raw?: Annotated };

/**
 * The outcome of the token a request presented, for request loggers. It is kept on the Node
 * request (Fastify's `request.raw`), which is what request loggers on the HTTP server and Express middleware see.
 */
export function idempotencyOutcomeOf(request: object): ConsumeOutcome | undefined {
  return (request as Annotated)[OUTCOME] ?? (request as Annotated).raw?.[OUTCOME];
}

/**
 * A metric's child for one label value, made on first use and kept: prom-client hashes the
 * labels on every call otherwise. The label values come from small fixed sets.
 */
function childrenOf<T>(make: (value: string) => T): (value: string) => T {
  const children = new Map<string, T>();
  return (value) => {
    let child = children.get(value);
    if (child === undefined) children.set(value, (child = make(value)));
    return child;
  };
}

/** What the module's metrics registry offers, as prom-client's `Registry` does; apps with prom-client may use it as one. */
export interface MetricsRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/**
 * The module's Prometheus metrics, when the app installed `prom-client`; without it every
 * method only does what the request log needs. They live in a registry of their own so that
 * several apps (or test instances) in one process never collide; an app exposes it next to its
 * own, e.g. `Registry.merge([appRegistry, metrics.registry as Registry])`.
 */
export class IdempotencyMetrics {
  /** A prom-client `Registry`; `undefined` when `prom-client` is not installed. */
  readonly registry?: MetricsRegistry;
  private readonly issued?: PromClient.Counter;
  private readonly consumed?: (outcome: ConsumeOutcome) => PromClient.Counter.Internal;
  private readonly refusals?: (code: string) => PromClient.Counter.Internal;
  private readonly messages?: (outcome: MessageOutcome) => PromClient.Counter.Internal;
  private readonly storeDuration?: (
    operation: string,
  ) => PromClient.Histogram.Internal<'operation'>;

  /** Loads `prom-client` if the app has it; the module's provider for this class. */
  static async create(): Promise<IdempotencyMetrics> {
    return new IdempotencyMetrics(
      await importOptionalPeer('prom-client', () => import('prom-client')),
    );
  }

  // Private, so that the published types never name prom-client: apps without it must compile.
  private constructor(prom?: typeof PromClient) {
    if (!prom) return;
    const registers = [(this.registry = new prom.Registry())];
    this.issued = new prom.Counter({
      name: 'idempotency_tokens_issued_total',
      help: 'Tokens issued by GET /tokens',
      registers,
    });
    /** A counter with one label, as a function from the label's value to its child. */
    const labelledCounter = (name: string, help: string, label: string) => {
      const counter = new prom.Counter({ name, help, labelNames: [label], registers });
      return childrenOf((value) => counter.labels({ [label]: value }));
    };
    this.consumed = labelledCounter(
      'idempotency_tokens_consumed_total',
      'Tokens presented to @Idempotent() handlers, by outcome',
      'outcome',
    );
    this.refusals = labelledCounter(
      'idempotency_limiter_refusals_total',
      'GET /tokens requests refused by the limiter, by problem code',
      'code',
    );
    this.messages = labelledCounter(
      'idempotency_messages_total',
      'Message deliveries handled by runOnce, by outcome',
      'outcome',
    );
    const storeDuration = new prom.Histogram({
      name: 'idempotency_store_duration_seconds',
      help: 'Token store call latency, by operation',
      labelNames: ['operation'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.storeDuration = childrenOf((operation) => storeDuration.labels({ operation }));
  }

  tokenIssued(): void {
    this.issued?.inc();
  }

  /** Counts how a token fared and notes it on the request for the request log. */
  tokenPresented(request: object, outcome: ConsumeOutcome): void {
    this.consumed?.(outcome).inc();
    ((request as Annotated).raw ?? (request as Annotated))[OUTCOME] = outcome;
  }

  /** Counts how a message delivery fared (`runOnce`). */
  messageHandled(outcome: MessageOutcome): void {
    this.messages?.(outcome).inc();
  }

  issueRefused(code: string): void {
    this.refusals?.(code).inc();
  }

  /** Times a store call, whether it resolves or rejects. */
  async timeStore<T>(operation: string, call: () => Promise<T>): Promise<T> {
    if (!this.storeDuration) return call();
    const histogram = this.storeDuration(operation);
    const started = performance.now();
    try {
      return await call();
    } finally {
      histogram.observe((performance.now() - started) / 1000);
    }
  }
}
