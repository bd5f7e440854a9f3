import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/** The app's own error format, for every error it throws: `{ error: { status, message } }`. */
@Catch()
export class AppErrorFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const message = exception instanceof Error ? exception.message : 'error';
    this.adapterHost.httpAdapter.reply(
      host.switchToHttp().getResponse(),
      { error: { status, message } },
      status,
    );
  }
}
