import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/**
 * The one OpenAPI document of the service: served at /docs-json, written to openapi.json by
 * `npm run openapi:export`, and compared with the committed file by the test suite.
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
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'An API key from API_KEYS; not needed when the service runs without API_KEYS',
    })
    .addSecurityRequirements('bearer')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Swagger UI at /docs, the document at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
}
