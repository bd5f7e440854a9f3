import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIObject } from '@nestjs/swagger';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request, { type Response } from 'supertest';
import { AppModule } from '../src/app.module.js';
import { loadConfig } from '../src/config/app-config.js';
import { buildOpenApiDocument } from '../src/openapi.js';
import { generateClient } from '@idempotency-tokens/client/generate';
import { type RunningApp, fetchToken, startModule, startService } from './support/app-harness.js';
import { run } from './support/consumers.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document is walked by path, as JSON
type Operation = Record<string, any>;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);
const readCommitted = (): OpenAPIObject =>
  JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8')) as OpenAPIObject;

const operationOf = (document: OpenAPIObject, path: string, method: string): Operation =>
  (document.paths[path] as Record<string, Operation>)[method];
const operationsOf = (document: OpenAPIObject): [string, string, Operation][] =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Operation>).map(
      ([method, op]) => [path, method, op] as [string, string, Operation],
    ),
  );
const codesOf = (op: Operation, status: string): string[] =>
  op.responses[status].content['application/problem+json'].schema.properties.code.enum;
const headersOf = (op: Operation, status: string): string[] =>
  Object.keys(op.responses[status].headers ?? {});

/** Writes `files` into a fresh directory with a strict NodeNext tsconfig and type-checks them all. */
async function compiles(dir: string, files: Record<string, string>): Promise<void> {
  const compilerOptions = {
    strict: true,
    noEmit: true,
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    lib: ['ES2022', 'DOM', 'DOM.Iterable'],
    types: [],
    skipLibCheck: false,
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  await run(bin('tsc'), ['-p', dir], dir).catch((error: Error) => {
    // tsc names only line and column: show the lines of the checks.
    const lines = files['check.ts'].split('\n').map((line, i) => `${i + 1}: ${line}`);
    error.message += `\ncheck.ts:\n${lines.join('\n')}`;
    throw error;
  });
}

/** A type-level equality that fails to compile, naming the line, when `A` is not exactly `B`. */
const EXACT = 'type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;\n';

describe('the OpenAPI document', () => {
  let service: RunningApp;
  let document: OpenAPIObject;

  beforeAll(async () => {
    service = await startModule(AppModule.forRoot(loadConfig({ LOG_LEVEL: 'silent' })));
    document = buildOpenApiDocument(service.app);
  });
  afterAll(async () => {
    await service.close();
  });

  const operation = (path: string, method: string) => operationOf(document, path, method);

  it('matches the committed openapi.json (refresh it with `npm run openapi:export`)', () => {
    try {
      expect(JSON.parse(JSON.stringify(document))).toEqual(readCommitted());
    } catch (error) {
      (error as Error).message =
        `openapi.json is out of date: run \`npm run openapi:export\` (and \`npm run client:generate\`) and commit the result.\n\n${(error as Error).message}`;
      throw error;
    }
  });

  it('has generated the committed client from openapi.json (refresh it with `npm run client:generate`)', async () => {
    for (const [file, text] of Object.entries(await generateClient(readCommitted()))) {
      if (readFileSync(join(ROOT, 'client', file), 'utf8') !== text) {
        throw new Error(
          `client/${file} is out of date: run \`npm run client:generate\` and commit the result.`,
        );
      }
    }
  });

  it('is served at /docs-json, with Swagger UI at /docs', async () => {
    const json = await request(service.url).get('/docs-json');
    expect(json.status).toBe(200);
    expect(json.body).toEqual(JSON.parse(JSON.stringify(document)));
    const ui = await request(service.url).get('/docs');
    expect(ui.status).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    expect(ui.text).toContain('swagger-ui');
  });

  it('documents every answer under its exact status: no status range anywhere', () => {
    for (const [path, method, op] of operationsOf(document)) {
      for (const status of Object.keys(op.responses)) {
        expect(`${method} ${path} ${status}`).toMatch(/ (\d{3}|default)$/);
      }
    }
  });

  const ROTATION = ['Idempotency-Token-Next', 'Preference-Applied'];

  it.each([
    [
      '/orders',
      'post',
      { token: 'required', scope: 'orders.create', replay: true, rotate: true },
      '201',
      ['Location', 'Idempotency-Token-Consumed', 'Idempotent-Replayed', ...ROTATION],
    ],
    [
      '/orders/{id}/cancel',
      'post',
      { token: 'required', scope: null, replay: false },
      '200',
      ['Idempotency-Token-Consumed'],
    ],
  ])(
    'declares everything @Idempotent() does on %s, the token headers on its %s success',
    (path, method, extension, success, successHeaders) => {
      const op = operation(path, method);
      expect(op['x-idempotency']).toEqual(extension);
      expect(op.parameters).toContainEqual(
        expect.objectContaining({ name: 'Idempotency-Token', in: 'header', required: true }),
      );
      if ('rotate' in extension)
        expect(op.parameters).toContainEqual(
          expect.objectContaining({ name: 'Prefer', in: 'header', required: false }),
        );
      expect(headersOf(op, success)).toEqual(successHeaders);
      expect(codesOf(op, '400')).toEqual([
        'TOKEN_MISSING',
        'TOKEN_INVALID',
        'TOKEN_UNKNOWN',
        'MALFORMED_REQUEST',
        'VALIDATION_FAILED',
      ]);
      // VALIDATION_FAILED is the first use's outcome: consumed, and replayed only with replay on.
      expect(headersOf(op, '400')).toEqual(
        successHeaders.filter((name) => name !== 'Location' && !ROTATION.includes(name)),
      );
      expect(codesOf(op, '409')).toEqual(['REQUEST_IN_PROGRESS', 'TOKEN_USED']);
      expect(headersOf(op, '409')).toEqual(['Retry-After', 'Idempotency-Token-Consumed']);
      expect(codesOf(op, '413')).toEqual(['PAYLOAD_TOO_LARGE']);
      expect(codesOf(op, '415')).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
      expect(headersOf(op, '415')).toEqual([]);
      expect(codesOf(op, '422')).toEqual(['PAYLOAD_MISMATCH']);
      expect(headersOf(op, '422')).toEqual(['Idempotency-Token-Consumed']);
      expect(codesOf(op, '503')).toEqual(['STORE_UNAVAILABLE']);
      expect(headersOf(op, '503')).toEqual(['Retry-After']);
      expect(codesOf(op, '401')).toEqual(['UNAUTHENTICATED']);
      expect(headersOf(op, '401')).toEqual(['WWW-Authenticate']);
    },
  );

  it('declares the client-chosen key of POST /payments: its header, x-idempotency, every answer', () => {
    const op = operation('/payments', 'post');
    expect(op['x-idempotency']).toEqual({
      token: 'none',
      key: 'required',
      scope: 'payments.create',
      replay: true,
    });
    const names = op.parameters.map((parameter: { name: string }) => parameter.name);
    expect(names).toContain('Idempotency-Key');
    expect(names).not.toContain('Idempotency-Token');
    expect(op.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }),
    );
    expect(headersOf(op, '201')).toEqual([
      'Location',
      'Idempotent-Replayed',
      'Idempotency-Key-Expires',
    ]);
    expect(codesOf(op, '400')).toEqual([
      'IDEMPOTENCY_KEY_MISSING',
      'IDEMPOTENCY_KEY_INVALID',
      'MALFORMED_REQUEST',
      'VALIDATION_FAILED',
    ]);
    expect(codesOf(op, '409')).toEqual(['REQUEST_IN_PROGRESS', 'TOKEN_USED']);
    expect(headersOf(op, '409')).toEqual(['Retry-After', 'Idempotency-Key-Expires']);
    expect(codesOf(op, '422')).toEqual(['PAYLOAD_MISMATCH']);
    expect(codesOf(op, '429')).toEqual(['KEY_RATE_LIMITED']);
    expect(headersOf(op, '429')).toEqual([
      'Retry-After',
      'RateLimit-Policy',
      'RateLimit',
      'Idempotency-Key-Expires',
    ]);
  });

  it.each([
    ['/tokens', 'get', ['200', '400', '401', '429', '503', 'default']],
    ['/orders', 'post', ['201', '400', '401', '409', '413', '415', '422', '503', 'default']],
    [
      '/orders/{id}/cancel',
      'post',
      ['200', '400', '401', '404', '409', '413', '415', '422', '503', 'default'],
    ],
    ['/health', 'get', ['200', '503', 'default']],
    ['/metrics', 'get', ['200', 'default']],
  ])('lists every answer %s can give', (path, method, statuses) => {
    expect(Object.keys(operation(path, method).responses).sort()).toEqual(statuses);
  });

  it("lists the HTTP layer's refusals under default, as problem details", () => {
    for (const [, , op] of operationsOf(document)) {
      expect(codesOf(op, 'default')).toEqual([
        'BAD_REQUEST',
        'REQUEST_TIMEOUT',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
        'HEADERS_TOO_LARGE',
      ]);
    }
  });

  it('describes GET /tokens: query, 200 with its headers, 400, 401, 429 with Retry-After and RateLimit, 503; no HEAD', () => {
    const op = operation('/tokens', 'get');
    expect(op['x-idempotency']).toBeUndefined();
    expect(op.parameters.map((p: Operation) => p.name).sort()).toEqual(['count', 'scope', 'ttl']);
    // The two answer shapes: one token without count, a batch with it.
    expect(op.responses['200'].content['application/json'].schema).toEqual({
      oneOf: [
        { $ref: '#/components/schemas/IssuedToken' },
        { $ref: '#/components/schemas/IssuedTokens' },
      ],
    });
    expect(headersOf(op, '200')).toEqual(['Cache-Control', 'RateLimit-Policy', 'RateLimit']);
    expect(codesOf(op, '400')).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(op, '401')).toEqual(['UNAUTHENTICATED']);
    expect(headersOf(op, '401')).toEqual(['WWW-Authenticate']);
    expect(codesOf(op, '429')).toEqual(['TOKEN_RATE_LIMITED', 'TOKEN_QUOTA_EXCEEDED']);
    expect(headersOf(op, '429')).toEqual(['Retry-After', 'RateLimit-Policy', 'RateLimit']);
    expect(codesOf(op, '503')).toEqual(['STORE_UNAVAILABLE']);
    // HEAD /tokens only refuses (405): it is no operation of the API.
    expect(Object.keys(document.paths['/tokens'])).toEqual(['get']);
  });

  it('says security: [] on the public routes; the others take an optional bearer API key and document its 401', async () => {
    expect(document.security).toEqual([{ bearer: [] }, {}]);
    expect(document.components?.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: expect.any(String) },
    });
    for (const [path, method, op] of operationsOf(document)) {
      const isPublic = path === '/health' || path === '/metrics';
      expect([`${method} ${path}`, op.security]).toEqual([
        `${method} ${path}`,
        isPublic ? [] : undefined,
      ]);
      expect([`${method} ${path}`, '401' in op.responses]).toEqual([
        `${method} ${path}`,
        !isPublic,
      ]);
    }
    // One document whatever the configuration: the committed file is what every instance serves.
    const withKeys = await startModule(
      AppModule.forRoot(loadConfig({ LOG_LEVEL: 'silent', API_KEYS: 'alice:key-a' })),
    );
    try {
      expect(buildOpenApiDocument(withKeys.app)).toEqual(document);
    } finally {
      await withKeys.close();
    }
  });

  it('has a server and a described tag for every tag an operation uses', () => {
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    const described = new Map((document.tags ?? []).map((tag) => [tag.name, tag.description]));
    for (const [, , op] of operationsOf(document)) {
      for (const tag of op.tags)
        expect([tag, described.get(tag)]).toEqual([tag, expect.any(String)]);
    }
  });
});

/** The third-party tools read the committed file, which the first test above keeps equal to the code's. */
describe('openapi.json read by third-party tools', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'openapi-tools-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes Redocly's recommended rules (redocly.yaml): no error, no warning beyond .redocly.lint-ignore.yaml", async () => {
    const out = await run(bin('redocly'), ['lint', 'openapi.json', '--format=json'], ROOT);
    const report = JSON.parse(out) as { totals: object; problems: object[] };
    expect(report.problems).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 2 });
  });

  it('gives openapi-typescript (our client) the token headers on the 200 and 201 answers', async () => {
    const client = mkdtempSync(join(dir, 'openapi-typescript-'));
    const { 'schema.d.ts': schema } = await generateClient(readCommitted());
    await compiles(client, {
      'schema.d.ts': schema,
      'check.ts': `import type { paths } from './schema.js';
${EXACT}
type Created = paths['/orders']['post']['responses'][201]['headers'];
type Cancelled = paths['/orders/{id}/cancel']['post']['responses'][200]['headers'];
type Issued = paths['/tokens']['get']['responses'][200]['headers'];
export const createdConsumed: Exact<NonNullable<Created['Idempotency-Token-Consumed']>, 'true'> = true;
export const createdReplayed: Exact<NonNullable<Created['Idempotent-Replayed']>, 'true'> = true;
export const createdLocation: Exact<NonNullable<Created['Location']>, string> = true;
export const cancelledConsumed: Exact<NonNullable<Cancelled['Idempotency-Token-Consumed']>, 'true'> = true;
export const issuedNoStore: Exact<NonNullable<Issued['Cache-Control']>, 'no-store'> = true;
export const issuedRateLimit: Exact<NonNullable<Issued['RateLimit']>, string> = true;
`,
    });
  });

  it('lets @hey-api/openapi-ts generate a client that compiles (strict), each success typed under its own status', async () => {
    const client = mkdtempSync(join(dir, 'hey-api-'));
    await run(
      bin('openapi-ts'),
      [
        '-i',
        'openapi.json',
        '-o',
        join(client, 'client'),
        '-c',
        '@hey-api/client-fetch',
        '-s',
        '--no-log-file',
      ],
      ROOT,
    );
    await compiles(client, {
      'check.ts': `import type * as api from './client/index.js';
${EXACT}
export const createdStatus: Exact<keyof api.OrdersControllerCreateResponses, 201> = true;
export const createdBody: Exact<api.OrdersControllerCreateResponse, api.Order> = true;
export const cancelledStatus: Exact<keyof api.OrdersControllerCancelResponses, 200> = true;
export const cancelledBody: Exact<api.OrdersControllerCancelResponse, api.Order> = true;
export const issuedStatus: Exact<keyof api.TokensControllerIssueResponses, 200> = true;
export const issuedBody: Exact<api.TokensControllerIssueResponse, api.IssuedToken | api.IssuedTokens> = true;
`,
    });
  });
});

/**
 * What the service actually answers, checked against the document: each answer's status is
 * documented for its operation, and each contract header it carries is documented under that
 * status.
 */
describe('the answers of the running service, against its OpenAPI document', () => {
  const CONTRACT_HEADERS = [
    'Idempotency-Token-Consumed',
    'Idempotent-Replayed',
    'Location',
    'Cache-Control',
    'RateLimit-Policy',
    'RateLimit',
    'Retry-After',
    'WWW-Authenticate',
    'Allow',
  ];
  let redis: RedisServerHandle;
  let service: RunningApp;
  let document: OpenAPIObject;

  beforeAll(async () => {
    redis = await startRedis();
    service = await startService({ REDIS_URL: redis.url, API_KEYS: 'alice:key-a' });
    document = buildOpenApiDocument(service.app);
  });
  afterAll(async () => {
    await service.close();
    await redis.stop();
  });

  function expectDocumented(method: string, path: string, response: Response): void {
    const op = operationOf(document, path, method);
    const where = `${method.toUpperCase()} ${path} ${response.status}`;
    const documented = op.responses[String(response.status)] as Operation | undefined;
    expect([where, documented !== undefined]).toEqual([where, true]);
    const sent = CONTRACT_HEADERS.filter((name) => response.headers[name.toLowerCase()]);
    expect([where, sent.filter((name) => !(name in (documented!.headers ?? {})))]).toEqual([
      where,
      [],
    ]);
  }

  it('documents each answer of a session: 401, token, order, its replay, 415, 404, health', async () => {
    const auth = { Authorization: 'Bearer key-a' };
    expectDocumented('get', '/tokens', await request(service.url).get('/tokens'));
    expectDocumented('get', '/tokens', await request(service.url).get('/tokens').set(auth));

    const token = await fetchToken(service.url, { scope: 'orders.create', apiKey: 'key-a' });
    const order = () =>
      request(service.url)
        .post('/orders')
        .set(auth)
        .set('Idempotency-Token', token)
        .send({ item: 'book', quantity: 1 });
    const first = await order();
    expect(first.status).toBe(201);
    expectDocumented('post', '/orders', first);
    const replay = await order();
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expectDocumented('post', '/orders', replay);
    const text = await request(service.url)
      .post('/orders')
      .set(auth)
      .set('Content-Type', 'text/plain')
      .send('item=book');
    expect(text.status).toBe(415);
    expectDocumented('post', '/orders', text);

    const unknown = await request(service.url)
      .post('/orders/no-such-order/cancel')
      .set(auth)
      .set('Idempotency-Token', await fetchToken(service.url, { apiKey: 'key-a' }));
    expect(unknown.status).toBe(404);
    expectDocumented('post', '/orders/{id}/cancel', unknown);

    expectDocumented('get', '/health', await request(service.url).get('/health'));
  });
});
