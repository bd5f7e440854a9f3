import { describe, expect, it } from '@jest/globals';
import { Controller, HttpCode, Post, Put } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  DocumentBuilder,
  type OpenAPIObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { Idempotent } from '../decorators/idempotent.decorator.js';
import { IdempotencyTestingModule } from '../testing/index.js';

class Receipt {
  id!: string;
}

/** The shapes a team's handlers come in: nothing documented, @HttpCode(), its own success answer. */
@Controller('jobs')
@Idempotent()
class JobsController {
  @Post() start() {}

  @Put(':id') @HttpCode(204) @Idempotent({ replay: false }) replace() {}

  @Post('queued')
  @ApiAcceptedResponse({
    type: Receipt,
    description: 'Queued',
    headers: { 'Content-Location': { schema: { type: 'string' } } },
  })
  queue() {}
}

async function documentOf(controller: new () => object): Promise<OpenAPIObject> {
  const moduleRef = await Test.createTestingModule({
    imports: [IdempotencyTestingModule.forRoot()],
    controllers: [controller],
  }).compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  try {
    return SwaggerModule.createDocument(app, new DocumentBuilder().build());
  } finally {
    await app.close();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document is read as JSON
const responsesOf = (document: OpenAPIObject, path: string, method: string): Record<string, any> =>
  (document.paths[path] as Record<string, { responses: object }>)[method].responses;

describe('the OpenAPI of @Idempotent()', () => {
  it("puts the token headers on each handler's exact success status, keeping what the app documented", async () => {
    const document = await documentOf(JobsController);

    const started = responsesOf(document, '/jobs', 'post');
    expect(Object.keys(started)).toEqual(['201', '400', '409', '413', '415', '422', '503']);
    expect(Object.keys(started['201'].headers)).toEqual([
      'Idempotency-Token-Consumed',
      'Idempotent-Replayed',
    ]);

    const replaced = responsesOf(document, '/jobs/{id}', 'put');
    expect(Object.keys(replaced)).toContain('204');
    expect(Object.keys(replaced['204'].headers)).toEqual(['Idempotency-Token-Consumed']);

    const queued = responsesOf(document, '/jobs/queued', 'post');
    expect(Object.keys(queued).filter((status) => status.startsWith('2'))).toEqual(['202']);
    expect(queued['202'].description).toMatch(/^Queued\n\nThe handler's answer/);
    expect(queued['202'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Receipt',
    });
    expect(Object.keys(queued['202'].headers)).toEqual([
      'Content-Location',
      'Idempotency-Token-Consumed',
      'Idempotent-Replayed',
    ]);
  });
});
