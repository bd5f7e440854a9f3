/** Injection token of the {@link TokenStore} in use; same name as its interface, as in nestjs/throttler. */
export const TOKEN_STORE = Symbol('TokenStore');

/** Metadata key under which `@Idempotent()` keeps its options on a handler or controller. */
export const IDEMPOTENT_METADATA = 'idempotency_module:idempotent';

/** The request header that carries a token. Lower case, as Node exposes incoming headers. */
export const TOKEN_HEADER = 'idempotency-token';

/** Answer headers the module sets. */
export const TOKEN_CONSUMED_HEADER = 'Idempotency-Token-Consumed';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** A rotation's next token, on the first answer and its replays. */
export const NEXT_TOKEN_HEADER = 'Idempotency-Token-Next';
/** RFC 7240: which preferences of `Prefer` the answer honoured. */
export const PREFERENCE_APPLIED_HEADER = 'Preference-Applied';

/** On every answer of a key route: seconds a key's record is kept from its first use (the IETF draft's expiry). */
export const KEY_EXPIRES_HEADER = 'Idempotency-Key-Expires';

/** Injection token of the validated {@link IdempotencySettings}. */
export const IDEMPOTENCY_SETTINGS = Symbol('IdempotencySettings');

/** Resolves once `@nestjs/swagger`'s metadata is written for every `@Idempotent()` handler (when it is installed). */
export const OPENAPI_DECORATIONS = Symbol('idempotency_module:openapi');

/** The Redis client the module made itself (from a URL or options), `undefined` otherwise. */
export const OWNED_REDIS_CLIENT = Symbol('idempotency_module:owned_redis');

/** What a scope may look like, in `GET /tokens?scope=` and in `@Idempotent({ scope })`. */
export const SCOPE_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

/** The media type of every error answer (RFC 9457). */
export const PROBLEM_JSON = 'application/problem+json';
