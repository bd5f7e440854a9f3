import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Public } from '../auth/public.decorator.js';
import { IdempotencyMetrics } from '@idempotency-tokens/nestjs';

/** Prometheus text: the idempotency module's metrics and this process's. */
@ApiTags('metrics')
@Public()
@Controller('metrics')
export class MetricsController {
  private readonly registry: Registry;

  constructor(idempotency: IdempotencyMetrics) {
    const processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
    // The module fills its registry whenever prom-client is installed, as it is here.
    this.registry = Registry.merge([processMetrics, idempotency.registry as Registry]);
  }

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOperation({
    summary: 'Prometheus metrics: tokens, consumes, limiter refusals, store latency',
  })
  @ApiOkResponse({
    description: 'Prometheus text exposition format',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
