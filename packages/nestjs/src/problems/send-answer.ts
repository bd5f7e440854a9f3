import { StreamableFile } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { PROBLEM_JSON } from '../idempotency.constants.js';
import type { StoredResponse } from '../outcomes/stored-response.js';
import type { ProblemException } from './problem.exception.js';

/** A problem as an answer: its status, its headers and `application/problem+json`. */
export function problemAnswer(problem: ProblemException): StoredResponse {
  return {
    status: problem.problem.status,
    headers: { ...problem.headers, 'content-type': PROBLEM_JSON },
    body: JSON.stringify(problem.problem),
  };
}

/** Sends an answer through the app's adapter, so Express and Fastify both see a normal reply. */
export function sendAnswer(
  adapter: AbstractHttpAdapter,
  response: object,
  answer: StoredResponse,
  extraHeaders: Record<string, string> = {},
): void {
  for (const [name, value] of Object.entries({ ...answer.headers, ...extraHeaders })) {
    adapter.setHeader(response, name, value);
  }
  const body = answer.body ?? '';
  adapter.reply(
    response,
    answer.base64 ? new StreamableFile(Buffer.from(body, 'base64')) : body,
    answer.status,
  );
}
