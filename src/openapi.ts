import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  type OpenAPIObject,
  type OperationObject,
  type PathItemObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { problemResponseObject } from '@idempotency-tokens/nestjs';

const UNAUTHENTICATED = problemResponseObject(401, 'No valid API key (only when API_KEYS is set)', [
  'UNAUTHENTICATED',
]);

/** What the HTTP layer can answer on any route, before the route's own answers. */
const HTTP_LAYER_REFUSAL = problemResponseObject(
  'default',
  'Any other refusal, by the HTTP layer: 400 BAD_REQUEST (a malformed request line or header), ' +
    '408 REQUEST_TIMEOUT (a request too slow to arrive), 413 PAYLOAD_TOO_LARGE (a body over 1 MiB), ' +
    '415 UNSUPPORTED_MEDIA_TYPE (a body that is not JSON), 431 HEADERS_TOO_LARGE.',
  [
    'BAD_REQUEST',
    'REQUEST_TIMEOUT',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    'HEADERS_TOO_LARGE',
  ],
);

/**
 * The API-key guard is global: it covers every route that is not `@Public()`, which are those
 * whose operation does not say `security: []`. Each of them gets its 401 here, so that the
 * token endpoint (the module's controller, which the service cannot decorate) has it too.
 */
function documentApiKeyRefusal(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths) as PathItemObject[]) {
    for (const operation of Object.values(item) as OperationObject[]) {
      if (operation.security?.length !== 0) operation.responses['401'] ??= UNAUTHENTICATED;
    }
  }
}

/**
 * The one OpenAPI document of the service: served at /docs-json, written to openapi.json by
 * `npm run openapi:export`, and compared with the committed file by the test suite. It is the
 * same whether or not API_KEYS is set: the bearer scheme is optional (`[{ bearer: [] }, {}]`),
 * and every route that needs a key when keys are set documents its 401. Every operation lists
 * its own answers by exact status, and under `default` the HTTP layer's refusals.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('One-time idempotency tokens')
    .setDescription(
      'Fetch a one-time token from GET /tokens, send it in the Idempotency-Token header of a request to an ' +
        'operation marked x-idempotency, and a double submit runs the operation once. Every error is RFC 9457 ' +
        'problem details with a stable code; each answer says what to do next.',
    )
    .setVersion('1.0.0')
    .setLicense('MIT', 'https://opensource.org/license/mit')
    .addServer('/', 'The service that serves this document')
    .addTag('tokens', 'One-time tokens: fetch one just before each request that must happen once')
    .addTag('orders', 'The demo feature: orders placed and cancelled at most once per token')
    .addTag(
      'payments',
      'The demo of client-chosen keys: a payment taken at most once per Idempotency-Key',
    )
    .addTag('health', 'Readiness for orchestrators')
    .addTag('metrics', 'Prometheus metrics')
    // An API key, not a JWT: no bearerFormat.
    .addSecurity('bearer', {
      type: 'http',
      scheme: 'bearer',
      description:
        'An API key from API_KEYS. Required when the service runs with API_KEYS (401 without it); ' +
        'without API_KEYS every caller is anonymous and the header is ignored.',
    })
    .addSecurityRequirements('bearer')
    .addSecurityRequirements({})
    .addGlobalResponse({ status: 'default', ...HTTP_LAYER_REFUSAL })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  documentApiKeyRefusal(document);
  return document;
}

/** Swagger UI at /docs, the document at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
}
