import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { IdempotencyModuleOptions } from './interfaces/idempotency-module-options.interface.js';
import { TokensController } from './tokens/tokens.controller.js';

/** Extras of `forRoot()` / `forRootAsync()` that shape the module rather than configure it. */
export interface IdempotencyModuleExtras {
  /** Register the module globally, so `@Idempotent()` works in every module. Default `true`. */
  isGlobal?: boolean;
  /** Serve `GET /tokens` from this app. Default `true`; `false` for an app that only consumes tokens. */
  tokenEndpoint?: boolean;
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<IdempotencyModuleOptions>()
    .setClassMethodName('forRoot')
    .setExtras<IdempotencyModuleExtras>(
      { isGlobal: true, tokenEndpoint: true },
      (definition, extras) => ({
        ...definition,
        global: extras.isGlobal,
        controllers: extras.tokenEndpoint ? [TokensController] : [],
      }),
    )
    .build();
