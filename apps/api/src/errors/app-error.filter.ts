import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { AppError, type ErrorCode } from '@forfait/events';
import type { Request, Response } from 'express';
import { ReplayedAnswer } from '../core/idempotency';

/**
 * HTTP status of each stable error code, typed against the union of codes (ERROR_CODES): a code
 * added there does not compile until it is given its status here, so none becomes a 422 by default.
 */
export const STATUS_OF_CODE: Record<ErrorCode, number> = {
  UNAUTHENTICATED: HttpStatus.UNAUTHORIZED,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  CHANNEL_NOT_ALLOWED: HttpStatus.FORBIDDEN,
  EFFECTIVE_AT_NOT_ALLOWED: HttpStatus.FORBIDDEN,
  // 422: understood and refused by the rules (api.md's table), listed so that each has its status.
  MODALITY_NOT_ALLOWED: HttpStatus.UNPROCESSABLE_ENTITY,
  DEVICE_NOT_ALLOWED: HttpStatus.UNPROCESSABLE_ENTITY,
  SOFTWARE_NOT_REFERENCED: HttpStatus.UNPROCESSABLE_ENTITY,
  ATTESTATION_REQUIRED: HttpStatus.UNPROCESSABLE_ENTITY,
  AMENDMENT_INVALID: HttpStatus.UNPROCESSABLE_ENTITY,
  EXTENSION_NOT_LATER: HttpStatus.UNPROCESSABLE_ENTITY,
  PAYMENT_ABOVE_MAXIMUM: HttpStatus.UNPROCESSABLE_ENTITY,
  EFFECTIVE_AT_IN_FUTURE: HttpStatus.UNPROCESSABLE_ENTITY,
  RULESET_UNKNOWN: HttpStatus.UNPROCESSABLE_ENTITY,
  RULESET_YEAR_MISMATCH: HttpStatus.UNPROCESSABLE_ENTITY,
  INVALID_WINDOW: HttpStatus.UNPROCESSABLE_ENTITY,
  INDICATOR_UNKNOWN: HttpStatus.UNPROCESSABLE_ENTITY,
  REASON_REQUIRED: HttpStatus.UNPROCESSABLE_ENTITY,
  VALUE_INVALID: HttpStatus.UNPROCESSABLE_ENTITY,
  SEGUR_DEADLINE_PASSED: HttpStatus.CONFLICT,
  VALIDATION_FAILED: HttpStatus.BAD_REQUEST,
  INVALID_RPPS: HttpStatus.BAD_REQUEST,
  INVALID_YEAR: HttpStatus.BAD_REQUEST,
  INVALID_INSTANT: HttpStatus.BAD_REQUEST,
  INVALID_IF_MATCH: HttpStatus.BAD_REQUEST,
  FILE_REQUIRED: HttpStatus.BAD_REQUEST,
  STALE_REVISION: HttpStatus.PRECONDITION_FAILED,
  EVENT_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  STREAM_DELETED: HttpStatus.GONE,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  UNSUPPORTED_MEDIA_TYPE: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  UNSUPPORTED_CONTENT_ENCODING: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  HEADERS_TOO_LARGE: 431,
  INVALID_EVENT: HttpStatus.UNPROCESSABLE_ENTITY,
  UNKNOWN_EVENT: HttpStatus.INTERNAL_SERVER_ERROR,
  NOT_FOUND: HttpStatus.NOT_FOUND,
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
  PAYMENT_DUPLICATE: HttpStatus.CONFLICT,
  IDEMPOTENCY_KEY_REUSED: HttpStatus.UNPROCESSABLE_ENTITY,
  DOCTOR_NOT_FOUND: HttpStatus.NOT_FOUND,
  READ_MODELS_BEHIND: HttpStatus.SERVICE_UNAVAILABLE,
  JOBS_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  STORE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  CLOCK_SKEW: HttpStatus.SERVICE_UNAVAILABLE,
  IDP_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  JOB_NOT_FOUND: HttpStatus.NOT_FOUND,
  TREE_SIZE_TOO_LARGE: HttpStatus.BAD_REQUEST,
  CHECKPOINT_NOT_FOUND: HttpStatus.NOT_FOUND,
  COSIGNATURE_INVALID: HttpStatus.UNPROCESSABLE_ENTITY,
  // Understood and refused by the rules: 422, as api.md's table says of the rules' refusals.
  CAMPAIGN_NOT_OPEN_YET: HttpStatus.UNPROCESSABLE_ENTITY,
  AMENDMENT_NOT_APPLICABLE: HttpStatus.UNPROCESSABLE_ENTITY,
  INDICATOR_NOT_DECLARATIVE: HttpStatus.UNPROCESSABLE_ENTITY,
  PREFILL_SOURCE_INVALID: HttpStatus.UNPROCESSABLE_ENTITY,
  INDICATOR_NOT_CONTROLLED: HttpStatus.UNPROCESSABLE_ENTITY,
  NOTHING_TO_CONTEST: HttpStatus.UNPROCESSABLE_ENTITY,
  AMOUNT_INVALID: HttpStatus.UNPROCESSABLE_ENTITY,
  // Two processes writing one checkpoint directory: 422 as before the codes were typed.
  CHECKPOINT_DIRECTORY_CONFLICT: HttpStatus.UNPROCESSABLE_ENTITY,
};

/** The status of an AppError's code (a code from outside the union, which the types rule out, is a 500: a fault, not a refusal). */
export function statusOfCode(code: string): number {
  return (STATUS_OF_CODE as Record<string, number | undefined>)[code] ?? HttpStatus.INTERNAL_SERVER_ERROR;
}

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
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
  503: 'UNAVAILABLE',
};

/**
 * The error envelope of api.md. The filter below writes it for everything Nest sees; the HTTP
 * layer's own refusals (body parser, sizes, encodings, Node's client errors) use it too.
 */
export function errorBody(statusCode: number, code: string, message: string): { statusCode: number; error: string; message: string; code: string } {
  return { statusCode, error: httpReason(statusCode), message, code };
}

/** The one place where errors become HTTP: `{ statusCode, error, message, code }` (api.md). */
@Catch()
export class AppErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (exception instanceof ReplayedAnswer) {
      response.status(exception.status).json(exception.body);
      return;
    }
    let statusCode: number;
    let message: string;
    let code: string;
    let details: Record<string, unknown> | undefined;
    if (exception instanceof AppError) {
      statusCode = statusOfCode(exception.code);
      message = exception.message;
      code = exception.code;
      details = Object.keys(exception.details).length > 0 ? exception.details : undefined;
      // The pool reconnects by itself; a client may come back shortly.
      if (exception.code === 'STORE_UNAVAILABLE') response.setHeader('retry-after', '2');
    } else if (exception instanceof HttpException) {
      statusCode = exception.getStatus();
      const body = exception.getResponse();
      // getResponse() is a string or the object given to the exception (typed object, may be anything).
      const b = (typeof body === 'object' ? body : { message: body }) as Record<string, unknown>;
      message = Array.isArray(b.message) ? b.message.join('; ') : typeof b.message === 'string' ? b.message : exception.message;
      code = typeof b.code === 'string' ? b.code : (CODE_OF_STATUS[statusCode] ?? `HTTP_${statusCode}`);
      // A form the multipart parser cannot read (a NUL in a part header, a cut body): refused like
      // malformed JSON (request-limits.ts), VALIDATION_FAILED, not a bare BAD_REQUEST.
      if (code === 'BAD_REQUEST' && Boolean(host.switchToHttp().getRequest<Request>().is('multipart/form-data'))) {
        code = 'VALIDATION_FAILED';
        message = `formulaire multipart mal formé (${message})`;
      }
      // api.md: a 404 (no such route) says where the routes are described.
      if (statusCode === (HttpStatus.NOT_FOUND as number) && code === 'NOT_FOUND') {
        // Nest's router says "Cannot GET /x" (English): the route is named again in French.
        const route = /^Cannot (\S+) (.*)$/.exec(message);
        message = `${route ? `${route[1]} ${route[2]}` : message} : aucune route ici ; les routes de l’API sont décrites sur /docs`;
      }
    } else {
      statusCode = HttpStatus.INTERNAL_SERVER_ERROR;
      message = 'erreur interne du serveur : elle est journalisée ; réessayez ou signalez-la avec l’heure de la requête';
      code = 'INTERNAL_ERROR';
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    if (exception instanceof AppError && typeof exception.details.retryAfterSeconds === 'number') {
      response.setHeader('Retry-After', String(exception.details.retryAfterSeconds));
    }
    response.status(statusCode).json({ ...errorBody(statusCode, code, message), ...(details ? { details } : {}) });
  }
}

function httpReason(status: number): string {
  if (status === 431) return 'Request Header Fields Too Large';
  const name = HttpStatus[status];
  return typeof name === 'string'
    ? name
        .toLowerCase()
        .split('_')
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join(' ')
    : 'Error';
}
