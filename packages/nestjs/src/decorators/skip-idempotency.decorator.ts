import { SetMetadata } from '@nestjs/common';
import { IDEMPOTENT_METADATA } from '../idempotency.constants.js';

/** Exempts one handler of a controller marked `@Idempotent()`: it needs no token. */
export const SkipIdempotency = (): MethodDecorator => SetMetadata(IDEMPOTENT_METADATA, false);
