import { Controller, Get, Header, Inject, Query, Req, Res, UseFilters } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { callerOf } from '../caller.js';
import { IDEMPOTENCY_SETTINGS } from '../idempotency.constants.js';
import type { IdempotencySettings } from '../idempotency.settings.js';
import { ProblemDetailsFilter } from '../problems/problem-details.filter.js';
import { parseIssueQuery } from './issue-token.query.js';
import type { IssuedToken } from './issued-token.js';
import { TokensService } from './tokens.service.js';

@Controller('tokens')
@UseFilters(ProblemDetailsFilter)
export class TokensController {
  constructor(
    private readonly tokens: TokensService,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(IDEMPOTENCY_SETTINGS) private readonly settings: IdempotencySettings,
  ) {}

  /** A cached answer would hand two forms the same token, hence `no-store`. */
  @Get()
  @Header('Cache-Control', 'no-store')
  async issue(
    @Query() query: Record<string, unknown>,
    @Req() request: object,
    @Res({ passthrough: true }) response: object,
  ): Promise<IssuedToken> {
    const { scope, ttlSeconds } = parseIssueQuery(query, this.settings.maxTokenTtlSeconds);
    const { issued, headers } = await this.tokens.issue(callerOf(request, this.settings.resolveSubject), scope, ttlSeconds);
    for (const [name, value] of Object.entries(headers)) this.adapterHost.httpAdapter.setHeader(response, name, value);
    return issued;
  }
}
