/** The refusals of the rules (libs/domain's deciders raise them as DomainRefusal). */
export const REFUSAL_CODES = [
  'CAMPAIGN_NOT_FOUND',
  'CAMPAIGN_EXISTS',
  'CAMPAIGN_CLOSED',
  'SEGUR_DEADLINE_PASSED',
  'SOFTWARE_NOT_REFERENCED',
  'CAMPAIGN_NOT_OPEN_YET',
  'RULESET_UNKNOWN',
  'RULESET_YEAR_MISMATCH',
  'INVALID_WINDOW',
  'EXTENSION_NOT_LATER',
  'CALCULATION_ALREADY_RUN',
  'AMENDMENT_NOT_APPLICABLE',
  'AMENDMENT_INVALID',
  'INDICATOR_UNKNOWN',
  'INDICATOR_NOT_DECLARATIVE',
  'VALUE_INVALID',
  'MODALITY_NOT_ALLOWED',
  'DEVICE_NOT_ALLOWED',
  'ATTESTATION_REQUIRED',
  'EFFECTIVE_AT_IN_FUTURE',
  'CHANNEL_NOT_ALLOWED',
  'EFFECTIVE_AT_NOT_ALLOWED',
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
  'PAYMENT_DUPLICATE',
  'PAYMENT_ABOVE_MAXIMUM',
  'DOCTOR_NOT_FOUND',
] as const;

/**
 * Every stable code the project answers with (api.md, "Errors"): the rules' refusals, the
 * boundary's (authentication, validation, sizes, rates), the store's and the jobs'. An AppError's
 * code is one of them, and the API's table (STATUS_OF_CODE) must give each its HTTP status: a new
 * code is added here and cannot reach a client without a status chosen for it.
 */
export const ERROR_CODES = [
  ...REFUSAL_CODES,
  // Authentication, authorisation, the HTTP boundary.
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION_FAILED',
  'INVALID_RPPS',
  'INVALID_YEAR',
  'INVALID_INSTANT',
  'INVALID_IF_MATCH',
  'FILE_REQUIRED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNSUPPORTED_CONTENT_ENCODING',
  'HEADERS_TOO_LARGE',
  'RATE_LIMITED',
  'IDEMPOTENCY_KEY_REUSED',
  // The store, the log, the read models, the jobs.
  'STALE_REVISION',
  'EVENT_TOO_LARGE',
  'INVALID_EVENT',
  'UNKNOWN_EVENT',
  'STREAM_DELETED',
  'STORE_UNAVAILABLE',
  'CLOCK_SKEW',
  'IDP_UNAVAILABLE',
  'CHECKPOINT_DIRECTORY_CONFLICT',
  'TREE_SIZE_TOO_LARGE',
  'CHECKPOINT_NOT_FOUND',
  'COSIGNATURE_INVALID',
  'READ_MODELS_BEHIND',
  'JOBS_UNAVAILABLE',
  'JOB_NOT_FOUND',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Every error the project raises on purpose carries a stable `code`, which API consumers key on.
 * One exception filter maps them to HTTP; domain and job code never throw HTTP exceptions.
 */
export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  /** Extra facts a consumer may need (field names, limits, the revision expected…). */
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The stream moved since the writer read it: optimistic concurrency lost (API: 412). */
export class ConcurrencyError extends AppError {
  readonly code = 'STALE_REVISION';
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: string,
    /** The store's position the stream had reached when the write was refused (a read with minPosition shows that state), when known. */
    readonly position?: string,
  ) {
    super(`stream ${streamId} is at revision ${actual}, the writer expected ${expected}`, {
      streamId,
      expected,
      actual,
      ...(position !== undefined ? { position } : {}),
    });
  }
}

/** An event whose canonical JSON exceeds the store's limit; nothing of the append is written. */
export class EventTooLargeError extends AppError {
  readonly code = 'EVENT_TOO_LARGE';
  constructor(
    readonly eventType: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `event ${eventType} is ${bytes} bytes once serialised, over the store's limit of ${limitBytes} bytes; ` +
        'store large content (files) outside the event and reference it by hash',
      { eventType, bytes, limitBytes },
    );
  }
}

/** An event that does not fit the envelope (missing metadata, bad instant, bad stream name). */
export class InvalidEventError extends AppError {
  readonly code = 'INVALID_EVENT';
}
