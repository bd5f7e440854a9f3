import { OpenApi } from './openapi-decorator.js';
import type { HeaderName } from './answer-docs.js';
import { problemResponse } from './problem-response.js';

/**
 * Documents one problem answer: its status, the codes it can carry, and its headers. Does
 * nothing when `@nestjs/swagger` is not installed.
 */
export function ApiProblemResponse(
  status: number,
  description: string,
  codes: readonly string[],
  headers: readonly HeaderName[] = [],
) {
  return OpenApi((swagger) => problemResponse(swagger, status, description, codes, headers));
}
