import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { findJsonProblem } from '@forfait/application';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { RequestValidationError } from './validation';

/**
 * The fields of a multipart form, checked as a JSON body is (request-limits.ts, `jsonBodyCheck`):
 * NUL characters and lone surrogates, which PostgreSQL's jsonb refuses (a 500 otherwise), and
 * prototype keys. A field holding a JSON array (`subjects`, `rpps`: api.md) is checked as decoded
 * too, the only way a lone surrogate can arrive in a form (UTF-8 cannot carry one).
 * Placed after the FileInterceptor (the fields are parsed then) and before IdempotencyInterceptor
 * and the handler: a refused form keeps nothing, neither a key nor a file.
 */
export function formFieldsProblem(fields: unknown): string | undefined {
  if (fields === undefined || fields === null || typeof fields !== 'object') return undefined;
  const problem = findJsonProblem(fields, { root: 'form' });
  if (problem) return problem.message;
  for (const [name, value] of Object.entries(fields)) {
    const values: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const v of values) {
      if (typeof v !== 'string' || !v.trim().startsWith('[')) continue;
      let decoded: unknown;
      try {
        decoded = JSON.parse(v);
      } catch {
        continue; // not JSON: the handler says what the field should be
      }
      const inner = findJsonProblem(decoded, { root: `form.${name}` });
      if (inner) return inner.message;
    }
  }
  return undefined;
}

@Injectable()
export class FormFieldsCheck implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    const problem = formFieldsProblem(req.body);
    if (problem) throw new RequestValidationError(problem);
    return next.handle();
  }
}
