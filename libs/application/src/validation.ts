import { AppError, isInstantWithOffset, isValidRpps, type ErrorCode } from '@forfait/events';
import { registerDecorator, type ValidationOptions } from 'class-validator';

/** The codes of a request that does not fit the contract (api.md, "Errors": 400). */
export type RequestValidationCode = Extract<
  ErrorCode,
  'VALIDATION_FAILED' | 'INVALID_RPPS' | 'INVALID_YEAR' | 'INVALID_INSTANT' | 'INVALID_IF_MATCH' | 'FILE_REQUIRED'
>;

/** A body, parameter or imported item that does not fit the contract: 400 over HTTP, nothing written. */
export class RequestValidationError extends AppError {
  readonly code: ErrorCode;
  constructor(message: string, details: Record<string, unknown> = {}, code: RequestValidationCode = 'VALIDATION_FAILED') {
    super(message, details);
    this.code = code;
  }
}

export function IsRpps(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isRpps',
      target: target.constructor,
      propertyName,
      options: { message: `${propertyName} must be an RPPS: 11 digits with a valid Luhn check digit`, ...options },
      validator: { validate: (v: unknown) => isValidRpps(v) },
    });
}

export function IsInstant(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isInstant',
      target: target.constructor,
      propertyName,
      options: { message: `${propertyName} must be an ISO-8601 instant with an offset (2024-01-15T10:00:00+01:00)`, ...options },
      validator: { validate: (v: unknown) => typeof v === 'string' && isInstantWithOffset(v) },
    });
}
