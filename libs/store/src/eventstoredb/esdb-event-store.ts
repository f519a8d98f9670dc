import {
  BACKWARDS,
  DeadlineExceededError,
  END,
  FORWARDS,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type EventData,
  type Position,
  type ResolvedEvent,
  type StreamingRead,
} from '@eventstore/db-client';
import { ConcurrencyError, InvalidEventError, assertStreamId, normaliseNewEvent, type EventMetadata, type NewEvent, type RecordedEvent } from '@forfait/events';
import type { Clock } from '@forfait/platform';
import { chainEvents } from '../chain';
import { AppendTooLargeError, DeletedStreamError, StoreUnavailableError } from '../errors';
import {
  DEFAULT_MAX_EVENT_BYTES,
  type AppendRequest,
  type AppendResult,
  type BatchHandler,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ReadStreamsOptions,
  type SubscribeOptions,
  type Subscription,
} from '../port';
import type { AppendFence } from './append-fence';
import { esdbClient, type EsdbClient } from './esdb-client';

const TWO_64 = 1n << 64n;

/** EventStoreDB orders $all by (commit, prepare); both fit in one bigint without loss or reordering. */
export function encodePosition(position: Position): bigint {
  return position.commit * TWO_64 + position.prepare;
}
export function decodePosition(position: bigint): Position {
  return { commit: position / TWO_64, prepare: position % TWO_64 };
}

/** What this adapter keeps in EventStoreDB's metadata beside the envelope. */
interface StoredMetadata extends EventMetadata {
  schemaVersion: number;
  prevHash: string;
  hash: string;
}

/** The server's default `MaxAppendSize`: the whole append (every event's data and metadata together). */
export const DEFAULT_MAX_APPEND_BYTES = 1024 * 1024;
/** Streams read at once by readStreams (the server allows 100 concurrent calls per connection). */
const READ_CONCURRENCY = 8;
/** Appends with 'any' or 'stream_exists' that lost a race are prepared again on the new head. */
const MAX_APPEND_ATTEMPTS = 20;
/**
 * Only the application's events: the server drops system events (`$…` types) and links (`$>`)
 * before they cross the network, on reads of $all as on subscriptions.
 */
const APPLICATION_EVENTS = excludeSystemEvents();
/**
 * The bound of a one-shot read (a stream, a page of $all, the head) when the connection string sets
 * no `defaultDeadline`: the client's own default for appends. The client (6.2.1) creates every read
 * with `deadline: Infinity` and lets no option override it, so a server that stops answering would
 * hold `headPosition()` (on /health, after each projector batch, before each append) for ever.
 */
export const DEFAULT_READ_DEADLINE_MS = 10_000;
/** How long a cancel may wait for its call to exist (the client's cancel awaits it). */
const CANCEL_WAIT_MS = 1_000;

export interface EsdbEventStoreOptions {
  connectionString: string;
  clock: Clock;
  maxEventBytes?: number;
  /** The server's `MaxAppendSize` where it is not the default 1 MiB (a server-side setting). */
  maxAppendBytes?: number;
  /**
   * How long a one-shot read may take before it is cancelled and answers StoreUnavailableError
   * (503): by default the connection string's `defaultDeadline`, else DEFAULT_READ_DEADLINE_MS.
   * Subscriptions have none (they are meant to stay open); keep-alive detects a dead connection.
   */
  readDeadlineMs?: number;
  /** A client other than the one the connection string makes (tests). */
  client?: EsdbClient;
  /**
   * Held around each append, from the reads that choose `recordedAt` to the commit, so that it
   * never goes backwards along $all across processes (PgAppendFence; openStores sets it whenever
   * DATABASE_URL is set). Closed with the store.
   */
  fence?: AppendFence;
}

/**
 * The production store of the design card. Streams, revisions and optimistic concurrency are
 * EventStoreDB's own; the envelope, `recordedAt` and the hash chain travel in each event's metadata.
 * $all is already gap-free and totally ordered, so subscriptions are EventStoreDB's catch-up ones.
 *
 * Every read of the client is a gRPC call that stays open until the server has sent everything or
 * the client cancels it; the server allows 100 per connection. So every read is cancelled in a
 * `finally`, whether it was read to the end, left early or failed.
 */
export class EsdbEventStore implements EventStore {
  readonly kind = 'eventstore' as const;
  /** EventStoreDB transactions are per stream: a batch is appended stream by stream. */
  readonly atomicBatches = false;
  private readonly client: EsdbClient;
  private readonly readDeadlineMs: number;
  private lastRecordedAt = 0;

  constructor(private readonly options: EsdbEventStoreOptions) {
    this.client = options.client ?? esdbClient(options.connectionString);
    this.readDeadlineMs = options.readDeadlineMs ?? connectionDeadline(options.connectionString) ?? DEFAULT_READ_DEADLINE_MS;
  }

  /** Whether appends are fenced (recordedAt monotone along $all across processes). */
  get fenced(): boolean {
    return this.options.fence !== undefined;
  }

  async append(streamId: string, events: NewEvent[], { expectedRevision }: { expectedRevision: ExpectedRevision; head?: unknown }): Promise<AppendResult> {
    assertStreamId(streamId);
    const prepared = events.map(normaliseNewEvent);
    assertUniqueIds(prepared);
    // Under the fence (when there is one) from the reads that choose recordedAt to the commit: no
    // other writer's append, in any process, commits in between. The read-back needs no fence.
    const fence = this.options.fence;
    const committed = fence
      ? await fence.hold((stillHeld) => this.commit(streamId, prepared, expectedRevision, stillHeld))
      : await this.commit(streamId, prepared, expectedRevision, () => undefined);
    if ('done' in committed) return committed.done;
    const { recorded, result } = committed;
    return {
      streamId,
      revision: Number(result.nextExpectedRevision),
      position: result.position ? encodePosition(result.position) : 0n,
      events: await this.readBack(streamId, recorded, result),
    };
  }

  private async commit(
    streamId: string,
    prepared: NewEvent[],
    expectedRevision: ExpectedRevision,
    stillHeld: () => void,
  ): Promise<{ done: AppendResult } | { recorded: Omit<RecordedEvent, 'position'>[]; result: { nextExpectedRevision: bigint; position?: Position } }> {
    for (let attempt = 1; ; attempt += 1) {
      // The stream's tail (its head, and the events a retried append would repeat) and $all's last
      // event, read together.
      // Both settle before the append answers: a failure does not leave the other read in flight.
      const [tailRead, lastRead] = await Promise.allSettled([
        this.readStreamRaw(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: Math.min(Math.max(prepared.length, 1), 1000) }),
        this.lastEventOfAll(),
      ]);
      if (tailRead.status === 'rejected') throw tailRead.reason;
      if (lastRead.status === 'rejected') throw lastRead.reason;
      const [tail, lastOfAll] = [tailRead.value, lastRead.value];
      const last = tail[0];
      const current = last ? last.revision : null;
      checkExpected(streamId, expectedRevision, current);
      const stored = new Set(tail.map((e) => e.eventId));
      const repeated = prepared.filter((e) => stored.has(e.eventId));
      if (repeated.length > 0) {
        // EventStoreDB has no index of event ids: the duplicate it can see is the one that matters,
        // a retried append whose first attempt landed (its events are the stream's last ones).
        throw new InvalidEventError('an event with one of these eventIds is already stored', { eventIds: repeated.map((e) => e.eventId) });
      }

      // recordedAt is at least the recordedAt of $all's last event, read just now (and of this
      // process' last write). Under the fence (PgAppendFence, every deployment with DATABASE_URL)
      // no other append commits between that read and this commit, so it never goes backwards
      // along $all, whichever instance writes and whatever their clocks. Without one, EventStoreDB
      // has no lock to make the read and the append one step: two appends to different streams
      // that overlap can commit in the other order, and recordedAt then steps back along $all by at
      // most the writers' clock offset plus the later append's time from this read to its commit
      // (docs/architecture.md "Time"; the stand-in test "steps back along $all by at most the
      // clocks' offset"; esdb-append-fence.int-spec.ts for the fenced case).
      const floor = Math.max(this.lastRecordedAt, recordedAtOf(last), recordedAtOf(lastOfAll));
      const recordedAt = new Date(Math.max(this.options.clock.now().getTime(), floor)).toISOString();
      const maxBytes = this.options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
      const recorded = chainEvents(streamId, prepared, { revision: current, lastHash: last?.hash }, recordedAt, maxBytes);
      if (recorded.length === 0) {
        return { done: { streamId, revision: current ?? -1, position: lastOfAll?.position ?? 0n, events: [] } };
      }

      const payload = recorded.map((e): EventData =>
        jsonEvent({
          id: e.eventId,
          type: e.type,
          data: e.data as Record<string, unknown>,
          metadata: { ...e.metadata, schemaVersion: e.schemaVersion, prevHash: e.prevHash, hash: e.hash } as never,
        }),
      );
      const limit = this.options.maxAppendBytes ?? DEFAULT_MAX_APPEND_BYTES;
      const bytes = appendSize(payload);
      if (bytes > limit) throw new AppendTooLargeError(streamId, payload.length, bytes, limit);

      // The fence lost while the reads ran (its connection ended: another writer may hold it now):
      // nothing is sent, the append answers 503 with nothing written.
      stillHeld();
      let result;
      try {
        // The exact revision the chain was computed on, whatever the writer expected: with 'any' or
        // 'stream_exists', ANY on the wire would let a concurrent append land between, and these
        // events' revisions and prevHash would then name an event that is no longer their
        // predecessor. A lost race is instead prepared again on the new head, as the SQL store does.
        result = await this.client.appendToStream(streamId, payload, { expectedRevision: current === null ? NO_STREAM : BigInt(current) });
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) {
          const retries = expectedRevision === 'any' || expectedRevision === 'stream_exists';
          if (retries && attempt < MAX_APPEND_ATTEMPTS) continue;
          throw new ConcurrencyError(streamId, String(expectedRevision), 'changed by a concurrent writer');
        }
        // Lost on its way (unavailable, deadline): it may have committed; a retry re-reads the tail.
        throw translateEsdbError(error, streamId, 'commit', { events: payload.length, bytes });
      }
      this.lastRecordedAt = Math.max(this.lastRecordedAt, Date.parse(recordedAt));
      return { recorded, result };
    }
  }

  /**
   * The events as committed, with their positions in $all: exactly the ones just appended (by
   * revision, bounded). EventStoreDB answers an append with the last event's position only; when
   * the read-back fails the append has still committed, so it is not reported as failed (a client
   * would retry it): the events are what was sent, each with the append's position (the one to wait
   * for to see them all).
   */
  private async readBack(
    streamId: string,
    recorded: Omit<RecordedEvent, 'position'>[],
    result: { nextExpectedRevision: bigint; position?: Position },
  ): Promise<RecordedEvent[]> {
    const position = result.position ? encodePosition(result.position) : 0n;
    const fromRevision = result.nextExpectedRevision - BigInt(recorded.length - 1);
    try {
      const back = await this.readStreamRaw(streamId, { direction: FORWARDS, fromRevision, maxCount: recorded.length });
      if (back.length === recorded.length && back.every((e, i) => e.eventId === recorded[i]!.eventId)) return back;
    } catch {
      // Committed all the same; see above.
    }
    return recorded.map((e) => ({ ...e, position }));
  }

  async readStreams(whole: string[], options: ReadStreamsOptions = {}): Promise<Map<string, RecordedEvent[]>> {
    const wholeIds = new Set(whole);
    const partial = (options.partial?.streamIds ?? []).filter((id) => !wholeIds.has(id));
    const streamIds = [...wholeIds, ...new Set(partial)];
    const types = new Set(options.partial?.types ?? []);
    const found = new Array<RecordedEvent[] | undefined>(streamIds.length);
    let next = 0;
    const worker = async () => {
      while (next < streamIds.length) {
        const i = next++;
        const events = await this.readStream(streamIds[i]!);
        // The server cannot leave events of other types behind: read whole, filtered here.
        found[i] = i < wholeIds.size ? events : events.filter((e) => types.has(e.type));
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, streamIds.length) }, worker));
    const out = new Map<string, RecordedEvent[]>();
    streamIds.forEach((id, i) => {
      if (found[i]!.length > 0) out.set(id, found[i]!);
    });
    return out;
  }

  async appendBatch(requests: AppendRequest[]): Promise<AppendResult[]> {
    const seen = new Set<string>();
    for (const r of requests) {
      assertStreamId(r.streamId);
      if (seen.has(r.streamId)) throw new InvalidEventError('a batch names each stream once', { streamId: r.streamId });
      seen.add(r.streamId);
    }
    assertUniqueIds(requests.flatMap((r) => r.events));
    const results: AppendResult[] = [];
    for (const r of requests) results.push(await this.append(r.streamId, r.events, { expectedRevision: r.expectedRevision }));
    return results;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.readStreamRaw(streamId, {
      direction: FORWARDS,
      fromRevision: BigInt(options.fromRevision ?? 0),
      maxCount: options.maxCount,
    });
  }

  async readAll({ after = 0n, maxCount }: ReadAllOptions): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    let from = after;
    for (;;) {
      // A read of $all starts at (and includes) its position; the port's `after` is exclusive.
      const page = this.client.readAllFiltered({
        fromPosition: from === 0n ? START : decodePosition(from),
        direction: FORWARDS,
        maxCount: maxCount - out.length + 1,
        filter: APPLICATION_EVENTS,
        deadline: this.readDeadlineMs,
      });
      let seen = 0;
      let lastRaw: bigint | undefined;
      await this.drain(page, '$all', (resolved) => {
        seen += 1;
        if (!resolved.event?.position) return false;
        lastRaw = encodePosition(resolved.event.position);
        const event = this.toRecorded(resolved);
        if (!event || event.position <= after) return false;
        out.push(event);
        return out.length === maxCount;
      });
      if (out.length === maxCount) return out;
      // A short page is the end of $all; a full one whose events were not all ours (foreign, non-JSON) reads on.
      if (seen < maxCount - out.length + 1 || lastRaw === undefined || lastRaw <= from) return out;
      from = lastRaw;
      after = lastRaw > after ? lastRaw : after;
    }
  }

  async headPosition(): Promise<bigint> {
    return (await this.lastEventOfAll())?.position ?? 0n;
  }

  /** $all's last application event: read backwards, the server skipping any number of system events. */
  private async lastEventOfAll(): Promise<RecordedEvent | undefined> {
    const read = this.client.readAllFiltered({
      fromPosition: END,
      direction: BACKWARDS,
      maxCount: 1,
      filter: APPLICATION_EVENTS,
      deadline: this.readDeadlineMs,
    });
    let found: RecordedEvent | undefined;
    await this.drain(read, '$all', (resolved) => {
      const e = resolved.event;
      if (!e?.position) return false;
      found = this.toRecorded(resolved) ?? ({ position: encodePosition(e.position), metadata: {} } as RecordedEvent);
      return true;
    });
    return found;
  }

  /**
   * Reads a one-shot call until `take` says it has enough or the server ends it, within the read
   * deadline, and cancels the call in every case (read to the end, left early, failed, past the
   * deadline): the client never cancels it by itself, and the server keeps at most 100 open per
   * connection, after which every read and append of this process would wait.
   */
  private async drain<E>(read: StreamingRead<E>, streamId: string, take: (item: E) => boolean): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineExceededError(undefined, `no answer from EventStoreDB within ${this.readDeadlineMs} ms`)),
        this.readDeadlineMs,
      );
    });
    expired.catch(() => undefined);
    const items = read[Symbol.asyncIterator]() as AsyncIterator<E>;
    try {
      for (;;) {
        const pending = items.next();
        pending.catch(() => undefined);
        const next = await Promise.race([pending, expired]);
        if (next.done || take(next.value)) return;
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) throw error;
      throw translateEsdbError(error, streamId, 'query');
    } finally {
      clearTimeout(timer);
      // The client's cancel first waits for the call to exist: bounded too, on a server that hangs.
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([read.cancel().catch(() => undefined), new Promise((resolve) => (waited = setTimeout(resolve, CANCEL_WAIT_MS)))]);
      clearTimeout(waited);
      // Releases the stream object itself (destroying it does not end the gRPC call: cancel does).
      void Promise.resolve(items.return?.()).catch(() => undefined);
    }
  }

  /**
   * A catch-up subscription whose events are handed over in batches of up to `batchSize`: a batch
   * goes as soon as it is full or nothing more is buffered (caught up), and the next one is pulled
   * only once the handler's promise has settled (the stream's buffer then applies backpressure to
   * the server). A handler that throws ends the subscription (the gRPC call is cancelled) and
   * `done` rejects with its error; `position` stays at the last batch it finished.
   */
  subscribeAll({ after, batchSize = 500 }: SubscribeOptions, handler: BatchHandler): Subscription {
    const subscription = this.client.subscribeToAll({
      fromPosition: after === 0n ? START : decodePosition(after),
      filter: APPLICATION_EVENTS,
    });
    let current = after;
    let stopping = false;
    const done = (async () => {
      let batch: RecordedEvent[] = [];
      let handlerFailed = false;
      try {
        for await (const resolved of subscription) {
          const event = this.toRecorded(resolved);
          if (event && event.position > (batch.at(-1)?.position ?? current)) batch.push(event);
          if (batch.length > 0 && (batch.length >= batchSize || subscription.readableLength === 0)) {
            const handed = batch;
            batch = [];
            try {
              await handler(handed);
            } catch (error) {
              handlerFailed = true;
              throw error;
            }
            current = handed.at(-1)!.position;
            // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run while the handler awaited
            if (stopping) break;
          }
        }
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set in the loop's own catch, which the flow analysis does not follow
        if (handlerFailed) throw error;
        // The call the subscriber cancelled ends as it may; that is not a failure.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run while the subscription awaited
        if (stopping) return;
        throw translateEsdbError(error, '$all', 'query');
      } finally {
        await subscription.unsubscribe().catch(() => undefined);
      }
    })();
    return {
      get position() {
        return current;
      },
      done,
      stop: async () => {
        stopping = true;
        await subscription.unsubscribe().catch(() => undefined);
        await done.catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.client.dispose(), this.options.fence?.close()]);
  }

  private async readStreamRaw(
    streamId: string,
    options: { direction: typeof FORWARDS | typeof BACKWARDS; fromRevision: bigint | typeof END; maxCount?: number },
  ): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    // `deadline` is the client's own option (BaseOptions); 6.2.1 ignores it on reads, so drain's
    // timer is what bounds the call.
    const read: StreamingRead<ResolvedEvent> = this.client.readStream(streamId, { ...options, deadline: this.readDeadlineMs });
    try {
      await this.drain(read, streamId, (resolved) => {
        const event = this.toRecorded(resolved);
        if (event) out.push(event);
        return false;
      });
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return out;
  }

  private toRecorded(resolved: AllStreamResolvedEvent | ResolvedEvent): RecordedEvent | undefined {
    const e = resolved.event;
    if (!e || e.type.startsWith('$') || e.streamId.startsWith('$') || !e.isJson) return undefined;
    const { schemaVersion, prevHash, hash, ...metadata } = e.metadata as unknown as StoredMetadata;
    return {
      eventId: e.id,
      streamId: e.streamId,
      revision: Number(e.revision),
      position: e.position ? encodePosition(e.position) : 0n,
      type: e.type,
      schemaVersion,
      data: e.data,
      metadata,
      prevHash,
      hash,
    };
  }
}

/**
 * The client's errors as the project's (STYLE.md rule 6): a server that cannot serve now (no
 * leader, unavailable, past the deadline) is StoreUnavailableError (503 STORE_UNAVAILABLE), as for
 * PostgreSQL; a deleted stream is DeletedStreamError (STREAM_DELETED); an append over the server's
 * MaxAppendSize is AppendTooLargeError (413 EVENT_TOO_LARGE, `append` says what was sent). Any
 * other error is returned as it is.
 */
export function translateEsdbError(
  error: unknown,
  streamId: string,
  phase: StoreUnavailableError['phase'],
  append?: { events: number; bytes: number },
): unknown {
  if (error instanceof StreamDeletedError) return new DeletedStreamError(error.streamName || streamId, error); // typed string, empty on some answers
  if (error instanceof MaxAppendSizeExceededError) return new AppendTooLargeError(streamId, append?.events ?? 0, append?.bytes ?? 0, error.maxAppendSize);
  // A follower refuses the call before doing anything: nothing was written.
  if (error instanceof NotLeaderError) return new StoreUnavailableError(error, 'connect');
  if (error instanceof UnavailableError || error instanceof DeadlineExceededError) return new StoreUnavailableError(error, phase);
  return error;
}

/** The connection string's `defaultDeadline` (ms), if it sets one. */
function connectionDeadline(connectionString: string): number | undefined {
  const ms = /[?&]defaultDeadline=(\d+)/i.exec(connectionString)?.[1];
  return ms && Number(ms) > 0 ? Number(ms) : undefined;
}

function recordedAtOf(event: RecordedEvent | undefined): number {
  const at = event?.metadata.recordedAt ? Date.parse(event.metadata.recordedAt) : NaN;
  return Number.isFinite(at) ? at : 0;
}

function assertUniqueIds(events: { eventId: string }[]): void {
  const ids = new Set<string>();
  for (const e of events) {
    if (ids.has(e.eventId)) throw new InvalidEventError('an eventId appears twice in one append', { eventIds: [e.eventId] });
    ids.add(e.eventId);
  }
}

/** What the server counts against MaxAppendSize: each event's data, metadata, type and id. */
function appendSize(events: EventData[]): number {
  return events.reduce(
    (sum, e) => sum + Buffer.byteLength(JSON.stringify(e.data)) + Buffer.byteLength(JSON.stringify(e.metadata ?? null)) + Buffer.byteLength(e.type) + 16,
    0,
  );
}

function checkExpected(streamId: string, expected: ExpectedRevision, current: number | null): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === null) ||
    (expected === 'stream_exists' && current !== null) ||
    (typeof expected === 'number' && current === expected);
  if (!ok) throw new ConcurrencyError(streamId, String(expected), current === null ? 'no_stream' : String(current));
}
