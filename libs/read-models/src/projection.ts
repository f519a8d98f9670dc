import type { RecordedEvent } from '@forfait/events';
import type { ReadStreamsOptions, SqlExecutor } from '@forfait/store';

/**
 * A read model fed by the event stream: `apply` is `evolve(readModel, events)` written as SQL,
 * idempotent (applying a batch twice leaves the same rows), run in the transaction that also moves
 * the projection's checkpoint.
 */
export interface Projection {
  /** Stable name, also the checkpoint's key. */
  readonly name: string;
  /** Bumped when the read model's shape changes; a new version is rebuilt from zero. */
  readonly version: number;
  /** The tables it owns, moved together when a rebuild is swapped in. */
  readonly tables: readonly string[];
  /**
   * The event types whose data and metadata `apply` reads; the others it only needs to know of
   * (stream, position, type, times). `sharedDatabase`: the store's events are in the read models'
   * database. Absent: every event, whole.
   */
  fullTypes?(sharedDatabase: boolean): readonly string[] | 'all';
  /** Whether `apply` is all SQL run by the database (then a rebuild gives it a connection of its own). */
  serverSide?(sharedDatabase: boolean): boolean;
  /** Creates the read model's tables in `schema` when missing. */
  setup(tx: SqlExecutor, schema: string): Promise<void>;
  apply(tx: SqlExecutor, schema: string, events: RecordedEvent[], context: BatchContext): Promise<void>;
}

export interface BatchContext {
  /** The batch ends at the store's head as read just before it: the projection is caught up. */
  atHead: boolean;
  /** Reads streams from the store (in the batch's transaction where the store shares the database). */
  readStreams(streamIds: string[], options?: ReadStreamsOptions): Promise<Map<string, RecordedEvent[]>>;
  /**
   * Where the store's events are in the read models' database (the SQL stores): their table, so
   * that a projection that copies event columns can let the server do it. Absent for EventStoreDB.
   */
  eventsTable?: string;
}
