import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { AppError } from '@forfait/events';
import type { Response } from 'express';

/** HTTP status of each stable error code; an AppError not listed is a 422 (understood, refused). */
export const STATUS_OF_CODE: Record<string, number> = {
  UNAUTHENTICATED: HttpStatus.UNAUTHORIZED,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  CHANNEL_NOT_ALLOWED: HttpStatus.FORBIDDEN,
  VALIDATION_FAILED: HttpStatus.BAD_REQUEST,
  INVALID_RPPS: HttpStatus.BAD_REQUEST,
  INVALID_YEAR: HttpStatus.BAD_REQUEST,
  INVALID_INSTANT: HttpStatus.BAD_REQUEST,
  INVALID_IF_MATCH: HttpStatus.BAD_REQUEST,
  FILE_REQUIRED: HttpStatus.BAD_REQUEST,
  STALE_REVISION: HttpStatus.PRECONDITION_FAILED,
  EVENT_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  UNSUPPORTED_MEDIA_TYPE: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  INVALID_EVENT: HttpStatus.UNPROCESSABLE_ENTITY,
  UNKNOWN_EVENT: HttpStatus.INTERNAL_SERVER_ERROR,
  CAMPAIGN_NOT_FOUND: HttpStatus.NOT_FOUND,
  JUSTIFICATIF_NOT_FOUND: HttpStatus.NOT_FOUND,
  CONTROL_NOT_FOUND: HttpStatus.NOT_FOUND,
  CONTESTATION_NOT_FOUND: HttpStatus.NOT_FOUND,
  CAMPAIGN_EXISTS: HttpStatus.CONFLICT,
  CAMPAIGN_CLOSED: HttpStatus.CONFLICT,
  CALCULATION_ALREADY_RUN: HttpStatus.CONFLICT,
  JUSTIFICATIF_ALREADY_DECIDED: HttpStatus.CONFLICT,
  CONTROL_CLOSED: HttpStatus.CONFLICT,
  CONTROL_NOT_CLOSED: HttpStatus.CONFLICT,
  CONTESTATION_EXISTS: HttpStatus.CONFLICT,
  CONTESTATION_ALREADY_DECIDED: HttpStatus.CONFLICT,
  CONTESTATION_TOO_LATE: HttpStatus.CONFLICT,
  RECOVERY_TIME_BARRED: HttpStatus.CONFLICT,
  READ_MODELS_BEHIND: HttpStatus.SERVICE_UNAVAILABLE,
  JOBS_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  JOB_NOT_FOUND: HttpStatus.NOT_FOUND,
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
