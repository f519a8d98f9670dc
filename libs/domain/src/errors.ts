import { AppError } from '@forfait/events';

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

export const REFUSAL_CODES = [
  'CAMPAIGN_NOT_FOUND',
  'CAMPAIGN_EXISTS',
  'CAMPAIGN_CLOSED',
  'CAMPAIGN_NOT_OPEN_YET',
  'RULESET_UNKNOWN',
  'RULESET_YEAR_MISMATCH',
  'INVALID_WINDOW',
  'EXTENSION_NOT_LATER',
  'CALCULATION_ALREADY_RUN',
  'AMENDMENT_NOT_APPLICABLE',
  'INDICATOR_UNKNOWN',
  'INDICATOR_NOT_DECLARATIVE',
  'VALUE_INVALID',
  'MODALITY_NOT_ALLOWED',
  'DEVICE_NOT_ALLOWED',
  'ATTESTATION_REQUIRED',
  'EFFECTIVE_AT_IN_FUTURE',
  'CHANNEL_NOT_ALLOWED',
  'PREFILL_SOURCE_INVALID',
  'JUSTIFICATIF_NOT_FOUND',
  'JUSTIFICATIF_ALREADY_DECIDED',
  'REASON_REQUIRED',
  'CONTROL_NOT_FOUND',
  'CONTROL_CLOSED',
  'CONTROL_NOT_CLOSED',
  'INDICATOR_NOT_CONTROLLED',
  'RECOVERY_TIME_BARRED',
  'CONTESTATION_TOO_LATE',
  'CONTESTATION_EXISTS',
  'CONTESTATION_NOT_FOUND',
  'CONTESTATION_ALREADY_DECIDED',
  'NOTHING_TO_CONTEST',
  'AMOUNT_INVALID',
] as const;
export type DomainRefusalCode = (typeof REFUSAL_CODES)[number];

export const refuse = (code: DomainRefusalCode, message: string, details: Record<string, unknown> = {}): never => {
  throw new DomainRefusal(code, message, details);
};
