import { applyDecorators, SetMetadata } from '@nestjs/common';

export const PUBLIC_METADATA = 'auth:public';

/**
 * `@nestjs/swagger`'s key for security requirements (its `DECORATORS.API_SECURITY`, not
 * exported): `ApiSecurity()` can only add requirements, never say that there are none.
 */
const API_SECURITY_METADATA = 'swagger/apiSecurity';

/**
 * A controller whose routes need no API key even when `API_KEYS` is set; its operations say
 * `security: []` in the OpenAPI document. For controllers only: Swagger drops an empty list on
 * a single handler.
 */
export const Public = (): ClassDecorator =>
  applyDecorators(SetMetadata(PUBLIC_METADATA, true), SetMetadata(API_SECURITY_METADATA, []));
