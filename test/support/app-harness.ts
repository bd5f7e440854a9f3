import type { DynamicModule, INestApplication, LoggerService } from '@nestjs/common';
import request from 'supertest';
import type { DestinationStream } from 'pino';
import { AppModule } from '../../src/app.module.js';
import { type AdapterKind, createApp } from '../../src/app.setup.js';
import type { HttpLimits } from '../../src/http/fastify-adapter.js';
import { loadConfig } from '../../src/config/app-config.js';

export const ADAPTERS: AdapterKind[] = ['fastify', 'express'];

/** One secret for every instance a test starts, as in production. */
export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export interface RunningApp {
  app: INestApplication;
  /** `http://127.0.0.1:PORT` */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  adapter?: AdapterKind;
  /** Receives every Nest log line; default: silent. */
  logger?: LoggerService;
  /** Receives the service's JSON log lines (set LOG_LEVEL too); default: none. */
  logDestination?: DestinationStream;
  /** Short time-outs for tests of slow clients; default: the contract's. */
  http?: Partial<HttpLimits>;
}

/** Starts any root module on a free loopback port, set up exactly as `main.ts` sets up the service. */
export async function startModule(
  rootModule: DynamicModule,
  options: StartOptions & { trustProxy?: boolean | number | string[] } = {},
): Promise<RunningApp> {
  const app = await createApp(rootModule, {
    adapter: options.adapter,
    trustProxy: options.trustProxy,
    logger: options.logger ?? false,
    http: options.http,
  });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return { app, url, close: () => app.close() };
}

/**
 * Starts the service itself with this environment (the contract's variables) on top of a test secret,
 * silent request logs, and limits high enough to stay out of the way of tests that are not
 * about the limiter.
 */
export async function startService(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<RunningApp> {
  const config = loadConfig({
    TOKEN_SECRET: TEST_SECRET,
    TOKEN_RATE_LIMIT: '100000',
    TOKEN_MAX_OUTSTANDING: '100000',
    LOG_LEVEL: 'silent',
    ...env,
  });
  return startModule(AppModule.forRoot(config, options.logDestination), {
    ...options,
    trustProxy: config.trustProxy,
    http: { maxConnectionsPerAddress: config.maxConnectionsPerAddress, ...options.http },
  });
}

export interface TokenOptions {
  scope?: string;
  ttl?: number;
  apiKey?: string;
}

/** `GET /tokens`, expecting 200; returns the token. */
export async function fetchToken(
  url: string,
  { scope, ttl, apiKey }: TokenOptions = {},
): Promise<string> {
  const query: Record<string, string> = {};
  if (scope !== undefined) query.scope = scope;
  if (ttl !== undefined) query.ttl = String(ttl);
  const call = request(url).get('/tokens').query(query);
  if (apiKey) call.set('Authorization', `Bearer ${apiKey}`);
  const response = await call;
  if (response.status !== 200)
    throw new Error(`GET /tokens answered ${response.status}: ${response.text}`);
  return response.body.token as string;
}

/** `POST /orders` with this token and a small valid order, as the tests of store faults send it. */
export const placeOrder = (url: string, token: string, order = { item: 'a', quantity: 1 }) =>
  request(url).post('/orders').set('Idempotency-Token', token).send(order);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects everything the app logs, to check what must never be in it. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(...parts: unknown[]) {
    this.lines.push(stringify(parts));
  }
  error(...parts: unknown[]) {
    this.lines.push(stringify(parts));
  }
  warn(...parts: unknown[]) {
    this.lines.push(stringify(parts));
  }
  debug(...parts: unknown[]) {
    this.lines.push(stringify(parts));
  }
  verbose(...parts: unknown[]) {
    this.lines.push(stringify(parts));
  }
  fatal(...parts: unknown[]) {
    this.lines.push(stringify(parts));
  }
}

function stringify(parts: unknown[]): string {
  return parts
    .map((part) =>
      part instanceof Error
        ? `${part.message}\n${part.stack}`
        : typeof part === 'string'
          ? part
          : JSON.stringify(part),
    )
    .join(' ');
}
