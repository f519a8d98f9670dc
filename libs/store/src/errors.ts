import { AppError, EventTooLargeError } from '@forfait/events';

/**
 * The database cannot be reached (refused, reset, shut down by an administrator, restarting, no
 * connection within the pool's timeout, a query that outlived its timeout). Every such failure of
 * the SQL adapter becomes this one error, translated once in `PgDatabase` (STYLE.md rule 6); the
 * API answers 503 STORE_UNAVAILABLE and the projector resumes from its checkpoint later.
 *
 * `phase` says how far the work went: `connect` (no connection: nothing was sent), `query` (lost
 * while a statement ran), `commit` (lost while a commit was on its way: `outcomeUnknown`, it may
 * or may not have committed). A retry stays safe because every event carries its `eventId`
 * (unique in `es_events`): re-sending the same events (imports derive ids from content; the API
 * will with Idempotency-Key) is refused as a duplicate instead of being written twice, and a
 * command without them re-reads the stream and decides again on what was really committed.
 */
export class StoreUnavailableError extends AppError {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(
    cause: unknown,
    readonly phase: 'connect' | 'query' | 'commit' = 'query',
  ) {
    const outcomeUnknown = phase === 'commit';
    super(
      outcomeUnknown
        ? "La base de données a été perdue pendant l'enregistrement : il n'est pas certain que la commande ait été enregistrée ; relisez avant de la renvoyer."
        : 'La base de données est momentanément indisponible ; réessayez dans quelques instants.',
      outcomeUnknown ? { outcomeUnknown: true } : {},
    );
    this.cause = cause;
  }

  get outcomeUnknown(): boolean {
    return this.phase === 'commit';
  }
}

/**
 * The writer's clock is ahead of the database's by more than the store allows (issue 14): the
 * events would be recorded in the future, and every later append held at that instant. Nothing
 * was written; the host's clock needs fixing (NTP). The API answers 503, as for a store it cannot
 * use.
 */
export class ClockSkewError extends AppError {
  readonly code = 'CLOCK_SKEW';
  constructor(writerTime: string, databaseTime: string, maxAheadMs: number) {
    super(
      `L'horloge de ce serveur (${writerTime}) est en avance de plus de ${Math.round(maxAheadMs / 1000)} s sur celle de la base de données (${databaseTime}) : rien n'a été enregistré.`,
      { writerTime, databaseTime, maxAheadMs },
    );
  }
}

/** SQLSTATEs of a server that is gone or going: connection exceptions (class 08), shutdowns. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** What `pg` and `pg-pool` say when a connection ends or never comes (they set no code). */
const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Query read timeout/i,
  /not queryable/i,
  /canceling statement due to statement timeout/i,
];

/** Whether `error` says the database is out of reach (rather than the query being wrong). */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  const e = error as { code?: unknown; message?: unknown; errors?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_ERRNOS.has(code)) return true;
  if (code === '57014' && typeof e.message === 'string' && /statement timeout/.test(e.message)) return true;
  // Node reports a refused dual-stack connection as an AggregateError of one error per address.
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isConnectionError)) return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(e.message as string));
}

/** The adapter's one translation: connection-class failures become StoreUnavailableError. */
export function translateStoreError(error: unknown, phase: StoreUnavailableError['phase'] = 'query'): unknown {
  if (error instanceof StoreUnavailableError) return error;
  return isConnectionError(error) ? new StoreUnavailableError(error, phase) : error;
}

/**
 * A whole append over the store's limit on one write (EventStoreDB's `MaxAppendSize`, 1 MiB by
 * default, counts every event of the append together): nothing is written. The API answers 413
 * like a single event too large (same code), so a client splits its write or its content.
 */
export class AppendTooLargeError extends EventTooLargeError {
  constructor(streamId: string, events: number, bytes: number, limitBytes: number) {
    super(`append of ${events} event(s) to ${streamId}`, bytes, limitBytes);
    this.message =
      `the ${events} event(s) appended to ${streamId} are ${bytes} bytes together, over the store's limit of ${limitBytes} bytes for one append; ` +
      'append them in several commands, or store large content (files) outside the events and reference it by hash';
  }
}

/** The stream was deleted (tombstoned) in the store behind the application's back: nothing is written to it. */
export class DeletedStreamError extends AppError {
  readonly code = 'STREAM_DELETED';
  constructor(
    readonly streamId: string,
    cause?: unknown,
  ) {
    super(`stream ${streamId} was deleted from the event store; it can be neither read nor written`, { streamId });
    this.cause = cause;
  }
}
