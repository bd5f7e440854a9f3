import { Controller, Get, Head, Header, Inject, Query, Req, Res, UseFilters } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { callerOf } from '../caller.js';
import { IDEMPOTENCY_SETTINGS } from '../idempotency.constants.js';
import type { IdempotencySettings } from '../idempotency.settings.js';
import type { IdempotencyRequest } from '../interfaces/caller.interface.js';
import { IdempotencyRefusalFilter } from '../problems/idempotency-refusal.filter.js';
import { methodNotAllowed } from '../problems/idempotency.problems.js';
import { parseIssueQuery } from './issue-token.query.js';
import { OpenApi } from '../openapi/openapi-decorator.js';
import { ANSWER_HEADERS } from '../openapi/answer-docs.js';
import { ApiProblemResponse } from '../openapi/problem-response.decorator.js';
import { IssuedToken, IssuedTokens } from './issued-token.js';
import { TokensService } from './tokens.service.js';

const RATE_LIMIT_HEADERS = ['RateLimit-Policy', 'RateLimit'] as const;

@OpenApi(({ ApiTags }) => ApiTags('tokens'))
@Controller('tokens')
@UseFilters(IdempotencyRefusalFilter)
export class TokensController {
  constructor(
    private readonly tokens: TokensService,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(IDEMPOTENCY_SETTINGS) private readonly settings: IdempotencySettings,
  ) {}

  /**
   * `HEAD /tokens` would issue a token (and charge the limiter) that nobody receives: refused.
   * Declared before `GET` so that neither adapter routes HEAD to the GET handler.
   */
  @Head()
  @OpenApi(({ ApiExcludeEndpoint }) => ApiExcludeEndpoint())
  head(): never {
    throw methodNotAllowed(['GET']);
  }

  /** A cached answer would hand two forms the same token, hence `no-store`. */
  @Get()
  @OpenApi(({ ApiOperation }) =>
    ApiOperation({
      summary: 'Issue a one-time token',
      description: 'Fetch one token per form submission, just before it is needed.',
    }),
  )
  @OpenApi(({ ApiQuery }) =>
    ApiQuery({
      name: 'scope',
      required: false,
      description: 'The scope of the handler the token is for',
      schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' },
    }),
  )
  @OpenApi(({ ApiQuery }) =>
    ApiQuery({
      name: 'ttl',
      required: false,
      description:
        "Lifetime in whole seconds, from 1 to the server's maximum; default: the server's default lifetime",
      schema: { type: 'integer', minimum: 1 },
    }),
  )
  @OpenApi(({ ApiQuery }) =>
    ApiQuery({
      name: 'count',
      required: false,
      description:
        "A batch: this many tokens, all or none under the limiter (429 when fewer are allowed), in the answer's tokens list. Without it: one token, in token",
      schema: { type: 'integer', minimum: 1 },
    }),
  )
  @OpenApi(({ ApiExtraModels }) => ApiExtraModels(IssuedToken, IssuedTokens))
  @OpenApi(({ ApiOkResponse, getSchemaPath }) =>
    ApiOkResponse({
      description: 'Fresh tokens for this caller and scope: one (no count), or a batch (count)',
      schema: {
        oneOf: [{ $ref: getSchemaPath(IssuedToken) }, { $ref: getSchemaPath(IssuedTokens) }],
      },
      headers: {
        'Cache-Control': { schema: { type: 'string', enum: ['no-store'] } },
        'RateLimit-Policy': ANSWER_HEADERS['RateLimit-Policy'],
        RateLimit: ANSWER_HEADERS.RateLimit,
      },
    }),
  )
  @ApiProblemResponse(400, 'A bad scope, ttl or count', ['VALIDATION_FAILED'])
  @ApiProblemResponse(
    429,
    'The limiter refused: wait Retry-After seconds',
    ['TOKEN_RATE_LIMITED', 'TOKEN_QUOTA_EXCEEDED'],
    ['Retry-After', ...RATE_LIMIT_HEADERS],
  )
  @ApiProblemResponse(503, 'The token store is unreachable', ['STORE_UNAVAILABLE'], ['Retry-After'])
  @Header('Cache-Control', 'no-store')
  async issue(
    @Query() query: Record<string, unknown>,
    @Req() request: IdempotencyRequest,
    @Res({ passthrough: true }) response: object,
  ): Promise<IssuedToken | IssuedTokens> {
    const { scope, ttlSeconds, count } = parseIssueQuery(
      query,
      this.settings.maxTokenTtlSeconds,
      this.settings.maxBatch,
    );
    const { issued, tokens, headers } = await this.tokens.issue(
      callerOf(request, this.settings.resolveSubject),
      scope,
      ttlSeconds,
      count,
    );
    for (const [name, value] of Object.entries(headers))
      this.adapterHost.httpAdapter.setHeader(response, name, value);
    if (count === undefined) return issued;
    const { scope: issuedScope, expiresAt, expiresIn } = issued;
    return { tokens, scope: issuedScope, expiresAt, expiresIn };
  }
}
