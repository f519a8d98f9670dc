import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { RequestValidationError } from './validation';

function messages(errors: ValidationError[], parent: string): string[] {
  return errors.flatMap((e) => {
    const field = `${parent}.${e.property}`;
    return [...Object.values(e.constraints ?? {}).map((m) => `${field}: ${m}`), ...messages(e.children ?? [], field)];
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
