import { EventEmitter } from 'node:events';
import {
  ConcurrencyError,
  GENESIS_HASH,
  InvalidEventError,
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
  type StoreKind,
  type SubscribeOptions,
  type Subscription,
} from '../port';
import { chainEvents } from '../chain';
import { PollingSubscription } from './polling-subscription';
import { eventStoreDdl, migrate } from './event-store.schema';
import { assertSchemaName, quoteIdent, type SqlDatabase, type SqlExecutor } from './sql-client';

export interface SqlEventStoreOptions {
  db: SqlDatabase;
  clock: Clock;
  schema?: string;
  maxEventBytes?: number;
  /** How long a caught-up subscription waits before looking again without a signal. */
  pollIntervalMs?: number;
  /** Test seam: awaited inside the append transaction, just before COMMIT. */
  hooks?: { beforeCommit?: (streamId: string) => Promise<void> };
  /** Close the database with the store (false when read models share it). */
  ownsDatabase?: boolean;
}

interface EventRow {
  position: string | number | bigint;
  event_id: string;
  stream_id: string;
  revision: string | number | bigint;
  type: string;
  schema_version: number;
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
const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;
const READ_COLUMNS = `position, event_id, stream_id, revision, type, schema_version, data, metadata, ${ISO('recorded_at')}, ${ISO('effective_at')}, prev_hash, hash`;

/** The PostgreSQL event store; the embedded store is the same SQL on PGlite. */
export class SqlEventStore implements EventStore {
  readonly kind: StoreKind;
  readonly atomicBatches = true;
  private readonly s: string;
  private readonly channel: string;
  private readonly appended = new EventEmitter();
  private unlisten?: Promise<() => Promise<void>>;
  private readonly subscriptions = new Set<PollingSubscription>();
  /** The latest recordedAt this process wrote: with head hints, an append needs no read first. */
  private highWater: number | undefined;

  private constructor(private readonly options: SqlEventStoreOptions) {
    const schema = assertSchemaName(options.schema ?? 'public');
    this.s = quoteIdent(schema);
    this.channel = `${schema}_es_appended`;
    this.kind = options.db.dialect === 'pglite' ? 'embedded' : 'postgres';
    this.appended.setMaxListeners(0);
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
   * and either all the requests are written, in request order, or none is. One lock, one INSERT
   * per 1 000 events, one upsert of the streams' heads: the bulk path of imports and the generator.
   */
  async appendBatch(requests: AppendRequest[]): Promise<AppendResult[]> {
    for (const r of requests) assertStreamId(r.streamId);
    const seen = new Set<string>();
    for (const r of requests) {
      if (seen.has(r.streamId)) throw new InvalidEventError('a batch names each stream once', { streamId: r.streamId });
      seen.add(r.streamId);
    }
    const prepared = requests.map((r) => ({ ...r, events: r.events.map(normaliseNewEvent) }));
    const maxBytes = this.options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;

    // Optimistic: read the streams' heads and the last recordedAt without a lock, hash, then hand
    // everything to es_append, which takes the global lock, checks that nothing moved, and writes in
    // one statement (the lock is held for that statement and the commit, not for round trips).
    // If something moved, the batch is prepared again from fresh heads.
    for (let attempt = 1; ; attempt += 1) {
      let byStream: Map<string, { revision: number; lastHash: string }>;
      let lastRecorded: number;
      if (attempt === 1 && this.highWater !== undefined && prepared.every((r) => r.head !== undefined)) {
        // The writers read the heads just now, and this process knows the last recordedAt it saw.
        byStream = new Map(prepared.filter((r) => r.head).map((r) => [r.streamId, r.head!]));
        lastRecorded = this.highWater;
      } else {
        const { rows: pre } = await this.options.db.query<{ last_recorded_at: Date | string | null; streams: { s: string; r: string | number; h: string }[] }>(
          `SELECT h.last_recorded_at, (SELECT coalesce(json_agg(json_build_object('s', stream_id, 'r', revision, 'h', last_hash)), '[]'::json)
             FROM ${this.s}.es_streams WHERE stream_id = ANY($1::text[])) AS streams
           FROM ${this.s}.es_head h WHERE h.id = 1`,
          [prepared.map((r) => r.streamId)],
        );
        byStream = new Map(pre[0]!.streams.map((h) => [h.s, { revision: Number(h.r), lastHash: h.h }]));
        lastRecorded = pre[0]!.last_recorded_at ? new Date(pre[0]!.last_recorded_at).getTime() : 0;
      }
      // recordedAt never goes backwards within the store, whatever the clock says.
      const recordedAt = new Date(Math.max(this.options.clock.now().getTime(), lastRecorded)).toISOString();

      const planned: { streamId: string; current: number | null; events: Omit<RecordedEvent, 'position'>[] }[] = [];
      const rows: Record<string, unknown>[] = [];
      const streamRows: Record<string, unknown>[] = [];
      for (const request of prepared) {
        const stream = byStream.get(request.streamId);
        const current = stream ? stream.revision : null;
        checkExpected(request.streamId, request.expectedRevision, current);
        const recorded = chainEvents(request.streamId, request.events, { revision: current, lastHash: stream?.lastHash }, recordedAt, maxBytes);
        for (const e of recorded) {
          const { recordedAt: _r, effectiveAt, ...rest } = e.metadata;
          void _r;
          rows.push({ ord: rows.length + 1, event_id: e.eventId, stream_id: e.streamId, revision: e.revision, type: e.type, schema_version: e.schemaVersion, data: e.data, metadata: rest, effective_at: effectiveAt, prev_hash: e.prevHash, hash: e.hash });
        }
        const revision = recorded.at(-1)?.revision ?? current ?? -1;
        const prevHash = recorded.at(-1)?.hash ?? stream?.lastHash ?? GENESIS_HASH;
        // Every stream's expected head is checked under the lock, written or not.
        streamRows.push({ stream_id: request.streamId, expected_revision: current, expected_hash: stream?.lastHash ?? null, revision, last_hash: prevHash, write: recorded.length > 0 });
        planned.push({ streamId: request.streamId, current, events: recorded });
      }
      if (rows.length === 0) {
        const head = await this.headPosition();
        return planned.map((p) => ({ streamId: p.streamId, revision: p.current ?? -1, position: head, events: [] }));
      }

      const call = (executor: SqlExecutor) =>
        executor.query<{ r: { firstPosition?: string; retry?: string } }>(`SELECT ${this.s}.es_append($1::jsonb, $2::jsonb, $3::timestamptz, $4) AS r`, [
          JSON.stringify(streamRows),
          JSON.stringify(rows),
          recordedAt,
          this.options.db.dialect === 'postgres' ? this.channel : null,
        ]);
      let outcome: { firstPosition?: string; retry?: string };
      try {
        const hook = this.options.hooks?.beforeCommit;
        outcome = hook
          ? await this.options.db.transaction(async (tx) => {
              const { rows: r } = await call(tx);
              if (r[0]!.r.firstPosition) for (const p of planned) await hook(p.streamId);
              return r[0]!.r;
            })
          : (await call(this.options.db)).rows[0]!.r;
      } catch (error) {
        if (isUniqueViolation(error, 'event_id')) {
          throw new InvalidEventError('an event with one of these eventIds is already stored', {
            eventIds: prepared.flatMap((r) => r.events.map((e) => e.eventId)).slice(0, 100),
          });
        }
        throw error;
      }
      if (!outcome.firstPosition) {
        if (attempt < 20) continue;
        throw new Error(`append of ${planned.length} stream(s) kept racing with other writers (${outcome.retry}); nothing was written`);
      }
      this.highWater = Math.max(this.highWater ?? 0, Date.parse(recordedAt));
      let position = BigInt(outcome.firstPosition) - 1n;
      const results: AppendResult[] = planned.map((p) => {
        const events = p.events.map((e) => ({ ...e, position: (position += 1n) }));
        return { streamId: p.streamId, revision: events.at(-1)?.revision ?? p.current ?? -1, position: events.at(-1)?.position ?? position, events };
      });
      this.appended.emit('appended', position);
      return results;
    }
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
  async readStreams(streamIds: string[], executor: SqlExecutor = this.options.db): Promise<Map<string, RecordedEvent[]>> {
    const out = new Map<string, RecordedEvent[]>();
    if (streamIds.length === 0) return out;
    const { rows } = await executor.query<EventRow>(
      `SELECT ${READ_COLUMNS} FROM ${this.s}.es_events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, revision`,
      [streamIds],
    );
    for (const row of rows) {
      const list = out.get(row.stream_id) ?? [];
      list.push(toRecorded(row));
      out.set(row.stream_id, list);
    }
    return out;
  }

  async streamRevision(streamId: string): Promise<number | null> {
    const { rows } = await this.options.db.query<{ revision: string | number }>(
      `SELECT revision FROM ${this.s}.es_streams WHERE stream_id = $1`,
      [streamId],
    );
    return rows[0] ? Number(rows[0].revision) : null;
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
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

  /** Events of the streams whose id starts with `prefix`, in global order (a doctor's history). */
  async readStreamsByPrefix(prefixes: string[], options: { knownAt?: string } = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.options.db.query<EventRow>(
      `SELECT ${READ_COLUMNS} FROM ${this.s}.es_events
       WHERE (${prefixes.map((_, i) => `stream_id LIKE $${i + 2}`).join(' OR ')})
         AND ($1::timestamptz IS NULL OR recorded_at <= $1::timestamptz)
       ORDER BY position`,
      [options.knownAt ?? null, ...prefixes.map((p) => `${p.replace(/[\\%_]/g, '\\$&')}%`)],
    );
    return rows.map(toRecorded);
  }

  async headPosition(): Promise<bigint> {
    const head = await one<{ last_position: string | number }>(
      this.options.db,
      `SELECT last_position FROM ${this.s}.es_head WHERE id = 1`,
    );
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
      read: (after, maxCount) => this.readAll({ after, maxCount, ...(options.fullTypes ? { fullTypes: options.fullTypes } : {}) }),
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
    if (this.unlisten) await (await this.unlisten.catch(() => async () => undefined))();
    if (this.options.ownsDatabase ?? true) await this.options.db.close();
  }
}

function checkExpected(streamId: string, expected: ExpectedRevision, current: number | null): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === null) ||
    (expected === 'stream_exists' && current !== null) ||
    (typeof expected === 'number' && current === expected);
  if (!ok) throw new ConcurrencyError(streamId, String(expected), current === null ? 'no_stream' : String(current));
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
    metadata: Object.assign(row.metadata, { recordedAt: isoText(row.recorded_at), effectiveAt: isoText(row.effective_at) }) as EventMetadata,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function isUniqueViolation(error: unknown, hint: string): boolean {
  const e = error as { code?: string; constraint?: string; message?: string };
  return e?.code === '23505' && `${e.constraint ?? ''} ${e.message ?? ''}`.includes(hint);
}
