import { EventEmitter } from 'node:events';
import {
  ConcurrencyError,
  EventTooLargeError,
  GENESIS_HASH,
  InvalidEventError,
  assertStreamId,
  computeEventHash,
  normaliseNewEvent,
  serialisedSize,
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

/** Rows per INSERT statement: big enough to amortise the round trip, small enough for one JSON text. */
const INSERT_CHUNK = 1000;

/**
 * What reads select: instants as ISO-8601 UTC text made by the server (the form the hash covers),
 * so that no row goes through a Date and back on the way out.
 */
const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;
const READ_COLUMNS = `position, event_id, stream_id, revision, type, schema_version, data, metadata, ${ISO('recorded_at')}, ${ISO('effective_at')}, prev_hash, hash`;

const COLUMNS =
  'position, event_id, stream_id, revision, type, schema_version, data, metadata, recorded_at, effective_at, prev_hash, hash';

/** The PostgreSQL event store; the embedded store is the same SQL on PGlite. */
export class SqlEventStore implements EventStore {
  readonly kind: StoreKind;
  readonly atomicBatches = true;
  private readonly s: string;
  private readonly channel: string;
  private readonly appended = new EventEmitter();
  private unlisten?: Promise<() => Promise<void>>;
  private readonly subscriptions = new Set<PollingSubscription>();

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

  get db(): SqlDatabase {
    return this.options.db;
  }

  async append(
    streamId: string,
    events: NewEvent[],
    { expectedRevision }: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    return (await this.appendBatch([{ streamId, events, expectedRevision }]))[0]!;
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

    const results = await this.options.db.transaction(async (tx) => {
      // The global lock: positions are assigned in commit order (see event-store.schema.ts).
      const head = await one<{ last_position: string | number; last_recorded_at: Date | string | null }>(
        tx,
        `SELECT last_position, last_recorded_at FROM ${this.s}.es_head WHERE id = 1 FOR UPDATE`,
      );
      const { rows: heads } = await tx.query<{ stream_id: string; revision: string | number; last_hash: string }>(
        `SELECT stream_id, revision, last_hash FROM ${this.s}.es_streams WHERE stream_id = ANY($1::text[])`,
        [prepared.map((r) => r.streamId)],
      );
      const byStream = new Map(heads.map((h) => [h.stream_id, h]));

      // recordedAt never goes backwards within the store, whatever the clock says.
      const last = head.last_recorded_at ? new Date(head.last_recorded_at).getTime() : 0;
      const recordedAt = new Date(Math.max(this.options.clock.now().getTime(), last)).toISOString();
      let position = BigInt(head.last_position);
      const results: AppendResult[] = [];
      const rows: Record<string, unknown>[] = [];
      const streamRows: { stream_id: string; revision: number; last_hash: string }[] = [];
      for (const request of prepared) {
        const stream = byStream.get(request.streamId);
        const current = stream ? Number(stream.revision) : null;
        checkExpected(request.streamId, request.expectedRevision, current);
        if (request.events.length === 0) {
          results.push({ streamId: request.streamId, revision: current ?? -1, position, events: [] });
          continue;
        }
        let prevHash = stream?.last_hash ?? GENESIS_HASH;
        let revision = current ?? -1;
        const recorded: RecordedEvent[] = [];
        for (const event of request.events) {
          revision += 1;
          position += 1n;
          const base = {
            eventId: event.eventId,
            streamId: request.streamId,
            revision,
            type: event.type,
            schemaVersion: event.schemaVersion,
            data: event.data,
            metadata: { ...event.metadata, recordedAt } as EventMetadata,
            prevHash,
          };
          const size = serialisedSize(base);
          if (size > maxBytes) throw new EventTooLargeError(event.type, size, maxBytes);
          const hash = computeEventHash(base);
          recorded.push({ ...base, position, hash });
          prevHash = hash;
          const { recordedAt: r, effectiveAt, ...rest } = base.metadata;
          rows.push({
            position: position.toString(),
            event_id: base.eventId,
            stream_id: base.streamId,
            revision,
            type: base.type,
            schema_version: base.schemaVersion,
            data: base.data,
            metadata: rest,
            recorded_at: r,
            effective_at: effectiveAt,
            prev_hash: base.prevHash,
            hash,
          });
        }
        streamRows.push({ stream_id: request.streamId, revision, last_hash: prevHash });
        results.push({ streamId: request.streamId, revision, position, events: recorded });
      }
      if (rows.length === 0) return results;

      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        try {
          await tx.query(
            `INSERT INTO ${this.s}.es_events (${COLUMNS})
             SELECT ${COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS x(
               position bigint, event_id uuid, stream_id text, revision bigint, type text, schema_version integer,
               data jsonb, metadata jsonb, recorded_at timestamptz, effective_at timestamptz, prev_hash text, hash text)`,
            [JSON.stringify(rows.slice(i, i + INSERT_CHUNK))],
          );
        } catch (error) {
          if (isUniqueViolation(error, 'event_id')) {
            throw new InvalidEventError('an event with one of these eventIds is already stored', {
              eventIds: prepared.flatMap((r) => r.events.map((e) => e.eventId)).slice(0, 100),
            });
          }
          throw error;
        }
      }
      await tx.query(
        `INSERT INTO ${this.s}.es_streams (stream_id, revision, last_hash)
         SELECT stream_id, revision, last_hash FROM jsonb_to_recordset($1::jsonb) AS x(stream_id text, revision bigint, last_hash text)
         ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, last_hash = EXCLUDED.last_hash`,
        [JSON.stringify(streamRows)],
      );
      await tx.query(`UPDATE ${this.s}.es_head SET last_position = $1, last_recorded_at = $2 WHERE id = 1`, [
        position.toString(),
        recordedAt,
      ]);
      if (this.options.db.dialect === 'postgres') {
        await tx.query('SELECT pg_notify($1, $2)', [this.channel, position.toString()]);
      }
      for (const r of streamRows) await this.options.hooks?.beforeCommit?.(r.stream_id);
      return results;
    });
    const written = results.filter((r) => r.events.length > 0);
    if (written.length > 0) this.appended.emit('appended', written[written.length - 1]!.position);
    return results;
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
    const { rows } = await this.options.db.query<EventRow>(
      `SELECT ${READ_COLUMNS} FROM ${this.s}.es_events WHERE position > $1 ORDER BY position LIMIT $2`,
      [(options.after ?? 0n).toString(), options.maxCount],
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
      read: (after, maxCount) => this.readAll({ after, maxCount }),
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
