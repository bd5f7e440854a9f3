// Swagger-typed helpers, kept out of the published declarations of the decorators: an app
// without @nestjs/swagger must still compile against them (with skipLibCheck off).
import { PROBLEM_JSON } from '../idempotency.constants.js';
import { ANSWER_HEADERS, type HeaderName, problemSchema } from './answer-docs.js';
import type { SwaggerApi } from './openapi-decorator.js';

/** Swagger's decorator for one problem answer: its status, the codes it can carry, and its headers. */
export function problemResponse(
  { ApiResponse }: SwaggerApi,
  status: number,
  description: string,
  codes: readonly string[],
  headers: HeaderName[] = [],
) {
  return ApiResponse({
    status,
    description,
    content: { [PROBLEM_JSON]: { schema: problemSchema(codes) } },
    headers: Object.fromEntries(headers.map((name) => [name, ANSWER_HEADERS[name]])),
  });
}
