import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIObject } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { AppModule } from '../src/app.module.js';
import { loadConfig } from '../src/config/app-config.js';
import { buildOpenApiDocument } from '../src/openapi.js';
import { generateClient } from '@idempotency-tokens/client/generate';
import { type RunningApp, startModule } from './support/app-harness.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document is walked by path, as JSON
type Operation = Record<string, any>;

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

  const operation = (path: string, method: string): Operation =>
    (document.paths[path] as Record<string, Operation>)[method];
  const codesOf = (op: Operation, status: string): string[] =>
    op.responses[status].content['application/problem+json'].schema.properties.code.enum;

  it('matches the committed openapi.json (refresh it with `npm run openapi:export`)', () => {
    const committed = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8'));
    try {
      expect(JSON.parse(JSON.stringify(document))).toEqual(committed);
    } catch (error) {
      (error as Error).message =
        `openapi.json is out of date: run \`npm run openapi:export\` (and \`npm run client:generate\`) and commit the result.\n\n${(error as Error).message}`;
      throw error;
    }
  });

  it('has generated the committed client from openapi.json (refresh it with `npm run client:generate`)', async () => {
    const committed = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8'));
    for (const [file, text] of Object.entries(await generateClient(committed))) {
      if (readFileSync(new URL(`../client/${file}`, import.meta.url), 'utf8') !== text) {
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

  it.each([
    ['/orders', 'post', 'orders.create', true],
    ['/orders/{id}/cancel', 'post', null, false],
  ])('declares everything @Idempotent() does on %s', (path, method, scope, replay) => {
    const op = operation(path, method);
    expect(op['x-idempotency']).toEqual({ token: 'required', scope, replay });
    expect(op.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Token', in: 'header', required: true }),
    );
    expect(codesOf(op, '400')).toEqual([
      'TOKEN_MISSING',
      'TOKEN_INVALID',
      'TOKEN_UNKNOWN',
      'MALFORMED_REQUEST',
      'VALIDATION_FAILED',
    ]);
    expect(codesOf(op, '409')).toEqual(['REQUEST_IN_PROGRESS', 'TOKEN_USED']);
    expect(codesOf(op, '413')).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(codesOf(op, '422')).toEqual(['PAYLOAD_MISMATCH']);
    expect(codesOf(op, '503')).toEqual(['STORE_UNAVAILABLE']);
    expect(Object.keys(op.responses['409'].headers)).toEqual(
      expect.arrayContaining(['Retry-After', 'Idempotency-Token-Consumed']),
    );
    expect(Object.keys(op.responses['503'].headers)).toEqual(['Retry-After']);
    expect(Object.keys(op.responses['2XX'].headers)).toEqual([
      'Idempotency-Token-Consumed',
      'Idempotent-Replayed',
    ]);
  });

  it('describes GET /tokens: query, 200, 400, 429 with Retry-After and RateLimit, 503', () => {
    const op = operation('/tokens', 'get');
    expect(op['x-idempotency']).toBeUndefined();
    expect(op.parameters.map((p: Operation) => p.name).sort()).toEqual(['scope', 'ttl']);
    expect(op.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/IssuedToken',
    });
    expect(Object.keys(op.responses['200'].headers)).toEqual(
      expect.arrayContaining(['Cache-Control', 'RateLimit-Policy', 'RateLimit']),
    );
    expect(codesOf(op, '400')).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(op, '429')).toEqual(['TOKEN_RATE_LIMITED', 'TOKEN_QUOTA_EXCEEDED']);
    expect(Object.keys(op.responses['429'].headers)).toEqual([
      'Retry-After',
      'RateLimit-Policy',
      'RateLimit',
    ]);
    expect(codesOf(op, '503')).toEqual(['STORE_UNAVAILABLE']);
  });
});
