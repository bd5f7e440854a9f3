import { type DynamicModule, Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { type DestinationStream, type LoggerOptions, pino } from 'pino';
import type { AppConfig } from '../config/app-config.js';
import { logRequests } from './request-logger.js';
import { scrubTokens } from './scrub-tokens.js';

const LOGGER_OPTIONS = Symbol('LoggerOptions');

/** Log lines are written once this many bytes wait, and at least once a second. */
const LOG_BUFFER_BYTES = 4096;
const LOG_FLUSH_INTERVAL_MS = 1_000;

/**
 * stdout, written asynchronously in blocks: a synchronous write per line cost a sixth of the
 * CPU under load, an asynchronous write per line still a few per cent of a replay
 * (docs/PERFORMANCE.md). A line waits at most a second; pino writes what is left when the
 * process exits, a crash included (not a SIGKILL).
 */
function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES });
  const flush = () => {
    try {
      stream.flush();
    } catch {
      // stdout failed and was closed: nothing left to write to.
    }
  };
  setInterval(flush, LOG_FLUSH_INTERVAL_MS).unref();
  return stream;
}

/** pino options of the app logger: the level, and no token in any message. */
export function loggerOptions(config: Pick<AppConfig, 'production' | 'logLevel'>): LoggerOptions {
  const pretty = !config.production && config.logLevel !== 'silent';
  return {
    level: config.logLevel,
    transport: pretty
      ? {
          target: 'pino-pretty',
          options: {
            singleLine: true,
            translateTime: 'SYS:HH:MM:ss.l',
            ignore: 'pid,hostname,req,res',
          },
        }
      : undefined,
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? scrubTokens(arg) : arg)) as Parameters<
            typeof method
          >,
        );
      },
    },
    formatters: {
      log: (object) => {
        const { err } = object;
        if (!(err instanceof Error)) return object;
        return {
          ...object,
          err: {
            type: err.name,
            message: scrubTokens(err.message),
            stack: err.stack && scrubTokens(err.stack),
          },
        };
      },
    },
  };
}

/**
 * Structured logs: JSON lines on stdout under NODE_ENV=production, readable lines otherwise;
 * one line per request with method, route, status, duration and idempotency outcome.
 * nestjs-pino makes the app's logger; the request lines come from `logRequests` on the HTTP
 * server (see request-logger.ts for why not nestjs-pino's pino-http middleware).
 */
@Module({})
export class LoggingModule implements OnApplicationBootstrap {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LOGGER_OPTIONS) private readonly options: LoggerOptions,
  ) {}

  /** `destination`: where the lines go instead of stdout (tests read them). */
  static forRoot(config: AppConfig, destination?: DestinationStream): DynamicModule {
    const options = loggerOptions(config);
    const stream = destination ?? (options.transport ? undefined : bufferedStdout());
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: stream ? [{ ...options, transport: undefined }, stream] : options,
          forRoutes: [],
        }),
      ],
      providers: [{ provide: LOGGER_OPTIONS, useValue: options }],
    };
  }

  onApplicationBootstrap(): void {
    if (this.options.level === 'silent') return;
    logRequests(this.adapterHost.httpAdapter.getHttpServer(), PinoLogger.root);
  }
}
