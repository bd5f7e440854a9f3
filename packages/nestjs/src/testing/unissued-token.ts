import { TokenCodec } from '../tokens/token-codec.js';

/**
 * A token signed with `secret` for this caller that no store holds, as a token that expired
 * or was issued elsewhere would be: presented to an `@Idempotent()` handler it is
 * `TOKEN_UNKNOWN` (a changed one would be `TOKEN_INVALID`). `subject`: the authenticated user
 * it is bound to; anonymous callers are told apart by `address`.
 */
export function unissuedToken(
  secret: string,
  caller: { subject?: string; address?: string } = {},
): string {
  return new TokenCodec(secret).create({ subject: caller.subject, address: caller.address ?? '' })
    .token;
}
