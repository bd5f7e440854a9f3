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
import { StoreUnavailableError } from '../stores/store-unavailable.error.js';
import {
  malformedRequest,
  payloadTooLarge,
  storeUnavailable,
  validationFailed,
} from './idempotency.problems.js';
import { ProblemException } from './problem.exception.js';
import { problemAnswer, sendAnswer } from './send-answer.js';

/** What body parsers throw: Fastify errors carry `statusCode` and `code`, Express' body-parser `status` and `type`. */
interface ParserError {
  statusCode?: number;
  status?: number;
  code?: string;
  type?: string;
  message?: string;
}

/**
 * Renders every error as RFC 9457 problem details with a stable `code`, for apps that want that
 * for all their errors (the token service does): install it globally with
 * `app.useGlobalFilters(app.get(ProblemDetailsFilter))`, which also covers body-parser errors
 * and unknown routes. Optional: without it, the app's own filters render its errors, and on an
 * `@Idempotent()` route whatever they send is what copies get again.
 */
@Catch()
@Injectable()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<object>();
    if (this.adapterHost.httpAdapter.isHeadersSent(response)) {
      this.logger.error(`Error after the answer was sent: ${describe(exception)}`);
      return;
    }
    sendAnswer(this.adapterHost.httpAdapter, response, problemAnswer(this.toProblem(exception)));
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
