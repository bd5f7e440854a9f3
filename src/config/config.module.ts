import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from './app-config.js';

/** Injection token of the {@link AppConfig}. */
export const APP_CONFIG = Symbol('AppConfig');

/** Hands the configuration read at start to every module; tests pass their own. */
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
