/**
 * Every error the project raises on purpose carries a stable `code`, which API consumers key on.
 * One exception filter maps them to HTTP; domain and job code never throw HTTP exceptions.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
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
  ) {
    super(`stream ${streamId} is at revision ${actual}, the writer expected ${expected}`, {
      streamId,
      expected,
      actual,
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
