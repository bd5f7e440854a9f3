import type { INestApplicationContext } from '@nestjs/common';
import { TokensService } from '../tokens/tokens.service.js';

/**
 * Issues a real token in a running app's store, as `GET /tokens` would for this caller, without
 * going through the app's authentication: `subject` is the user id the app's auth would set
 * (none: an anonymous caller, told apart by `address`).
 */
export async function issueToken(
  app: INestApplicationContext,
  caller: { subject?: string; scope?: string; address?: string } = {},
): Promise<string> {
  const { issued } = await app
    .get(TokensService)
    .issue({ subject: caller.subject, address: caller.address ?? '127.0.0.1' }, caller.scope);
  return issued.token;
}
