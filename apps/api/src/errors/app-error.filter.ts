import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { AppError } from '@forfait/events';
import type { Response } from 'express';

/** HTTP status of each stable error code; an AppError not listed is a 422 (understood, refused). */
export const STATUS_OF_CODE: Record<string, number> = {
  STALE_REVISION: HttpStatus.PRECONDITION_FAILED,
  EVENT_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  INVALID_EVENT: HttpStatus.UNPROCESSABLE_ENTITY,
  UNKNOWN_EVENT: HttpStatus.INTERNAL_SERVER_ERROR,
};

const CODE_OF_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  412: 'STALE_REVISION',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  503: 'UNAVAILABLE',
};

/** The one place where errors become HTTP: `{ statusCode, error, message, code }` (api.md). */
@Catch()
export class AppErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    let statusCode: number;
    let message: string;
    let code: string;
    let details: Record<string, unknown> | undefined;
    if (exception instanceof AppError) {
      statusCode = STATUS_OF_CODE[exception.code] ?? HttpStatus.UNPROCESSABLE_ENTITY;
      message = exception.message;
      code = exception.code;
      details = Object.keys(exception.details).length > 0 ? exception.details : undefined;
    } else if (exception instanceof HttpException) {
      statusCode = exception.getStatus();
      const body = exception.getResponse();
      const b = (typeof body === 'object' && body !== null ? body : { message: body }) as Record<string, unknown>;
      message = Array.isArray(b.message) ? b.message.join('; ') : String(b.message ?? exception.message);
      code = typeof b.code === 'string' ? b.code : (CODE_OF_STATUS[statusCode] ?? `HTTP_${statusCode}`);
    } else {
      statusCode = HttpStatus.INTERNAL_SERVER_ERROR;
      message = 'internal error';
      code = 'INTERNAL_ERROR';
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    response.status(statusCode).json({
      statusCode,
      error: httpReason(statusCode),
      message,
      code,
      ...(details ? { details } : {}),
    });
  }
}

function httpReason(status: number): string {
  const name = HttpStatus[status];
  return typeof name === 'string'
    ? name
        .toLowerCase()
        .split('_')
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join(' ')
    : 'Error';
}
