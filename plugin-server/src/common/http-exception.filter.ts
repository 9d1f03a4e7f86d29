import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ManagerError } from '../appliances/manager-client';
import { VimConnectionError, VimFault } from '../vsphere';

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
    } else if (exception instanceof VimFault) {
      // vCenter refused: say which fault and what vCenter said; NoPermission is the user's, not ours.
      status = exception.faultName === 'NoPermission' ? HttpStatus.FORBIDDEN : exception.faultName === 'ManagedObjectNotFound' ? HttpStatus.NOT_FOUND : HttpStatus.BAD_GATEWAY;
      message = `vCenter: ${exception.faultName}: ${exception.message}`;
      this.logger.warn(message);
    } else if (exception instanceof VimConnectionError || exception instanceof ManagerError) {
      status = HttpStatus.BAD_GATEWAY;
      message = exception.message;
      this.logger.warn(message);
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
    case 502: return 'hdm.error.upstream';
    default: return status >= 500 ? 'hdm.error.internal' : 'hdm.error.request';
  }
}
