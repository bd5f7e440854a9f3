import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { HttpAdapterHost } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { MAX_BODY_DEPTH, nestedDeeperThan } from './body-depth.js';
import { callerOf } from './caller.js';
import { fingerprintOf } from './fingerprint.js';
import {
  DOWNSTREAM_KEY_METADATA,
  rememberDownstreamKey,
} from './decorators/idempotency-key.decorator.js';
import { type IdempotentMetadata, idempotencyOf } from './decorators/idempotent-route.js';
import {
  IDEMPOTENCY_SETTINGS,
  KEY_EXPIRES_HEADER,
  NEXT_TOKEN_HEADER,
  PREFERENCE_APPLIED_HEADER,
  TOKEN_CONSUMED_HEADER,
  TOKEN_HEADER,
  TOKEN_STORE,
} from './idempotency.constants.js';
import { IdempotencyMetrics } from './idempotency.metrics.js';
import type { IdempotencySettings } from './idempotency.settings.js';
import type { Caller, IdempotencyRequest } from './interfaces/caller.interface.js';
import type {
  ConsumeCommand,
  ConsumeResult,
  KeyClaimCommand,
  KeyClaimResult,
  TokenRef,
  TokenStore,
} from './interfaces/token-store.interface.js';
import { KEY_HEADER, parseIdempotencyKey } from './keys/idempotency-key.js';
import {
  type LimiterPolicy,
  rateLimitHeaders,
  retryAfterSeconds,
} from './limiter/limiter-policy.js';
import { OutcomeRecorder } from './outcomes/outcome.recorder.js';
import { decodeOutcome } from './outcomes/stored-response.js';
import {
  idempotencyKeyInvalid,
  idempotencyKeyMissing,
  keyRateLimited,
  malformedRequest,
  payloadMismatch,
  requestInProgress,
  tokenInvalid,
  tokenMissing,
  tokenIssuedToOtherKindOfCaller,
  tokenUnknown,
  tokenUsed,
} from './problems/idempotency.problems.js';
import { preferencesOf } from './prefer-header.js';
import { ReplayException } from './problems/replay.exception.js';
import { TokenCodec } from './tokens/token-codec.js';

const CHECKED = Symbol('idempotency_module:checked');
/** Adds a preference to a replayed answer's `Preference-Applied` (a rotation's `next-token` may be there). */
function withPreferenceApplied(headers: Record<string, string>, preference: string): void {
  const name = PREFERENCE_APPLIED_HEADER.toLowerCase();
  headers[name] = headers[name] ? `${headers[name]}, ${preference}` : preference;
}

const ROTATION_HEADERS = [NEXT_TOKEN_HEADER.toLowerCase(), PREFERENCE_APPLIED_HEADER.toLowerCase()];

/** A handler's settings as the interceptor uses them, worked out once per handler. */
interface RouteSettings {
  scope?: string;
  keys: 'token' | 'client' | 'either';
  rotate: boolean;
  /** Whether the handler takes `@IdempotencyKey()`. */
  downstreamKey: boolean;
  /** The limiter policy of the scope: tokens are consumed from its bucket, keys counted in its window. */
  policy: LimiterPolicy;
  replay: boolean;
  replayHeaders: readonly string[];
}

/**
 * Lets a request into an `@Idempotent()` handler only with an unused token, which it deletes
 * first: one Lua script checks the token, deletes it and claims the outcome marker. Every
 * other answer (missing, invalid, unknown, copy) is thrown as a problem or a replay.
 *
 * An interceptor rather than a guard, on purpose: interceptors run after every guard, global,
 * controller or handler, in whatever order the decorators are written, so the app's
 * authentication has always set the user the token is bound to. Pipes (validation) still run
 * after it, as the contract says.
 *
 * Like `@nestjs/throttler`'s guard, what teams customise is in `protected` methods: extend the
 * class, override `getCaller()` (who is asking) or `getFingerprint()` (what makes two requests
 * the same), and name it in `@Idempotent({ interceptor: YourInterceptor })` (wrap that in a
 * decorator of your own to use it everywhere).
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- keyed by handler
  private readonly routes = new WeakMap<Function, RouteSettings | null>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    protected readonly codec: TokenCodec,
    private readonly recorder: OutcomeRecorder,
    private readonly metrics: IdempotencyMetrics,
    @Inject(TOKEN_STORE) private readonly store: TokenStore,
    @Inject(IDEMPOTENCY_SETTINGS) protected readonly settings: IdempotencySettings,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    await this.admit(context);
    return next.handle();
  }

  /** Resolves when the request may run its handler; throws every other answer. */
  private async admit(context: ExecutionContext): Promise<void> {
    const options = this.routeSettings(context);
    const http = context.switchToHttp(); // a new object and three closures per call
    const request = http.getRequest<IdempotencyRequest & { [CHECKED]?: true }>();
    // Installed twice on one handler (a class and a handler setting, or a subclass): consume once.
    if (!options || request[CHECKED]) return;
    request[CHECKED] = true;
    const response = http.getResponse<object>();
    const key = this.presentedKey(request, response, options.keys);
    if (nestedDeeperThan(request.body, MAX_BODY_DEPTH)) {
      throw malformedRequest(
        `The request body is nested deeper than ${MAX_BODY_DEPTH} levels. Nothing was consumed.`,
      );
    }

    const caller = this.getCaller(request);
    const owner = randomUUID(); // Node keeps a pool of these: no OpenSSL call per request
    const binding = this.codec.bindingOf(caller, options.scope);
    const fingerprint = this.fingerprintOrRefuse(request);
    const leaseMs = this.settings.inProgressTtlSeconds * 1000;
    const keepMs = this.settings.resultTtlSeconds * 1000;
    let command: ConsumeCommand | KeyClaimCommand;
    let next: TokenRef | undefined;
    if (key === undefined) {
      const ref = this.verifiedToken(request);
      if (!this.codec.sameKindOfCaller(ref, caller)) {
        this.metrics.tokenPresented(request, 'unknown');
        throw tokenIssuedToOtherKindOfCaller(caller.subject !== undefined);
      }
      if (options.rotate && preferencesOf(request).nextToken) next = this.codec.newRef(ref.tag);
      const ttlMs = this.settings.tokenTtlSeconds * 1000;
      command = {
        ref,
        bucket: options.policy.bucket,
        binding,
        fingerprint,
        owner,
        leaseMs,
        keepMs,
        next: next && { ref: next, ttlMs, limits: options.policy },
      };
    } else {
      const ref = this.codec.keyRefOf(caller, options.scope, key);
      command = { ref, limits: options.policy, binding, fingerprint, owner, leaseMs, keepMs };
    }
    const ref = command.ref;
    let result = await this.claim(command);
    // A copy of a request in progress that says Prefer: wait=N waits up to N s for its answer.
    const waited = result.state === 'in_progress' ? preferencesOf(request).waitSeconds : 0;
    if (waited > 0 && this.store.waitForOutcome) {
      await this.store.waitForOutcome(ref, waited * 1000);
      result = await this.claim(command);
      if (result.state !== 'in_progress')
        this.adapterHost.httpAdapter.setHeader(
          response,
          PREFERENCE_APPLIED_HEADER,
          `wait=${waited}`,
        );
    }
    if (key === undefined) {
      if (
        result.state === 'first' &&
        (result as ConsumeResult & { state: 'first' }).next?.granted
      ) {
        this.metrics.tokenIssued();
        this.adapterHost.httpAdapter.setHeader(
          response,
          NEXT_TOKEN_HEADER,
          this.codec.tokenOf(next!),
        );
        this.adapterHost.httpAdapter.setHeader(response, PREFERENCE_APPLIED_HEADER, 'next-token');
      }
      if (result.state === 'unknown') {
        this.metrics.tokenPresented(request, 'unknown');
        throw tokenUnknown();
      }
      this.adapterHost.httpAdapter.setHeader(response, TOKEN_CONSUMED_HEADER, 'true');
    } else if (result.state === 'rate') {
      const headers = rateLimitHeaders(options.policy, { remaining: 0, ...result });
      this.metrics.issueRefused('KEY_RATE_LIMITED');
      throw keyRateLimited(retryAfterSeconds(result.retryAfterMs), headers);
    }

    const credential = key === undefined ? 'token' : 'key';
    switch (result.state) {
      case 'first':
        this.metrics.tokenPresented(request, 'first_use');
        if (options.downstreamKey) rememberDownstreamKey(request, this.codec.downstreamKeyOf(ref));
        this.recorder.claim(response, {
          ref,
          owner,
          replay: options.replay,
          replayHeaders: options.replayHeaders,
        });
        return;
      case 'unknown': // a key's marker under another binding: the caller's own key, another scope's digest
      case 'mismatch':
        this.metrics.tokenPresented(request, 'mismatch');
        throw payloadMismatch(credential);
      case 'in_progress':
        this.metrics.tokenPresented(request, 'in_progress');
        throw requestInProgress(1, credential);
      case 'used':
        this.metrics.tokenPresented(request, 'used');
        throw tokenUsed(credential);
      case 'done': {
        const stored = decodeOutcome(result.outcome);
        if (options.replay && stored.body !== undefined) {
          this.metrics.tokenPresented(request, 'replay');
          if (waited > 0) withPreferenceApplied(stored.headers, `wait=${waited}`);
          throw new ReplayException(stored);
        }
        this.metrics.tokenPresented(request, 'used');
        throw tokenUsed(credential);
      }
    }
  }

  /**
   * The client-chosen key the request uses, or `undefined` when it uses a token. Refuses, before
   * anything is consumed, a key route's request without a valid key, and one that sends both.
   * Every answer on a key route says how long a key's record is kept (`Idempotency-Key-Expires`).
   */
  private presentedKey(
    request: IdempotencyRequest,
    response: object,
    keys: RouteSettings['keys'],
  ): string | undefined {
    if (keys === 'token') return undefined;
    const header = request.headers[KEY_HEADER];
    const hasToken = request.headers[TOKEN_HEADER] !== undefined;
    if (keys === 'either' && header === undefined) return undefined;
    this.adapterHost.httpAdapter.setHeader(
      response,
      KEY_EXPIRES_HEADER,
      String(this.settings.resultTtlSeconds),
    );
    if (header === undefined || header === '') {
      if (hasToken)
        throw idempotencyKeyInvalid('This operation takes an Idempotency-Key, not a token.');
      throw idempotencyKeyMissing();
    }
    if (hasToken)
      throw idempotencyKeyInvalid(
        'The request has both an Idempotency-Key and an Idempotency-Token; send one.',
      );
    const parsed = typeof header === 'string' ? parseIdempotencyKey(header) : undefined;
    if (!parsed || 'invalid' in parsed) {
      this.metrics.tokenPresented(request, 'invalid');
      throw idempotencyKeyInvalid(parsed?.invalid ?? 'The Idempotency-Key header was sent twice.');
    }
    return parsed.key;
  }

  /** One store call for either way in: a token's consume or a key's claim. */
  private claim(
    command: ConsumeCommand | KeyClaimCommand,
  ): Promise<ConsumeResult | KeyClaimResult> {
    return 'bucket' in command ? this.store.consume(command) : this.store.claimKey(command);
  }

  private verifiedToken(request: IdempotencyRequest): TokenRef {
    const header = request.headers[TOKEN_HEADER];
    if (header === undefined || header === '') throw tokenMissing();
    const ref = typeof header === 'string' ? this.codec.verify(header) : undefined;
    if (!ref) {
      this.metrics.tokenPresented(request, 'invalid');
      throw tokenInvalid();
    }
    return ref;
  }

  /** Who is asking: the subject (the module's `resolveSubject`) and the client address. */
  protected getCaller(request: IdempotencyRequest): Caller {
    return callerOf(request, this.settings.resolveSubject);
  }

  /**
   * What makes two requests the same request: by default the method, the URL as sent and the
   * body as canonical JSON. Throw to refuse a body that cannot be fingerprinted.
   */
  protected getFingerprint(request: IdempotencyRequest): string {
    return fingerprintOf(request.method, request.originalUrl ?? request.url, request.body);
  }

  private fingerprintOrRefuse(request: IdempotencyRequest): string {
    try {
      return this.getFingerprint(request);
    } catch (error) {
      throw malformedRequest(
        `The request body cannot be canonicalised: ${(error as Error).message}. Nothing was consumed.`,
      );
    }
  }

  private routeSettings(context: ExecutionContext): RouteSettings | undefined {
    const handler = context.getHandler();
    let route = this.routes.get(handler);
    if (route === undefined) {
      const metadata: IdempotentMetadata | undefined = idempotencyOf(handler, context.getClass());
      route = metadata
        ? {
            scope: metadata.scope,
            keys: metadata.keys ?? 'token',
            replay: metadata.replay,
            rotate: metadata.rotate ?? false,
            replayHeaders: [
              ...(metadata.replayHeaders ?? this.settings.replayHeaders),
              // A rotation's next token is part of the answer: every replay carries it.
              ...(metadata.rotate ? ROTATION_HEADERS : []),
            ],
            policy: this.settings.policyFor(metadata.scope),
            downstreamKey: Reflect.getMetadata(DOWNSTREAM_KEY_METADATA, handler) === true,
          }
        : null;
      this.routes.set(handler, route);
    }
    return route ?? undefined;
  }
}
