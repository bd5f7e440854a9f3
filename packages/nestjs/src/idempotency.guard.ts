import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { callerOf } from './caller.js';
import { fingerprintOf } from './fingerprint.js';
import {
  IDEMPOTENCY_SETTINGS,
  IDEMPOTENT_METADATA,
  TOKEN_CONSUMED_HEADER,
  TOKEN_HEADER,
  TOKEN_STORE,
} from './idempotency.constants.js';
import { IdempotencyMetrics } from './idempotency.metrics.js';
import type { IdempotencySettings } from './idempotency.settings.js';
import type { IdempotentOptions } from './interfaces/idempotent-options.interface.js';
import type { TokenRef, TokenStore } from './interfaces/token-store.interface.js';
import { decodeOutcome, OutcomeRecorder } from './outcome.recorder.js';
import {
  malformedRequest,
  payloadMismatch,
  requestInProgress,
  tokenInvalid,
  tokenMissing,
  tokenUnknown,
  tokenUsed,
} from './problems/idempotency.problems.js';
import { ReplayException } from './problems/replay.exception.js';
import { TokenCodec } from './tokens/token-codec.js';

interface HttpRequest {
  method: string;
  url: string;
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

const CHECKED = Symbol('idempotency_module:checked');

/**
 * Lets a request into an `@Idempotent()` handler only with an unused token, which it deletes
 * first: one Lua script checks the token, deletes it and claims the outcome marker. Every
 * other answer (missing, invalid, unknown, copy) is thrown as a problem or a replay.
 */
@Injectable()
export class IdempotencyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    private readonly codec: TokenCodec,
    private readonly recorder: OutcomeRecorder,
    private readonly metrics: IdempotencyMetrics,
    @Inject(TOKEN_STORE) private readonly store: TokenStore,
    @Inject(IDEMPOTENCY_SETTINGS) private readonly settings: IdempotencySettings,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const options = this.reflector.getAllAndOverride<Required<IdempotentOptions> | undefined>(
      IDEMPOTENT_METADATA,
      [context.getHandler(), context.getClass()],
    );
    const request = context.switchToHttp().getRequest<HttpRequest & { [CHECKED]?: true }>();
    // @Idempotent() on both a controller and its handler installs this guard twice: consume once.
    if (!options || request[CHECKED]) return true;
    request[CHECKED] = true;

    const ref = this.verifiedToken(request);
    const caller = callerOf(request, this.settings.resolveSubject);
    const owner = randomUUID(); // Node keeps a pool of these: no OpenSSL call per request
    const result = await this.store.consume({
      ref,
      owner,
      bucket: this.settings.policyFor(options.scope).bucket,
      binding: this.codec.bindingOf(caller, options.scope),
      fingerprint: this.fingerprint(request),
      leaseMs: this.settings.inProgressTtlSeconds * 1000,
      keepMs: this.settings.resultTtlSeconds * 1000,
    });
    if (result.state === 'unknown') {
      this.metrics.tokenPresented(request, 'unknown');
      throw tokenUnknown();
    }

    this.adapterHost.httpAdapter.setHeader(
      context.switchToHttp().getResponse(),
      TOKEN_CONSUMED_HEADER,
      'true',
    );
    switch (result.state) {
      case 'first':
        this.metrics.tokenPresented(request, 'first_use');
        this.recorder.claim(request, { ref, owner, replay: options.replay });
        return true;
      case 'mismatch':
        this.metrics.tokenPresented(request, 'mismatch');
        throw payloadMismatch();
      case 'in_progress':
        this.metrics.tokenPresented(request, 'in_progress');
        throw requestInProgress(1);
      case 'used':
        this.metrics.tokenPresented(request, 'used');
        throw tokenUsed();
      case 'done': {
        const stored = decodeOutcome(result.outcome);
        if (options.replay && stored.body !== undefined) {
          this.metrics.tokenPresented(request, 'replay');
          throw new ReplayException(stored);
        }
        this.metrics.tokenPresented(request, 'used');
        throw tokenUsed();
      }
    }
  }

  private verifiedToken(request: HttpRequest): TokenRef {
    const header = request.headers[TOKEN_HEADER];
    if (header === undefined || header === '') throw tokenMissing();
    const ref = typeof header === 'string' ? this.codec.verify(header) : undefined;
    if (!ref) {
      this.metrics.tokenPresented(request, 'invalid');
      throw tokenInvalid();
    }
    return ref;
  }

  private fingerprint(request: HttpRequest): string {
    try {
      return fingerprintOf(request.method, request.originalUrl ?? request.url, request.body);
    } catch (error) {
      throw malformedRequest(
        `The request body cannot be canonicalised: ${(error as Error).message}. Nothing was consumed.`,
      );
    }
  }
}
