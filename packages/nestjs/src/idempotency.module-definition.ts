import { type CanActivate, ConfigurableModuleBuilder, type Type, UseGuards } from '@nestjs/common';
import type { IdempotencyModuleOptions } from './interfaces/idempotency-module-options.interface.js';
import { TokensController } from './tokens/tokens.controller.js';

/** The token endpoint behind the app's own guards. */
export interface TokenEndpointOptions {
  /**
   * Guards that run before `GET /tokens`, e.g. the app's authentication, so that tokens are
   * bound to the user it sets. (Global guards run there anyway.) A guard class is created in
   * the module, so its dependencies must be global providers; or pass an instance.
   */
  guards: (Type<CanActivate> | CanActivate)[];
}

/** Extras of `forRoot()` / `forRootAsync()` that shape the module rather than configure it. */
export interface IdempotencyModuleExtras {
  /** Register the module globally, so `@Idempotent()` works in every module. Default `true`. */
  isGlobal?: boolean;
  /**
   * Serve `GET /tokens` from this app: `true` (the default), `{ guards }` to put the app's
   * guards before it, or `false` for an app that only consumes tokens or serves them from an
   * endpoint of its own through `TokensService`.
   */
  tokenEndpoint?: boolean | TokenEndpointOptions;
}

/** The token controller, behind `guards` when there are any: a subclass, so the shared class stays unguarded. */
function tokenController(endpoint: boolean | TokenEndpointOptions | undefined): Type[] {
  if (!endpoint) return [];
  if (endpoint === true || endpoint.guards.length === 0) return [TokensController];
  @UseGuards(...endpoint.guards)
  class GuardedTokensController extends TokensController {}
  return [GuardedTokensController];
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<IdempotencyModuleOptions>()
    .setClassMethodName('forRoot')
    .setExtras<IdempotencyModuleExtras>(
      { isGlobal: true, tokenEndpoint: true },
      (definition, extras) => ({
        ...definition,
        global: extras.isGlobal,
        controllers: tokenController(extras.tokenEndpoint),
      }),
    )
    .build();
