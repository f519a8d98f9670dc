import type { NewEvent, RecordedEvent } from '@forfait/events';

/**
 * What the writer believes the stream's last revision is: a 0-based revision, `no_stream`
 * (the stream must not exist), `stream_exists`, or `any` (no check).
 */
export type ExpectedRevision = number | 'no_stream' | 'stream_exists' | 'any';

export interface AppendResult {
  streamId: string;
  /** Revision of the last event appended: the stream's new revision (an ETag for the API). */
  revision: number;
  /** Global position of the last event appended: wait for projections to reach it. */
  position: bigint;
  events: RecordedEvent[];
}

/** One stream's part of a batch append. */
export interface AppendRequest {
  streamId: string;
  events: NewEvent[];
  expectedRevision: ExpectedRevision;
  /**
   * The stream's head as the writer just read it (null: no stream). A hint that lets the SQL stores
   * chain the events in the process; it is checked under the lock like everything else, and a
   * stale one only makes the statement chain them itself.
   */
  head?: { revision: number; lastHash: string } | null;
}

export interface ReadStreamOptions {
  fromRevision?: number;
  maxCount?: number;
}

export interface ReadStreamsOptions {
  /**
   * More streams, of which only the events of `types` are wanted (the entitlement's earlier years:
   * the types it reads of them). Their events keep their stored revisions, so a partial stream has
   * gaps in them; a stream also named whole comes whole. Stores that cannot filter server-side
   * (EventStoreDB) read these whole and filter in the process.
   */
  partial?: { streamIds: readonly string[]; types: readonly string[] };
  /**
   * Less of each event, for a reader that computes from the events and keeps nothing of their
   * envelope (the entitlement's recompute): the metadata with `metadataKeys` only, besides the times;
   * the data of the `withoutDataOf` types as `{}`; `prevHash` and `hash` as ''. Stores that cannot
   * narrow server-side (EventStoreDB) return the whole events.
   */
  narrow?: { metadataKeys: readonly string[]; withoutDataOf: readonly string[] };
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. 0n (the default) reads from the start. */
  after?: bigint;
  maxCount: number;
  /**
   * Only events of these types come whole; the others come as headers (ids, stream, revision,
   * type, position, times, hashes) with `data` null and `metadata` holding the two times only.
   * For readers that need most events only to know they happened (a rebuild). Stores that cannot
   * leave the payload behind (EventStoreDB) send every event whole.
   */
  fullTypes?: readonly string[];
  /**
   * Only where each event is (position, id, stream, revision, type, schema version): times and
   * hashes '', `data` null, `metadata` holding the two empty times. For a reader that lets the database copy the events
   * themselves (a server-side projection: it needs each batch's bounds, not its events). Stores that
   * cannot leave the rest behind (EventStoreDB) send every event whole.
   */
  placesOnly?: boolean;
}

/** What a subscription reads of each event is what readAll reads (`fullTypes`, `placesOnly`). */
export interface SubscribeOptions extends Pick<ReadAllOptions, 'fullTypes' | 'placesOnly'> {
  /** Exclusive checkpoint: the position of the last event already handled (0n: from the start). */
  after: bigint;
  /** Largest batch handed to the handler at once. */
  batchSize?: number;
}

/**
 * A catch-up subscription: hands every committed event after the checkpoint to the handler, in
 * global order, exactly once, batch by batch; the next batch waits for the handler's promise.
 */
export interface Subscription {
  /** Position of the last event the handler finished with. */
  readonly position: bigint;
  /** Resolves when stopped; rejects with the handler's (or the store's) error, which stops it. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export type BatchHandler = (batch: RecordedEvent[]) => Promise<void>;

export type StoreKind = 'embedded' | 'postgres' | 'eventstore';

/** The event-store port (architecture.md, "Event store"). Every adapter passes one contract suite. */
export interface EventStore {
  readonly kind: StoreKind;
  append(streamId: string, events: NewEvent[], options: { expectedRevision: ExpectedRevision; head?: AppendRequest['head'] }): Promise<AppendResult>;
  /**
   * Appends to several streams (each named once). SQL stores: one transaction, all or nothing, in
   * request order. EventStoreDB has no multi-stream transaction: each stream is atomic, the batch
   * is not (`atomicBatches` false), and it stops at the first refused request.
   */
  appendBatch(requests: AppendRequest[]): Promise<AppendResult[]>;
  /** Whether appendBatch is all or nothing across streams. */
  readonly atomicBatches: boolean;
  /** The stream's events in revision order; [] for a stream that does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Several streams at once (bulk imports), each in revision order; absent streams are absent keys. */
  readStreams(streamIds: string[], options?: ReadStreamsOptions): Promise<Map<string, RecordedEvent[]>>;
  /** Events of every stream in global order. */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Position of the last committed event (0n for an empty store). */
  headPosition(): Promise<bigint>;
  subscribeAll(options: SubscribeOptions, handler: BatchHandler): Subscription;
  close(): Promise<void>;
}

/** Default limit on one event's serialised size (data and metadata): 1 MiB. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
