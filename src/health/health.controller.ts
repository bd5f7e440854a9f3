import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { InjectTokenStore, type TokenStore } from '../idempotency/index.js';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator.js';

/** Readiness for scripts and orchestrators: 200 when the token store answers, 503 when not. */
@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(@InjectTokenStore() private readonly store: TokenStore) {}

  @Get()
  async check(): Promise<{ status: 'ok' }> {
    try {
      await this.store.ping();
    } catch {
      throw new ServiceUnavailableException('The token store does not answer.');
    }
    return { status: 'ok' };
  }
}
