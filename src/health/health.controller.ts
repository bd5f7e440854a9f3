import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator.js';
import { ApiProblemResponse, storeUnavailable } from '@idempotency-tokens/nestjs';
import { RedisHealthIndicator } from '../redis/redis.health.js';

/** Readiness for scripts and orchestrators: 200 when the token store answers, 503 when not. */
@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Readiness: whether the token store answers' })
  @ApiOkResponse({
    description: 'Ready',
    schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } },
  })
  @ApiProblemResponse(503, 'Redis does not answer', ['STORE_UNAVAILABLE'], ['Retry-After'])
  async check(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.redis.check('redis')]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      throw storeUnavailable({ checks: (error.getResponse() as HealthCheckResult).details });
    }
  }
}
