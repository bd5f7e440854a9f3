import { SetMetadata } from '@nestjs/common';

export const PUBLIC_METADATA = 'auth:public';

/** A route that needs no API key even when `API_KEYS` is set. */
export const Public = () => SetMetadata(PUBLIC_METADATA, true);
