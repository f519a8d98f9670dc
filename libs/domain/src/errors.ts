import { AppError, REFUSAL_CODES } from '@forfait/events';

/** A command the rules refuse. Its `code` is stable; the API maps it to HTTP in one filter. */
export class DomainRefusal extends AppError {
  constructor(
    readonly code: DomainRefusalCode,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message, details);
  }
}

/** The refusals of the rules, listed with every other stable code in libs/events (ERROR_CODES). */
export { REFUSAL_CODES };
export type DomainRefusalCode = (typeof REFUSAL_CODES)[number];

export const refuse = (code: DomainRefusalCode, message: string, details: Record<string, unknown> = {}): never => {
  throw new DomainRefusal(code, message, details);
};
