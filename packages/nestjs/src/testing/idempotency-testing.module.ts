import type { DynamicModule } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency.module.js';
import type { IdempotencyModuleExtras } from '../idempotency.module-definition.js';
import type { IdempotencyModuleOptions } from '../interfaces/idempotency-module-options.interface.js';
import { MemoryTokenStore } from '../stores/memory-token.store.js';

/** The secret of {@link IdempotencyTestingModule} unless a test gives its own. */
export const TESTING_SECRET = 'idempotency-testing-secret-0123456789abcdef';

/**
 * The module for an app's tests: the in-memory store (no Redis), a fixed secret and limits
 * that stay out of the way, every option overridable. Import it instead of
 * `IdempotencyModule.forRoot()`, e.g. with `Test.createTestingModule().overrideModule()`.
 */
export class IdempotencyTestingModule {
  static forRoot(
    options: Partial<IdempotencyModuleOptions> = {},
    extras?: IdempotencyModuleExtras,
  ): DynamicModule {
    return IdempotencyModule.forRoot({
      secret: TESTING_SECRET,
      store: new MemoryTokenStore(),
      limits: { rateLimit: 1_000_000, maxOutstanding: 1_000_000 },
      ...options,
      ...extras,
    });
  }
}
