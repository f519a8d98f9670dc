import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { RequestValidationError } from '../validation';

const TYPE_CONSTRAINTS = new Set(['isInt', 'isNumber', 'isBoolean', 'isString', 'isArray', 'isObject', 'whitelistValidation']);

function messages(errors: ValidationError[], parent: string): string[] {
  return errors.flatMap((e) => {
    const field = `${parent}.${e.property}`;
    // A value of the wrong type is said so alone: "must be an integer", not "must not be less than 0" for the text "bad".
    const all = e.constraints ?? {};
    const typeErrors = Object.entries(all).filter(([name]) => TYPE_CONSTRAINTS.has(name));
    const shown = typeErrors.length > 0 ? typeErrors.map(([, m]) => m) : Object.values(all);
    return [...shown.map((m) => `${field}: ${m}`), ...messages(e.children ?? [], field)];
  });
}

/** Validates a nested value against its DTO class (whitelist, no unknown fields); returns the plain value. */
export function validateValue<T extends object>(dto: new () => T, value: unknown, field: string): T {
  const instance = plainToInstance(dto, value);
  const errors = validateSync(instance as object, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length > 0) {
    const list = messages(errors, field);
    throw new RequestValidationError(list.join(' | '), { fields: list });
  }
  return JSON.parse(JSON.stringify(instance)) as T;
}
