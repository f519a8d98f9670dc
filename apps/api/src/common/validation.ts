import { Injectable, ValidationPipe, type PipeTransform, type ValidationError } from '@nestjs/common';
import { isInstantWithOffset, isValidRpps } from '@forfait/events';
import { RequestValidationError } from '@forfait/application';
import { FIRST_CAMPAIGN_YEAR } from '@forfait/domain';

/** Defined with the application layer (imports validate their items with them too); named here for the HTTP layer. */
export { IsInstant, IsRpps, RequestValidationError } from '@forfait/application';

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

/**
 * A command without parameters (transmission, control closure): no body, or `{}`; any field is an
 * unknown field (400), as whitelisting would say of a DTO with none.
 */
@Injectable()
export class EmptyBodyPipe implements PipeTransform<unknown, Record<string, never>> {
  transform(value: unknown): Record<string, never> {
    if (value === undefined) return {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new RequestValidationError('body : un objet JSON vide {} est attendu', { fields: [{ field: 'body', problems: ['must be an empty object'] }] });
    }
    const keys = Object.keys(value);
    if (keys.length > 0) {
      const fields = keys.map((k) => ({ field: k, problems: [`property ${k} should not exist`] }));
      throw new RequestValidationError(fields.map((f) => `${f.field}: ${f.problems.join('; ')}`).join(' | '), { fields });
    }
    return {};
  }
}

@Injectable()
export class RppsPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isValidRpps(value))
      throw new RequestValidationError(`"${value as string}" is not an RPPS (11 digits with a valid Luhn check digit)`, {}, 'INVALID_RPPS');
    return value;
  }
}

@Injectable()
export class YearPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    const year = Number(value);
    if (!/^\d{4}$/.test(value) || year < FIRST_CAMPAIGN_YEAR || year > 2100)
      throw new RequestValidationError(`"${value}" is not a campaign year`, {}, 'INVALID_YEAR');
    return year;
  }
}

/** An optional instant in the query string (knownAt, from, to). */
export function parseInstant(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isInstantWithOffset(value)) {
    // An unencoded "+01:00" arrives as " 01:00" (a + in a query string is a space): say how to send it.
    const hint = / \d{2}:\d{2}$/.test(value) ? ' ; dans une URL, encodez + en %2B : 2024-01-20T10:00:00%2B01:00' : '';
    throw new RequestValidationError(
      `${name} : un instant ISO 8601 avec son décalage est attendu (2024-01-20T10:00:00+01:00)${hint}`,
      { field: name },
      'INVALID_INSTANT',
    );
  }
  return new Date(value).toISOString();
}

/** If-Match: 3 or "3" (an ETag). */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(-?\d+)"?\s*$/.exec(header);
  if (!m) throw new RequestValidationError('If-Match must be the revision returned as ETag', {}, 'INVALID_IF_MATCH');
  return Number(m[1]);
}
