import { EventEmitter } from 'node:events';
import {
  ConcurrencyError,
  EventTooLargeError,
  GENESIS_HASH,
  InvalidEventError,
  canonicalEventParts,
  hashOfCanonical,
  assertStreamId,
  normaliseNewEvent,
  type EventMetadata,
  type NewEvent,
  type RecordedEvent,
} from '@forfait/events';
import type { Clock } from '@forfait/platform';
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
  type StoreKind,
  type SubscribeOptions,
  type Subscription,
} from '../port';
import { ClockSkewError, StoreUnavailableError } from '../errors';
import { PollingSubscription } from './polling-subscription';
import { eventStoreDdl, migrate } from './event-store.schema';
import { assertSchemaName, isoOf, quoteIdent, type SqlDatabase, type SqlExecutor } from './sql-client';

export interface SqlEventStoreOptions {
  db: SqlDatabase;
  clock: Clock;
  schema?: string;
  maxEventBytes?: number;
  /** How long a caught-up subscription waits before looking again without a signal. */
  pollIntervalMs?: number;
  /**
   * How long a caught-up subscription lets appends gather before reading them (default 0 on
   * PostgreSQL; on PGlite, EMBEDDED_COALESCE_MS: its readers share the writers' thread).
   */
  coalesceMs?: number;
  /** Test seam: awaited inside the append transaction, just before COMMIT. */
  hooks?: { beforeCommit?: (streamId: string) => Promise<void> };
  /**
   * How far ahead of the database's clock the writer's may be: a later recordedAt would hold
   * every later append at that instant (recorded time never goes back), so such a group is
   * refused with CLOCK_SKEW and nothing is written. Default 5 minutes, beyond the offset a clock
   * set on purpose declares (Clock.offsetMs: CLOCK=…); null: no bound.
   */
  maxClockAheadMs?: number | null;
  /** Close the database with the store (false when read models share it). */
  ownsDatabase?: boolean;
  /**
   * Group statements on their way at once (default 2 on PostgreSQL, 1 on PGlite, which has one
   * connection): while one holds the head lock and flushes, the next is parsed in another backend.
   */
  maxGroupsInFlight?: number;
}

const DEFAULT_MAX_CLOCK_AHEAD_MS = 5 * 60 * 1000;
/**
 * Embedded: a caught-up reader waits this long for appends to gather (issue 14: each batch costs its
 * reads, transaction and checkpoints in the commands' one thread; the read models lag by as much).
 */
export const EMBEDDED_COALESCE_MS = 20;
/** Events per group statement beyond the first unit (an import's batch goes alone when larger). */
const MAX_GROUP_EVENTS = 5000;
const MAX_REMEMBERED_HEADS = 100_000;
/**
 * Events waiting beyond which the queue is split over the group statements that can go at once
 * (measured with 4 writers of 30 events: 2 statements of 60 at once against 1 of 120, +20 %; with
 * 8 or 32 writers of 1 event, one statement of all is faster than two halves, each flushing).
 */
const SPLIT_EVENTS = 64;
/**
 * Joins the elements of a group's per-event lists (es_append_group): canonical JSON writes every
 * control character escaped (RFC 8785 §3.2.2.2), and ids, hashes and revisions are hex and digits.
 */
const UNIT_SEPARATOR = '\u0001';

interface QueuedUnit {
  requests: {
    streamId: string;
    expectedRevision: ExpectedRevision;
    head?: AppendRequest['head'];
    /** The head the events were chained on in the process, when they were (plan). */
    plan?: { revision: number; lastHash: string | null };
    /** Planned: the event's hash, the one before it, its revision. */
    events: { event: NewEvent; parts: [string, string, string, string]; hash?: string; prev?: string; revision?: number }[];
  }[];
  eventIds: Set<string>;
  events: number;
  resolve: (results: AppendResult[]) => void;
  reject: (error: unknown) => void;
}

/** What es_append_group answers (event-store.schema.ts). */
interface GroupOutcome {
  skew?: string;
  /** Written as the writer chained it. */
  planned?: true;
  recordedAt?: string;
  first: string;
  head: string;
  units?: {
    ok?: true;
    conflict?: string;
    expected?: string;
    actual?: string;
    duplicate?: string;
    eventIds?: string[];
    tooLarge?: string;
    type?: string;
    bytes?: number;
  }[];
  startRev?: number[];
  startHash?: string[];
  hashes?: string[];
}

interface EventRow {
  position: string | number | bigint;
  event_id: string;
  stream_id: string;
  revision: string | number | bigint;
  type: string;
  schema_version: number | string;
  data: unknown;
  metadata: Omit<EventMetadata, 'recordedAt' | 'effectiveAt'>;
  recorded_at: Date | string;
  effective_at: Date | string;
  prev_hash: string;
  hash: string;
}

/**
 * What reads select: instants as ISO-8601 UTC text made by the server (the form the hash covers),
 * so that no row goes through a Date and back on the way out.
 */
const ISO = (column: string) => `${isoOf(column)} AS ${column}`;
const READ_COLUMNS = `position, event_id, stream_id, revision, type, schema_version, data, metadata, ${ISO('recorded_at')}, ${ISO('effective_at')}, prev_hash, hash`;

/** Where an event is and nothing else (ReadAllOptions.placesOnly), in the shape of READ_COLUMNS. */
const PLACE_COLUMNS = `position, event_id, stream_id, revision, type, schema_version, NULL::jsonb AS data, '{}'::jsonb AS metadata,
  '' AS recorded_at, '' AS effective_at, '' AS prev_hash, '' AS hash`;

/**
 * An event of a narrowed read (ReadStreamsOptions.narrow), without what it leaves in the server:
 * the hashes, the metadata's other keys (absent keys stay absent), the data of some types. Its
 * parameters are added to `params`.
 */
function narrowEvent(narrow: NonNullable<ReadStreamsOptions['narrow']>, params: unknown[]): string {
  const without = `$${params.push([...narrow.withoutDataOf])}::text[]`;
  // The keys asked for, each as stored (a null stays null; an absent key stays absent).
  const metadata = narrow.metadataKeys
    .map((key) => {
      const k = `$${params.push(key)}::text`;
      return `CASE WHEN metadata ? ${k} THEN jsonb_build_object(${k}, metadata->${k}) ELSE '{}'::jsonb END`;
    })
    .reduce((all, one) => `${all} || ${one}`, `'{}'::jsonb`);
  // One JSON array an event, aggregated by stream: the reader parses one document a stream, not a dozen fields a row.
  return `json_build_array(position::text, event_id, revision, type, schema_version, CASE WHEN type = ANY(${without}) THEN '{}'::jsonb ELSE data END,
    ${metadata}, ${isoOf('recorded_at')}, ${isoOf('effective_at')})`;
}

/** An event of a narrowed read, as narrowEvent built it. */
type NarrowRow = [
  position: string,
  eventId: string,
  revision: number,
  type: string,
  schemaVersion: number,
  data: unknown,
  metadata: object,
  recordedAt: string,
  effectiveAt: string,
];

/** The PostgreSQL event store; the embedded store is the same SQL on PGlite. */
export class SqlEventStore implements EventStore {
  readonly kind: StoreKind;
  readonly atomicBatches = true;
  private readonly s: string;
  private readonly channel: string;
  private readonly appended = new EventEmitter();
  private unlisten?: Promise<() => Promise<void>>;
  private readonly subscriptions = new Set<PollingSubscription>();
  /** Appends waiting for the statement in flight to return (group commit). */
  private readonly queue: QueuedUnit[] = [];
  /** Drain loops running, and how many of them have a statement on its way. */
  private drainers = 0;
  private writing = 0;
  private readonly maxInFlight: number;
  /**
   * Streams of the groups on their way: a unit touching one waits for that group (one stream's
   * appends keep their order). An eventId needs no such mark: a statement takes the head lock only
   * once the one before committed, and refuses an eventId that one stored (INVALID_EVENT).
   */
  private readonly busy = new Map<string, number>();
  private readonly maxClockAheadMs: number | null;
  /** The latest recordedAt this process was answered. */
  private highWater = 0;
  private readonly heads = new Map<string, { revision: number; lastHash: string }>();

  private constructor(private readonly options: SqlEventStoreOptions) {
    const schema = assertSchemaName(options.schema ?? 'public');
    this.s = quoteIdent(schema);
    this.channel = `${schema}_es_appended`;
    this.kind = options.db.dialect === 'pglite' ? 'embedded' : 'postgres';
    this.appended.setMaxListeners(0);
    this.maxClockAheadMs = options.maxClockAheadMs !== undefined ? options.maxClockAheadMs : DEFAULT_MAX_CLOCK_AHEAD_MS;
    const inFlight = options.maxGroupsInFlight ?? (options.db.dialect === 'pglite' ? 1 : 2);
    if (!Number.isInteger(inFlight) || inFlight < 1) throw new RangeError(`maxGroupsInFlight must be a positive integer, not ${String(inFlight)}`);
    this.maxInFlight = inFlight;
  }

  static async open(options: SqlEventStoreOptions): Promise<SqlEventStore> {
    const store = new SqlEventStore(options);
    await migrate(options.db, eventStoreDdl(options.schema ?? 'public'), 'forfait-event-store');
    return store;
  }

  /** The events table, schema-qualified and quoted: for read models in the same database only. */
  get eventsTable(): string {
    return `${this.s}.es_events`;
  }

  get db(): SqlDatabase {
    return this.options.db;
  }

  async append(
    streamId: string,
    events: NewEvent[],
    { expectedRevision, head }: { expectedRevision: ExpectedRevision; head?: AppendRequest['head'] },
  ): Promise<AppendResult> {
    return (await this.appendBatch([{ streamId, events, expectedRevision, ...(head !== undefined ? { head } : {}) }]))[0]!;
  }

  /**
   * Appends to several streams in one transaction: every expectation is checked under the head lock
   * and either all the requests are written, in request order, or none is.
   *
   * Every append goes through the process's group commit (issue 14): while one statement is on
   * its way, the appends that arrive wait, then go together in the next one (es_append_group:
   * one lock, one flush, one round trip), each append or batch succeeding or failing on its own.
   * The writer reads nothing first: heads, revisions, recordedAt and the hash chain are settled
   * under the lock, so no append is refused because another writer moved a stream or had a clock
   * ahead; only a stale expected revision is (ConcurrencyError).
   */
  async appendBatch(requests: AppendRequest[]): Promise<AppendResult[]> {
    const unit = this.prepare(requests);
    return new Promise<AppendResult[]>((resolve, reject) => {
      this.queue.push({ ...unit, resolve, reject });
      if (this.drainers < this.maxInFlight) void this.drain();
    });
  }

  /** Checks and serialises a unit before it queues: bad input fails here, alone. */
  private prepare(requests: AppendRequest[]): Pick<QueuedUnit, 'requests' | 'eventIds' | 'events'> {
    for (const r of requests) assertStreamId(r.streamId);
    const seen = new Set<string>();
    for (const r of requests) {
      if (seen.has(r.streamId)) throw new InvalidEventError('a batch names each stream once', { streamId: r.streamId });
      seen.add(r.streamId);
    }
    const maxBytes = this.options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    const eventIds = new Set<string>();
    let events = 0;
    const prepared = requests.map((r) => {
      const known = typeof r.expectedRevision === 'number' ? r.expectedRevision : r.expectedRevision === 'no_stream' ? -1 : undefined;
      const list = r.events.map((raw, i) => {
        const event = normaliseNewEvent(raw);
        if (eventIds.has(event.eventId)) throw new InvalidEventError('an event with one of these eventIds is already stored', { eventIds: [event.eventId] });
        eventIds.add(event.eventId);
        let parts: [string, string, string, string];
        try {
          parts = canonicalEventParts({ ...event, streamId: r.streamId, metadata: event.metadata });
        } catch (error) {
          throw new InvalidEventError(`event ${event.type} cannot be serialised: ${(error as Error).message}`);
        }
        // recordedAt (24 characters), prevHash (64) and the revision (its digits, or at least one
        // when the stream's head is not known yet) complete the text; the store checks it exactly.
        const revisionDigits = known === undefined ? 1 : String(known + 1 + i).length;
        const size = Buffer.byteLength(parts[0]) + Buffer.byteLength(parts[1]) + Buffer.byteLength(parts[3]) + parts[2].length + 24 + 64 + revisionDigits;
        if (size > maxBytes) throw new EventTooLargeError(event.type, size, maxBytes);
        return { event, parts };
      });
      events += list.length;
      return { streamId: r.streamId, expectedRevision: r.expectedRevision, ...(r.head !== undefined ? { head: r.head } : {}), events: list };
    });
    return { requests: prepared, eventIds, events };
  }

  /**
   * One of up to maxInFlight loops: each takes its share of the waiting appends (when they are
   * many events, the queue split over the loops not writing, so that two statements go at once:
   * one parsed in its backend while the other holds the head lock and flushes). A unit whose
   * streams are in a group on its way waits for it, so that one stream's appends still go in the
   * order they were made.
   */
  private async drain(): Promise<void> {
    this.drainers += 1;
    try {
      while (this.queue.length > 0) {
        // One turn of the event loop first: the writers just answered queue their next appends
        // (and a burst arrives whole), so they go in this statement instead of alternating
        // between two half groups (measured: 2 appends a statement at 4 in flight without it).
        await new Promise((resolve) => setImmediate(resolve));
        // Small appends go in one statement (one flush for all); many events are split over the
        // loops not writing, so that their parsing goes on in two backends at once.
        const waiting = this.queue.reduce((n, u) => n + u.events, 0);
        const share = waiting >= SPLIT_EVENTS ? Math.ceil(this.queue.length / Math.max(1, this.drainers - this.writing)) : this.queue.length;
        // FIFO; a unit whose eventIds meet the group's waits for the next statement, which then
        // finds them stored and refuses it (INVALID_EVENT) instead of failing the whole group.
        const group: QueuedUnit[] = [];
        const keys = new Set<string>();
        const ids = new Set<string>();
        let events = 0;
        while (this.queue.length > 0 && group.length < share) {
          const next = this.queue[0]!;
          if (next.requests.some((r) => this.busy.has(r.streamId))) break;
          // Appends to one stream may share a statement (each chained on the one before); the
          // same eventId twice may not.
          if (group.length > 0 && (events + next.events > MAX_GROUP_EVENTS || [...next.eventIds].some((id) => ids.has(id)))) break;
          group.push(this.queue.shift()!);
          for (const r of next.requests) keys.add(r.streamId);
          for (const id of next.eventIds) ids.add(id);
          events += next.events;
        }
        // The queue's first waits for a group on its way: the loop that writes it drains on.
        if (group.length === 0) break;
        for (const k of keys) this.busy.set(k, (this.busy.get(k) ?? 0) + 1);
        this.writing += 1;
        try {
          await this.writeGroup(group);
        } catch (error) {
          // writeGroup answers every unit itself; whatever it did not (a fault past its own
          // handling) is not left waiting: a unit already answered ignores this.
          for (const u of group) u.reject(error);
        } finally {
          this.writing -= 1;
          for (const k of keys) {
            const n = this.busy.get(k)! - 1;
            if (n === 0) this.busy.delete(k);
            else this.busy.set(k, n);
          }
        }
      }
    } finally {
      this.drainers -= 1;
      // A unit left behind a group that was on its way when this loop broke off.
      if (this.queue.length > 0 && this.drainers === 0) void this.drain();
    }
  }

  private async writeGroup(group: QueuedUnit[]): Promise<void> {
    const maxBytes = this.options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    // recordedAt never goes backwards: the writer proposes its clock, or the last time it saw.
    const proposed = new Date(Math.max(this.options.clock.now().getTime(), this.highWater)).toISOString();
    const planned = this.plan(group, proposed, maxBytes);
    // The group as lists, one element a request or one an event (event-store.schema.ts); the
    // events' lists as texts of their elements joined by U+0001, which none holds.
    const stream: string[] = [];
    const expected: string[] = [];
    const prev: (number | null)[] = [];
    const unitRequests: number[] = [];
    const count: number[] = [];
    const r0: number[] = [];
    const h0: (string | null)[] = [];
    const id: string[] = [];
    const part0: string[] = [];
    const part1: string[] = [];
    const part2: string[] = [];
    const part3: string[] = [];
    const hash: string[] = [];
    const prevHash: string[] = [];
    const revision: number[] = [];
    const lastOfStream = new Map<string, number>();
    for (const u of group) {
      unitRequests.push(u.requests.length);
      for (const r of u.requests) {
        stream.push(r.streamId);
        expected.push(String(r.expectedRevision));
        prev.push(lastOfStream.get(r.streamId) ?? null);
        lastOfStream.set(r.streamId, stream.length);
        count.push(r.events.length);
        if (planned) {
          r0.push(r.plan!.revision);
          h0.push(r.plan!.lastHash);
        }
        for (const e of r.events) {
          id.push(e.event.eventId);
          part0.push(e.parts[0]);
          part1.push(e.parts[1]);
          part2.push(e.parts[2]);
          part3.push(e.parts[3]);
          if (planned) {
            hash.push(e.hash!);
            prevHash.push(e.prev!);
            revision.push(e.revision!);
          }
        }
      }
    }
    const call = (executor: SqlExecutor) =>
      executor.query<{ r: GroupOutcome }>(
        `SELECT ${this.s}.es_append_group($1::text[], $2::text[], $3::integer[], $4::integer[], $5::integer[], $6::bigint[], $7::text[],
           $8::text, $9::text, $10::text, $11::text, $12::text, $13::text, $14::text, $15::text,
           $16, $17::timestamptz, $18::interval, $19, $20) AS r`,
        [
          stream,
          expected,
          prev,
          unitRequests,
          count,
          planned ? r0 : null,
          planned ? h0 : null,
          id.join(UNIT_SEPARATOR),
          part0.join(UNIT_SEPARATOR),
          part1.join(UNIT_SEPARATOR),
          part2.join(UNIT_SEPARATOR),
          part3.join(UNIT_SEPARATOR),
          planned ? hash.join(UNIT_SEPARATOR) : null,
          planned ? prevHash.join(UNIT_SEPARATOR) : null,
          planned ? revision.join(UNIT_SEPARATOR) : null,
          planned,
          proposed,
          // A clock set on purpose (CLOCK=…, a demo's or a test's) is ahead by its setting, not skewed.
          this.maxClockAheadMs === null ? null : `${this.maxClockAheadMs + Math.max(0, Math.round(this.options.clock.offsetMs?.() ?? 0))} milliseconds`,
          maxBytes,
          this.options.db.dialect === 'postgres' ? this.channel : null,
        ],
      );
    let outcome: GroupOutcome;
    try {
      const hook = this.options.hooks?.beforeCommit;
      outcome = hook
        ? await this.options.db.transaction(async (tx) => {
            const written: string[] = [];
            const { rows } = await call(tx);
            const o = rows[0]!.r;
            group.forEach((u, i) => (o.planned || o.units?.[i]?.ok) && u.requests.forEach((r) => r.events.length > 0 && written.push(r.streamId)));
            for (const streamId of written) await hook(streamId);
            return o;
          })
        : (await call(this.options.db)).rows[0]!.r;
    } catch (error) {
      // es_append_group runs in one statement that commits by itself: lost on its way, it may
      // have committed. Not retried here. A retry by the caller stays idempotent: the same events
      // keep their eventIds (unique in es_events, so a second write is refused, never
      // duplicated), and a command handler reads the stream again and decides on what was
      // really committed.
      const failure = error instanceof StoreUnavailableError && error.phase === 'query' ? new StoreUnavailableError(error.cause, 'commit') : error;
      for (const u of group) u.reject(failure);
      this.heads.clear();
      return;
    }
    if (outcome.skew) {
      const error = new ClockSkewError(this.options.clock.now().toISOString(), outcome.skew, this.maxClockAheadMs ?? 0);
      for (const u of group) u.reject(error);
      return;
    }
    this.highWater = Math.max(this.highWater, Date.parse(outcome.recordedAt!));
    let position = BigInt(outcome.first) - 1n;
    let hashAt = 0;
    let requestAt = 0;
    group.forEach((unit, i) => {
      const status = outcome.planned ? { ok: true as const } : outcome.units![i]!;
      const offset = requestAt;
      requestAt += unit.requests.length;
      if (status.conflict !== undefined) return unit.reject(new ConcurrencyError(status.conflict, status.expected!, status.actual!));
      if (status.duplicate !== undefined)
        return unit.reject(new InvalidEventError('an event with one of these eventIds is already stored', { eventIds: status.eventIds!.slice(0, 100) }));
      if (status.tooLarge !== undefined) return unit.reject(new EventTooLargeError(status.type!, status.bytes!, maxBytes));
      const results = unit.requests.map((r, j): AppendResult => {
        let revision = outcome.planned ? r.plan!.revision : outcome.startRev![offset + j]!;
        let prevHash = outcome.planned ? (r.plan!.lastHash ?? GENESIS_HASH) : outcome.startHash![offset + j]!;
        const events = r.events.map(({ event, hash: plannedHash }): RecordedEvent => {
          revision += 1;
          const hash = outcome.planned ? plannedHash! : outcome.hashes![hashAt++]!;
          const recorded: RecordedEvent = {
            eventId: event.eventId,
            streamId: r.streamId,
            revision,
            position: (position += 1n),
            type: event.type,
            schemaVersion: event.schemaVersion,
            data: event.data,
            metadata: { ...event.metadata, recordedAt: outcome.recordedAt! },
            prevHash,
            hash,
          };
          prevHash = hash;
          return recorded;
        });
        if (revision >= 0) this.remember(r.streamId, { revision, lastHash: prevHash });
        return { streamId: r.streamId, revision, position, events };
      });
      unit.resolve(results);
    });
    if (position >= BigInt(outcome.first)) this.appended.emit('appended', position);
  }

  /**
   * Chains the group's events in the process when every stream's head is known (the caller's
   * hint, no_stream, or this process's last write to it): the statement then writes them as they
   * are if the heads and the time hold under the lock, and settles them itself otherwise.
   */
  private plan(group: QueuedUnit[], recordedAt: string, maxBytes: number): boolean {
    const heads = new Map<string, { revision: number; lastHash: string | null }>();
    for (const unit of group) {
      for (const r of unit.requests) {
        const head =
          heads.get(r.streamId) ??
          (r.head !== undefined
            ? r.head
              ? r.head
              : { revision: -1, lastHash: null }
            : r.expectedRevision === 'no_stream'
              ? { revision: -1, lastHash: null }
              : this.heads.get(r.streamId));
        if (!head) return false;
        const exists = head.revision >= 0;
        const consistent =
          r.expectedRevision === 'any' ||
          (r.expectedRevision === 'no_stream' && !exists) ||
          (r.expectedRevision === 'stream_exists' && exists) ||
          r.expectedRevision === head.revision;
        if (!consistent) return false;
        r.plan = head;
        let revision = head.revision;
        let prevHash = head.lastHash ?? GENESIS_HASH;
        for (const e of r.events) {
          revision += 1;
          const [a, b, c, d] = e.parts;
          const text = `${a}${recordedAt}${b}${prevHash}${c}${revision}${d}`;
          if (Buffer.byteLength(text, 'utf8') > maxBytes) return false;
          e.prev = prevHash;
          e.revision = revision;
          e.hash = hashOfCanonical(prevHash, text);
          prevHash = e.hash;
        }
        heads.set(r.streamId, { revision, lastHash: revision >= 0 ? prevHash : null });
      }
    }
    return true;
  }

  /** The heads this process last wrote, for planning its next appends (bounded; a stale one costs nothing but the plan). */
  private remember(streamId: string, head: { revision: number; lastHash: string }): void {
    if (this.heads.size >= MAX_REMEMBERED_HEADS && !this.heads.has(streamId)) this.heads.clear();
    this.heads.set(streamId, head);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.options.db.query<EventRow>(
      `SELECT ${READ_COLUMNS} FROM ${this.s}.es_events WHERE stream_id = $1 AND revision >= $2
       ORDER BY revision LIMIT $3`,
      [streamId, options.fromRevision ?? 0, options.maxCount ?? null],
    );
    return rows.map(toRecorded);
  }

  /**
   * `executor`: a transaction of the same database to read in (a projection reading the store
   * inside its batch: PGlite has one connection, which that transaction holds).
   */
  async readStreams(streamIds: string[], options: ReadStreamsOptions = {}, executor: SqlExecutor = this.options.db): Promise<Map<string, RecordedEvent[]>> {
    const out = new Map<string, RecordedEvent[]>();
    const partial = options.partial?.streamIds ?? [];
    if (streamIds.length === 0 && partial.length === 0) return out;
    // The partial streams' other events stay in the server (neither read nor sent).
    const params: unknown[] = partial.length === 0 ? [streamIds] : [streamIds, [...partial], [...options.partial!.types]];
    const where =
      partial.length === 0 ? `stream_id = ANY($1::text[])` : `stream_id = ANY($1::text[]) OR (stream_id = ANY($2::text[]) AND type = ANY($3::text[]))`;
    if (options.narrow) {
      const event = narrowEvent(options.narrow, params);
      const { rows } = await executor.query<{ stream_id: string; events: string }>(
        `SELECT stream_id, json_agg(${event} ORDER BY revision)::text AS events FROM ${this.s}.es_events WHERE ${where} GROUP BY stream_id`,
        params,
      );
      for (const row of rows) {
        const streamId = row.stream_id;
        out.set(
          streamId,
          (JSON.parse(row.events) as NarrowRow[]).map(([position, eventId, revision, type, schemaVersion, data, metadata, recordedAt, effectiveAt]) => ({
            eventId,
            streamId,
            revision,
            position: BigInt(position),
            type,
            schemaVersion,
            data,
            metadata: Object.assign(metadata, { recordedAt, effectiveAt }) as RecordedEvent['metadata'],
            prevHash: '',
            hash: '',
          })),
        );
      }
      return out;
    }
    const { rows } = await executor.query<EventRow>(`SELECT ${READ_COLUMNS} FROM ${this.s}.es_events WHERE ${where} ORDER BY stream_id, revision`, params);
    for (const row of rows) {
      const list = out.get(row.stream_id) ?? [];
      list.push(toRecorded(row));
      out.set(row.stream_id, list);
    }
    return out;
  }

  /**
   * The events at these (stream, revision) pairs, in one statement (the integrity check's verified
   * heads and chain predecessors); keyed `${streamId} ${revision}`, absent pairs absent.
   */
  async readAt(keys: readonly { streamId: string; revision: number }[], executor: SqlExecutor = this.options.db): Promise<Map<string, RecordedEvent>> {
    const out = new Map<string, RecordedEvent>();
    if (keys.length === 0) return out;
    const { rows } = await executor.query<EventRow>(
      `SELECT ${READ_COLUMNS} FROM ${this.s}.es_events JOIN unnest($1::text[], $2::int[]) AS k(stream_id, revision) USING (stream_id, revision)`,
      [keys.map((k) => k.streamId), keys.map((k) => k.revision)],
    );
    for (const row of rows) {
      const event = toRecorded(row);
      out.set(`${event.streamId} ${event.revision}`, event);
    }
    return out;
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    if (options.placesOnly) {
      const { rows } = await this.options.db.query<EventRow>(
        `SELECT ${PLACE_COLUMNS} FROM ${this.s}.es_events WHERE position > $1 ORDER BY position LIMIT $2`,
        [(options.after ?? 0n).toString(), options.maxCount],
      );
      return rows.map(toRecorded);
    }
    const whole = options.fullTypes === undefined;
    const { rows } = await this.options.db.query<EventRow>(
      whole
        ? `SELECT ${READ_COLUMNS} FROM ${this.s}.es_events WHERE position > $1 ORDER BY position LIMIT $2`
        : `SELECT ${READ_COLUMNS.replace('data, metadata', `CASE WHEN type = ANY($3::text[]) THEN data END AS data, CASE WHEN type = ANY($3::text[]) THEN metadata ELSE '{}'::jsonb END AS metadata`)}
           FROM ${this.s}.es_events WHERE position > $1 ORDER BY position LIMIT $2`,
      whole ? [(options.after ?? 0n).toString(), options.maxCount] : [(options.after ?? 0n).toString(), options.maxCount, [...options.fullTypes!]],
    );
    return rows.map(toRecorded);
  }

  async headPosition(): Promise<bigint> {
    const head = await one<{ last_position: string | number }>(this.options.db, `SELECT last_position FROM ${this.s}.es_head WHERE id = 1`);
    return BigInt(head.last_position);
  }

  subscribeAll(options: SubscribeOptions, handler: BatchHandler): Subscription {
    if (this.options.db.dialect === 'postgres' && !this.unlisten) {
      // Wake-ups from appends made by other processes; in-process appends signal directly.
      this.unlisten = this.options.db.listen(this.channel, () => this.appended.emit('appended'));
      this.unlisten.catch(() => undefined);
    }
    const subscription = new PollingSubscription({
      after: options.after,
      batchSize: options.batchSize ?? 500,
      pollIntervalMs: this.options.pollIntervalMs ?? 1000,
      coalesceMs: this.options.coalesceMs ?? (this.options.db.dialect === 'pglite' ? EMBEDDED_COALESCE_MS : 0),
      read: (after, maxCount) => this.readAll({ ...options, after, maxCount }),
      onSignal: (listener) => {
        this.appended.on('appended', listener);
        return () => this.appended.off('appended', listener);
      },
      handler,
    });
    this.subscriptions.add(subscription);
    void subscription.done.finally(() => this.subscriptions.delete(subscription)).catch(() => undefined);
    return subscription;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop().catch(() => undefined)));
    if (this.unlisten) await (await this.unlisten.catch(() => () => Promise.resolve()))();
    if (this.options.ownsDatabase ?? true) await this.options.db.close();
  }
}

async function one<R>(db: SqlExecutor, text: string, params?: unknown[]): Promise<R> {
  const { rows } = await db.query<R>(text, params);
  if (!rows[0]) throw new Error(`expected one row from: ${text}`);
  return rows[0];
}

const isoText = (v: Date | string) => (typeof v === 'string' ? v : v.toISOString());

function toRecorded(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    streamId: row.stream_id,
    revision: Number(row.revision),
    position: BigInt(row.position),
    type: row.type,
    schemaVersion: Number(row.schema_version),
    data: row.data,
    metadata: Object.assign<EventRow['metadata'], Pick<EventMetadata, 'recordedAt' | 'effectiveAt'>>(row.metadata, {
      recordedAt: isoText(row.recorded_at),
      effectiveAt: isoText(row.effective_at),
    }),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
