import { Inject } from '@nestjs/common';
import { TOKEN_STORE } from '../idempotency.constants.js';

/** Injects the module's {@link TokenStore}, so nobody handles the raw injection token. */
export const InjectTokenStore = (): ParameterDecorator & PropertyDecorator => Inject(TOKEN_STORE);
