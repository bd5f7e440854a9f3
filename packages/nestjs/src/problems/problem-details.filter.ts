import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { PROBLEM_JSON, REPLAYED_HEADER } from '../idempotency.constants.js';
import { OutcomeRecorder, type StoredResponse } from '../outcome.recorder.js';
import { StoreUnavailableError } from '../stores/store-unavailable.error.js';
import {
  malformedRequest,
  payloadTooLarge,
  storeUnavailable,
  validationFailed,
} from './idempotency.problems.js';
import { ProblemException } from './problem.exception.js';
import { ReplayException } from './replay.exception.js';

/** What body parsers throw: Fastify errors carry `statusCode` and `code`, Express' body-parser `status` and `type`. */
interface ParserError {
  statusCode?: number;
  status?: number;
  code?: string;
  type?: string;
  message?: string;
}

/**
 * Renders every error as RFC 9457 problem details, and records it as the outcome of a request
 * that consumed a token, so a copy gets the very same answer. `@Idempotent()` installs it on
 * its handlers; install it globally too (`app.useGlobalFilters(app.get(ProblemDetailsFilter))`)
 * so that body-parser errors, which happen before any route, are problem details as well.
 */
@Catch()
@Injectable()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly recorder: OutcomeRecorder,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<object>();
    const response = http.getResponse<object>();
    if (this.adapterHost.httpAdapter.isHeadersSent(response)) {
      this.logger.error(`Error after the answer was sent: ${describe(exception)}`);
      return;
    }
    if (exception instanceof ReplayException) {
      this.send(response, exception.response, { [REPLAYED_HEADER]: 'true' });
      return;
    }
    const problem = this.toProblem(exception);
    const headers = { ...problem.headers, 'content-type': PROBLEM_JSON };
    const answer: StoredResponse = {
      status: problem.problem.status,
      headers,
      body: JSON.stringify(problem.problem),
    };
    this.recorder.record(request, answer);
    this.send(response, answer);
  }

  /** The one mapping from anything thrown to a problem; extend it by throwing {@link ProblemException}. */
  protected toProblem(exception: unknown): ProblemException {
    if (exception instanceof ProblemException) return exception;
    if (exception instanceof StoreUnavailableError) return storeUnavailable();
    // Nest hands body-parser errors over as HttpExceptions whose cause is the parser's error.
    const raw = (
      exception instanceof HttpException ? (exception.cause ?? exception) : exception
    ) as ParserError;
    const status =
      exception instanceof HttpException ? exception.getStatus() : (raw?.statusCode ?? raw?.status);
    if (status === HttpStatus.PAYLOAD_TOO_LARGE) return payloadTooLarge();
    if (status === HttpStatus.BAD_REQUEST && isBodyParseFailure(raw)) {
      return malformedRequest(
        `The request body is not valid JSON (${raw.message ?? 'parse error'}). Nothing was consumed.`,
      );
    }
    if (exception instanceof HttpException) return fromHttpException(exception);
    if (typeof status === 'number' && status >= 400 && status < 500)
      return genericProblem(status, raw.message ?? 'The request was refused.');
    this.logger.error(
      `Unexpected error: ${describe(exception)}`,
      exception instanceof Error ? exception.stack : undefined,
    );
    return genericProblem(
      HttpStatus.INTERNAL_SERVER_ERROR,
      'The server failed to answer this request.',
    );
  }

  private send(
    response: object,
    answer: StoredResponse,
    extraHeaders: Record<string, string> = {},
  ): void {
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries({ ...answer.headers, ...extraHeaders })) {
      adapter.setHeader(response, name, value);
    }
    adapter.reply(response, answer.body ?? '', answer.status);
  }
}

function fromHttpException(exception: HttpException): ProblemException {
  const status = exception.getStatus();
  const body = exception.getResponse() as { message?: unknown } | string;
  const message = typeof body === 'string' ? body : body.message;
  // ValidationPipe's answer: a 400 whose message lists the failed constraints.
  if (status === HttpStatus.BAD_REQUEST && Array.isArray(message)) {
    return validationFailed('The request body is not valid: see errors.', message.map(String));
  }
  return genericProblem(status, typeof message === 'string' ? message : exception.message);
}

/** Fastify's and Express' JSON parsers, and the prototype-poisoning check (a SyntaxError). */
const BODY_PARSE_FAILURES = new Set([
  'FST_ERR_CTP_INVALID_JSON_BODY',
  'FST_ERR_CTP_EMPTY_JSON_BODY',
  'entity.parse.failed',
]);

function isBodyParseFailure(raw: ParserError | undefined): raw is ParserError {
  return raw instanceof SyntaxError || BODY_PARSE_FAILURES.has(raw?.code ?? raw?.type ?? '');
}

/** Codes for answers we have no specific code for: the status' name, e.g. `NOT_FOUND`. */
function genericProblem(status: number, detail: string): ProblemException {
  const name = HttpStatus[status] ?? 'ERROR';
  const title = name.charAt(0) + name.slice(1).toLowerCase().replaceAll('_', ' ');
  return new ProblemException({ status, code: name, title, detail });
}

function describe(exception: unknown): string {
  return exception instanceof Error ? `${exception.name}: ${exception.message}` : String(exception);
}
