// Swagger-typed helpers, kept out of the published declarations of the decorators: an app
// without @nestjs/swagger must still compile against them (with skipLibCheck off).
import { type HeaderName, problemResponseObject } from './answer-docs.js';
import type { SwaggerApi } from './openapi-decorator.js';

/** Swagger's decorator for one problem answer: its status, the codes it can carry, and its headers. */
export function problemResponse(
  { ApiResponse }: SwaggerApi,
  status: number,
  description: string,
  codes: readonly string[],
  headers: readonly HeaderName[] = [],
) {
  return ApiResponse({ status, ...problemResponseObject(status, description, codes, headers) });
}
