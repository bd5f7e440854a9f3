import { PROBLEM_JSON } from '../idempotency.constants.js';

/** RFC 9457 problem details whose `code` is one of `codes`. */
export function problemSchema(codes: readonly string[]) {
  return {
    type: 'object',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: { type: 'string', description: 'Stable URI per code, e.g. urn:problem:token-used' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string', description: 'What happened and what the client should do next' },
      code: { type: 'string', enum: [...codes] },
      errors: {
        type: 'array',
        items: { type: 'string' },
        description: 'VALIDATION_FAILED only: each failed constraint',
      },
    },
  };
}

/** Headers answers may carry; documented once, referenced by every decorator that needs them. */
export const ANSWER_HEADERS = {
  'Retry-After': {
    description: 'Whole seconds to wait before sending again',
    schema: { type: 'integer', minimum: 1 },
  },
  'Idempotency-Token-Consumed': {
    description:
      'true: this request used up its token (first use, whatever the status, and every copy); a retry needs a fresh token',
    schema: { type: 'string', enum: ['true'] },
  },
  'Idempotency-Key-Expires': {
    description:
      "Seconds a key's record is kept from its first use: within them every retry with the key gets the first answer; after them the key is new again",
    schema: { type: 'integer', minimum: 1 },
  },
  'Idempotency-Token-Next': {
    description:
      'Token rotation (asked for with Prefer: next-token): a fresh token for the same caller and scope, for the next request; replays carry the same one',
    schema: { type: 'string' },
  },
  'Preference-Applied': {
    description: 'RFC 7240: the preferences of Prefer this answer honoured, e.g. next-token',
    schema: { type: 'string' },
  },
  'Idempotent-Replayed': {
    description:
      "true: this is the first request's stored answer, sent again to a copy; do not resend",
    schema: { type: 'string', enum: ['true'] },
  },
  'RateLimit-Policy': {
    description: 'IETF RateLimit policy, e.g. "tokens";q=60;w=60',
    schema: { type: 'string' },
  },
  RateLimit: {
    description: 'IETF RateLimit state, e.g. "tokens";r=59;t=12',
    schema: { type: 'string' },
  },
  'WWW-Authenticate': {
    description: 'The authentication scheme to use, e.g. Bearer',
    schema: { type: 'string' },
  },
  Allow: {
    description: 'The methods the resource answers, e.g. GET',
    schema: { type: 'string' },
  },
};

export type HeaderName = keyof typeof ANSWER_HEADERS;

/** Headers that HTTP requires with a status (RFC 9110, 15.5.2 and 15.5.6), so never left out. */
const REQUIRED_HEADERS: Partial<Record<string, HeaderName[]>> = {
  401: ['WWW-Authenticate'],
  405: ['Allow'],
};

/**
 * One problem answer as an OpenAPI response object: the codes it can carry and its headers,
 * with those that HTTP requires for `status` added. For answers documented document-wide
 * rather than per handler (`ApiProblemResponse` is the per-handler way).
 */
export function problemResponseObject(
  status: number | 'default',
  description: string,
  codes: readonly string[],
  headers: readonly HeaderName[] = [],
) {
  const names = [...new Set([...(REQUIRED_HEADERS[status] ?? []), ...headers])];
  return {
    description,
    content: { [PROBLEM_JSON]: { schema: problemSchema(codes) } },
    ...(names.length > 0 && {
      headers: Object.fromEntries(names.map((name) => [name, ANSWER_HEADERS[name]])),
    }),
  };
}
