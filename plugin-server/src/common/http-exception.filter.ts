import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';

/** Every error leaves as `{ statusCode, localeKey, message }` — the UI shows `message` as is. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let status = HttpStatus.INTERNAL_SERVER_ERROR;
    let message = 'internal error';
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const body = exception.getResponse();
      const m = typeof body === 'string' ? body : (body as { message?: unknown }).message;
      message = Array.isArray(m) ? m.join('; ') : String(m ?? exception.message);
    } else {
      this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    }
    res.status(status).json({ statusCode: status, localeKey: localeKeyFor(status), message });
  }
}

function localeKeyFor(status: number): string {
  switch (status) {
    case 400: return 'hdm.error.badRequest';
    case 401: return 'hdm.error.sessionExpired';
    case 403: return 'hdm.error.forbidden';
    case 404: return 'hdm.error.notFound';
    case 409: return 'hdm.error.conflict';
    default: return status >= 500 ? 'hdm.error.internal' : 'hdm.error.request';
  }
}
