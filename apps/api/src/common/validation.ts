import { Injectable, ValidationPipe, type PipeTransform, type ValidationError } from '@nestjs/common';
import { AppError, isInstantWithOffset, isValidRpps } from '@forfait/events';
import { registerDecorator, type ValidationOptions } from 'class-validator';

/** A body or parameter that does not fit the contract: 400, nothing written. */
export class RequestValidationError extends AppError {
  readonly code: string;
  constructor(message: string, details: Record<string, unknown> = {}, code = 'VALIDATION_FAILED') {
    super(message, details);
    this.code = code;
  }
}

function flatten(errors: ValidationError[], parent = ''): { field: string; problems: string[] }[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, problems: Object.values(e.constraints) }] : [];
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** Whitelist, refuse unknown fields, transform to the DTO classes; errors name every field. */
export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  exceptionFactory: (errors) => {
    const fields = flatten(errors);
    return new RequestValidationError(fields.map((f) => `${f.field}: ${f.problems.join('; ')}`).join(' | '), { fields });
  },
});

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

@Injectable()
export class RppsPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isValidRpps(value)) throw new RequestValidationError(`"${value}" is not an RPPS (11 digits with a valid Luhn check digit)`, {}, 'INVALID_RPPS');
    return value;
  }
}

@Injectable()
export class YearPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    const year = Number(value);
    if (!/^\d{4}$/.test(value) || year < 2017 || year > 2100) throw new RequestValidationError(`"${value}" is not a campaign year`, {}, 'INVALID_YEAR');
    return year;
  }
}

/** An optional instant in the query string (knownAt, from, to). */
export function parseInstant(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isInstantWithOffset(value)) throw new RequestValidationError(`${name} must be an ISO-8601 instant with an offset`, { field: name }, 'INVALID_INSTANT');
  return new Date(value).toISOString();
}

/** If-Match: 3 or "3" (an ETag). */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(-?\d+)"?\s*$/.exec(header);
  if (!m) throw new RequestValidationError('If-Match must be the revision returned as ETag', {}, 'INVALID_IF_MATCH');
  return Number(m[1]);
}
