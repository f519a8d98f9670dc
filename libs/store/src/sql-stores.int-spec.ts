import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { ConcurrencyError, GENESIS_HASH, InvalidEventError, canonicalEventParts, hashOfCanonical, normaliseNewEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { verifyIntegrity } from './integrity';
import { StoreUnavailableError } from './errors';
import { PGliteDatabase, PgDatabase, quoteIdent, type SqlDatabase } from './sql/sql-client';
import { SqlEventStore } from './sql/sql-event-store';
import { describeEventStoreContract, newEvent, type ContractHarness, type HarnessOptions } from './testing/event-store.contract';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
let counter = 0;

async function harness(db: SqlDatabase, options: HarnessOptions = {}): Promise<ContractHarness> {
  // A fresh schema per test: the run never sees another run's rows.
  const schema = `es_contract_${runId}_${(counter += 1)}`;
  const clock = new ManualClock('2024-01-15T09:30:00Z');
  const store = await SqlEventStore.open({
    db,
    clock,
    schema,
    ownsDatabase: false,
    pollIntervalMs: 50,
    hooks: options.beforeCommit ? { beforeCommit: options.beforeCommit } : undefined,
  });
  return {
    store,
    clock,
    tamper: async (event) => {
      await db.query(`UPDATE ${quoteIdent(schema)}.es_events SET data = jsonb_set(data, '{tampered}', 'true'::jsonb) WHERE event_id = $1`, [event.eventId]);
    },
    close: async () => {
      await store.close();
      await db.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
    },
  };
}

describe('PostgreSQL adapter', () => {
  const pg = new PgDatabase({ connectionString: DATABASE_URL, max: 12 });
  afterAll(() => pg.close());
  describeEventStoreContract({ name: 'postgres', supportsCommitHook: true, open: (o) => harness(pg, o) });

  it('a connection ended by the server as the pool hands it out fails that query, not the process', async () => {
    // The server's 57P01 read in the same chunk as ReadyForQuery reaches the client after the pool
    // removed its idle listener and before checkOut adds its own: the parser's 'errorMessage' is
    // emitted at that instant, as pg-protocol would.
    const db = new PgDatabase({ connectionString: DATABASE_URL, max: 1 });
    try {
      let armed = true;
      db.pool.on('acquire', (client) => {
        if (!armed) return;
        armed = false;
        const connection = (client as unknown as { connection: NodeJS.EventEmitter }).connection;
        queueMicrotask(() =>
          connection.emit(
            'errorMessage',
            Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' }),
          ),
        );
      });
      await expect(db.query('SELECT 1 AS one')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });
});

describe('embedded adapter (PGlite)', () => {
  let pglite: PGliteDatabase;
  beforeAll(async () => {
    pglite = new PGliteDatabase(await PGlite.create());
  });
  afterAll(() => pglite.close());
  describeEventStoreContract({ name: 'embedded', supportsCommitHook: true, open: (o) => harness(pglite, o) });
});

/**
 * The write path of issue 14, on both SQL dialects: group commit (appends that wait go together
 * in one statement, each failing alone), recorded time chosen under the lock, the clock bound.
 */
function describeWritePath(name: string, database: () => SqlDatabase): void {
  describe(`write path: ${name}`, () => {
    const opened: { store: SqlEventStore; schema: string }[] = [];
    const open = async (
      clock: ManualClock,
      schema = `es_write_${runId}_${(counter += 1)}`,
      extra: { maxClockAheadMs?: number | null; coalesceMs?: number } = {},
    ) => {
      const store = await SqlEventStore.open({ db: database(), clock, schema, ownsDatabase: false, pollIntervalMs: 50, ...extra });
      opened.push({ store, schema });
      return { store, schema };
    };
    afterEach(async () => {
      const schemas = new Set(opened.map((o) => o.schema));
      for (const o of opened.splice(0)) await o.store.close();
      for (const schema of schemas) await database().query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
    });

    it('writes appends that arrive together in fewer statements, and a stale one fails alone', async () => {
      const { store, schema } = await open(new ManualClock('2024-01-15T09:30:00Z'));
      await store.append('declaration-10000000008-stale', [newEvent()], { expectedRevision: 'no_stream' });
      const appends = Array.from({ length: 32 }, (_, i) =>
        i === 7
          ? store.append('declaration-10000000008-stale', [newEvent()], { expectedRevision: 'no_stream' })
          : store.append(`declaration-1000000${String(i).padStart(2, '0')}08-2023`, [newEvent()], { expectedRevision: 'no_stream' }),
      );
      const settled = await Promise.allSettled(appends);
      expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(31);
      const failed = settled[7]!;
      expect(failed.status === 'rejected' && failed.reason instanceof ConcurrencyError).toBe(true);
      expect(failed.status === 'rejected' && (failed.reason as ConcurrencyError).code).toBe('STALE_REVISION');
      // Rows of one statement share their inserting transaction: 31 appends took fewer than 31.
      const { rows } = await database().query<{ n: string | number; events: string | number }>(
        `SELECT count(DISTINCT xmin::text) AS n, count(*) AS events FROM ${quoteIdent(schema)}.es_events WHERE stream_id <> 'declaration-10000000008-stale'`,
      );
      expect(Number(rows[0]!.events)).toBe(31);
      expect(Number(rows[0]!.n)).toBeLessThan(31);
      const positions = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.position] : [])).sort((a, b) => (a < b ? -1 : 1));
      expect(positions).toEqual(Array.from({ length: 31 }, (_, i) => BigInt(i + 2)));
      expect((await verifyIntegrity(store)).ok).toBe(true);
    });

    it('chains appends to one stream queued together, each on the one before', async () => {
      const { store } = await open(new ManualClock('2024-01-15T09:30:00Z'));
      const stream = 'declaration-10000000008-2023';
      const results = await Promise.all(Array.from({ length: 10 }, () => store.append(stream, [newEvent(), newEvent()], { expectedRevision: 'any' })));
      expect(results.map((r) => r.revision).sort((a, b) => a - b)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
      const events = await store.readStream(stream);
      expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(results.flatMap((r) => r.events.map((e) => e.hash)).sort()).toEqual(events.map((e) => e.hash).sort());
      expect((await verifyIntegrity(store)).ok).toBe(true);
    });

    it('refuses an eventId given by two appends queued together once, and writes the other', async () => {
      const { store } = await open(new ManualClock('2024-01-15T09:30:00Z'));
      const shared = newEvent();
      const [a, b, c] = await Promise.allSettled([
        store.append('declaration-10000000008-a', [shared], { expectedRevision: 'any' }),
        store.append('declaration-10000000008-b', [{ ...shared }], { expectedRevision: 'any' }),
        store.append('declaration-10000000008-c', [newEvent()], { expectedRevision: 'any' }),
      ]);
      expect(a.status).toBe('fulfilled');
      expect(b.status === 'rejected' && b.reason instanceof InvalidEventError).toBe(true);
      expect(c.status).toBe('fulfilled');
      expect(await store.readStream('declaration-10000000008-b')).toEqual([]);
    });

    it("records at the latest time when another writer's clock is ahead, refusing and retrying nothing", async () => {
      const ahead = new ManualClock('2024-01-15T10:30:00Z');
      const behind = new ManualClock('2024-01-15T09:30:00Z');
      const { store: a, schema } = await open(ahead);
      const { store: b } = await open(behind, schema);
      const writes = Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? a : b).append(`declaration-1000000${String(i).padStart(2, '0')}08-2023`, [newEvent()], { expectedRevision: 'no_stream' }),
      );
      const results = await Promise.all(writes);
      expect(results).toHaveLength(40);
      const all = await a.readAll({ maxCount: 100 });
      expect(all).toHaveLength(40);
      for (let i = 1; i < all.length; i += 1) expect(all[i]!.metadata.recordedAt >= all[i - 1]!.metadata.recordedAt).toBe(true);
      // The writer behind appends after the one ahead: recorded at the later instant, at once.
      const last = await b.append('declaration-10000000008-late', [newEvent()], { expectedRevision: 'no_stream' });
      expect(last.events[0]!.metadata.recordedAt).toBe('2024-01-15T10:30:00.000Z');
      expect((await verifyIntegrity(a)).ok).toBe(true);
    });

    it('chains on the real head when another process wrote the stream since this one last did', async () => {
      const clock = new ManualClock('2024-01-15T09:30:00Z');
      const { store: a, schema } = await open(clock);
      const { store: b } = await open(clock, schema);
      const stream = 'declaration-10000000008-2023';
      for (let i = 0; i < 6; i += 1) {
        // Each store remembers the head it wrote last, which the other one has moved since.
        const r = await (i % 2 === 0 ? a : b).append(stream, [newEvent(), newEvent()], { expectedRevision: 'any' });
        expect(r.revision).toBe(2 * i + 1);
      }
      await expect(a.append(stream, [newEvent()], { expectedRevision: 9 })).rejects.toBeInstanceOf(ConcurrencyError);
      // A stale hint from the caller is checked under the lock like the rest.
      const stale = await a.readStream(stream);
      await b.append(stream, [newEvent()], { expectedRevision: 'any' });
      const r = await a.append(stream, [newEvent()], { expectedRevision: 'any', head: { revision: stale.at(-1)!.revision, lastHash: stale.at(-1)!.hash } });
      expect(r.revision).toBe(13);
      expect((await verifyIntegrity(a)).ok).toBe(true);
      expect((await a.readStream(stream)).map((e) => e.revision)).toEqual(Array.from({ length: 14 }, (_, i) => i));
    });

    it('keeps two group statements on their way on PostgreSQL (one on PGlite), each stream in the order of its appends, positions without gaps', async () => {
      const shared = 'declaration-10000000099-2023';
      // Counts the group statements on their way at once, through the same database.
      const db = database();
      let now = 0;
      let most = 0;
      /** How many group statements carried an append to the shared stream. */
      let sharedStatements = 0;
      const counting = new Proxy(db, {
        get(target, prop) {
          if (prop === 'query')
            return async (sql: string, params?: unknown[]) => {
              const group = sql.includes('es_append_group');
              if (group) most = Math.max(most, (now += 1));
              if (group && Array.isArray(params?.[0]) && params[0].includes(shared)) sharedStatements += 1;
              try {
                return await target.query(sql, params);
              } finally {
                if (group) now -= 1;
              }
            };
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const schema = `es_write_${runId}_${(counter += 1)}`;
      const store = await SqlEventStore.open({ db: counting, clock: new ManualClock('2024-01-15T09:30:00Z'), schema, ownsDatabase: false, pollIntervalMs: 50 });
      opened.push({ store, schema });
      // Eight writers, each on its own stream with the revision it knows, 15 appends each; and 12
      // appends to one shared stream made at once, without waiting: they must land in that order.
      const made = Array.from({ length: 12 }, (_, i) => ({ ...newEvent(), data: { order: i } }));
      const [, sharedResults] = await Promise.all([
        Promise.all(
          Array.from({ length: 8 }, async (_, w) => {
            const stream = `declaration-1000000${String(w).padStart(2, '0')}08-2023`;
            // Ten events an append: enough waiting for the queue to be split over two statements.
            for (let i = 0; i < 15; i += 1)
              await store.append(
                stream,
                Array.from({ length: 10 }, () => newEvent()),
                { expectedRevision: i === 0 ? 'no_stream' : 10 * i - 1 },
              );
          }),
        ),
        Promise.all(made.map((e) => store.append(shared, [e], { expectedRevision: 'any' }))),
      ]);
      expect(most).toBe(db.dialect === 'postgres' ? 2 : 1);
      expect((await store.readStream(shared)).map((e) => (e.data as { order: number }).order)).toEqual(made.map((_, i) => i));
      expect(sharedResults.map((r) => r.revision)).toEqual(made.map((_, i) => i));
      // Appends to one stream made together still share statements, each chained on the one before.
      expect(sharedStatements).toBeLessThan(made.length);
      const { rows } = await db.query<{ n: string | number; lo: string | number; hi: string | number }>(
        `SELECT count(*) AS n, min(position) AS lo, max(position) AS hi FROM ${quoteIdent(schema)}.es_events`,
      );
      expect([Number(rows[0]!.n), Number(rows[0]!.lo), Number(rows[0]!.hi)]).toEqual([8 * 15 * 10 + 12, 1, 8 * 15 * 10 + 12]);
      expect(await store.headPosition()).toBe(BigInt(8 * 15 * 10 + 12));
      expect((await verifyIntegrity(store)).ok).toBe(true);
    });

    it('refuses an eventId given again by an append of another group statement on its way, and writes the rest', async () => {
      const { store, schema } = await open(new ManualClock('2024-01-15T09:30:00Z'));
      const shared = newEvent();
      // 8 appends of 10 events waiting: two statements of 4 on PostgreSQL; the first and the last
      // append carry the same event, so they are in different statements there.
      const settled = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.append(
            `declaration-1000000${String(i).padStart(2, '0')}08-2023`,
            [i === 0 || i === 7 ? { ...shared } : newEvent(), ...Array.from({ length: 9 }, () => newEvent())],
            { expectedRevision: 'no_stream' },
          ),
        ),
      );
      expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(7);
      const refused = settled.filter((r) => r.status === 'rejected');
      expect(refused.map((r) => r.reason instanceof InvalidEventError)).toEqual([true]);
      const { rows } = await database().query<{ n: string | number; hi: string | number }>(
        `SELECT count(*) FILTER (WHERE event_id = $1) AS n, max(position) AS hi FROM ${quoteIdent(schema)}.es_events`,
        [shared.eventId],
      );
      expect([Number(rows[0]!.n), Number(rows[0]!.hi)]).toEqual([1, 70]);
      expect((await verifyIntegrity(store)).ok).toBe(true);
    });

    it('settles, event by event, a planned group from a writer of the version before (no place, revision or previous hash sent)', async () => {
      // A rolling restart: the migration of a newer process replaced the function while an older
      // one still sends planned events as [eventId, part0..part3, hash].
      const { store, schema } = await open(new ManualClock('2024-01-15T09:30:00Z'));
      await store.append('declaration-10000000008-2023', [newEvent()], { expectedRevision: 'no_stream' });
      const stream = 'declaration-10000000016-2023';
      const event = normaliseNewEvent(newEvent());
      const parts = canonicalEventParts({ ...event, streamId: stream, metadata: event.metadata });
      const units = [[{ s: stream, x: 'no_stream', p: null, r0: -1, h0: null, e: [[event.eventId, ...parts, 'f'.repeat(64)]] }]];
      const { rows } = await database().query<{ r: { planned?: boolean; units?: { ok?: boolean }[]; head: string } }>(
        `SELECT ${quoteIdent(schema)}.es_append_group($1::jsonb, true, $2::timestamptz, NULL, 1048576, NULL) AS r`,
        [JSON.stringify(units), '2024-01-15T09:30:00.000Z'],
      );
      expect(rows[0]!.r.planned).toBeUndefined();
      expect(rows[0]!.r.units).toEqual([{ ok: true }]);
      expect(rows[0]!.r.head).toBe('2');
      const [written] = await store.readStream(stream);
      expect(written).toMatchObject({ eventId: event.eventId, revision: 0, position: 2n, prevHash: '0'.repeat(64) });
      expect(written!.hash).not.toBe('f'.repeat(64));
      expect((await verifyIntegrity(store)).ok).toBe(true);
    });

    it('takes a planned group from a writer of the version before this one (the group as one JSON document, each event with its place) as planned', async () => {
      const { store, schema } = await open(new ManualClock('2024-01-15T09:30:00Z'));
      await store.append('declaration-10000000008-2023', [newEvent()], { expectedRevision: 'no_stream' });
      const stream = 'declaration-10000000016-2023';
      const recordedAt = '2024-01-15T09:30:00.000Z';
      let prevHash = GENESIS_HASH;
      const e: unknown[] = [];
      const made = [newEvent(), newEvent()];
      made.forEach((raw, i) => {
        const event = normaliseNewEvent(raw);
        const parts = canonicalEventParts({ ...event, streamId: stream, metadata: event.metadata });
        const hash = hashOfCanonical(prevHash, `${parts[0]}${recordedAt}${parts[1]}${prevHash}${parts[2]}${i}${parts[3]}`);
        e.push([event.eventId, ...parts, hash, prevHash, String(i), i + 1]);
        prevHash = hash;
      });
      const units = [[{ s: stream, x: 'no_stream', p: null, r0: -1, h0: null, e }]];
      const { rows } = await database().query<{ r: { planned?: boolean; head: string } }>(
        `SELECT ${quoteIdent(schema)}.es_append_group($1::jsonb, true, $2::timestamptz, NULL, 1048576, NULL) AS r`,
        [JSON.stringify(units), recordedAt],
      );
      expect(rows[0]!.r).toMatchObject({ planned: true, head: '3' });
      const written = await store.readStream(stream);
      expect(written.map((w) => [w.eventId, w.position, w.hash])).toEqual(made.map((m, i) => [m.eventId, BigInt(i + 2), (e[i] as string[])[5]]));
      expect((await verifyIntegrity(store)).ok).toBe(true);
    });

    it('carries the control characters (U+0001, which joins the lists a group is sent in, among them) in data and metadata, planned and settled', async () => {
      const clock = new ManualClock('2024-01-15T09:30:00Z');
      const { store: a, schema } = await open(clock);
      const { store: b } = await open(clock, schema);
      // U+0001 to U+001F (jsonb refuses U+0000, which the API refuses before: form-fields.ts).
      const controls = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('') + '\u007f\u2028';
      const odd = () => newEvent({ data: { note: controls, [controls]: [controls, { x: `a${controls}b` }] } });
      const stream = 'declaration-10000000008-2023';
      // Planned: a new stream (no_stream), chained by the writer.
      const first = [odd(), odd()];
      const r1 = await a.append(stream, first, { expectedRevision: 'no_stream' });
      // Settled under the lock: b does not know the stream's head ('any', never written by b).
      const second = [odd(), { ...odd(), metadata: { ...odd().metadata, correlationId: randomBytes(4).toString('hex') + controls } }];
      const r = await b.append(stream, second, { expectedRevision: 'any' });
      expect(r.revision).toBe(3);
      const read = await a.readStream(stream);
      expect(read.map((e) => e.data)).toEqual([...first, ...second].map((e) => e.data));
      expect(read[3]!.metadata.correlationId).toBe(second[1]!.metadata.correlationId);
      // The hashes each writer answered are the ones stored (chained by a, then by the server for b).
      expect(read.map((e) => e.hash)).toEqual([...r1.events, ...r.events].map((e) => e.hash));
      expect((await verifyIntegrity(a)).ok).toBe(true);
    });

    it('answers an empty batch queued among other appends, on the planned and on the settled path, each unit with its own answer', async () => {
      const clock = new ManualClock('2024-01-15T09:30:00Z');
      const { store: a, schema } = await open(clock);
      const { store: b } = await open(clock, schema);
      const known = 'declaration-10000000008-2023';
      await b.append(known, [newEvent()], { expectedRevision: 'no_stream' });
      // a has not written `known`: 'any' without a head makes the group settled under the lock.
      const settled = await Promise.all([
        a.append(known, [newEvent()], { expectedRevision: 'any' }),
        a.appendBatch([]),
        a.append('declaration-10000000016-2023', [newEvent()], { expectedRevision: 'no_stream' }),
      ]);
      expect([settled[0].revision, settled[1], settled[2].revision]).toEqual([1, [], 0]);
      // Every head known now (a wrote them): planned.
      const planned = await Promise.all([
        a.append(known, [newEvent()], { expectedRevision: 1 }),
        a.appendBatch([]),
        a.append('declaration-10000000024-2023', [newEvent()], { expectedRevision: 'no_stream' }),
      ]);
      expect([planned[0].revision, planned[1], planned[2].revision]).toEqual([2, [], 0]);
      // A stale append after an empty batch: settled, the stale one fails alone.
      const mixed = await Promise.allSettled([
        a.appendBatch([]),
        a.append(known, [newEvent()], { expectedRevision: 0 }),
        a.append('declaration-10000000040-2023', [newEvent()], { expectedRevision: 'no_stream' }),
      ]);
      expect(mixed.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).constructor.name))).toEqual([
        [],
        'ConcurrencyError',
        expect.objectContaining({ revision: 0 }),
      ]);
      expect((await a.readStream(known)).map((e) => e.revision)).toEqual([0, 1, 2]);
      // The JSON form (writers of earlier versions) with an empty unit first.
      const stream = 'declaration-10000000032-2023';
      const event = normaliseNewEvent(newEvent());
      const parts = canonicalEventParts({ ...event, streamId: stream, metadata: event.metadata });
      const { rows } = await database().query<{ r: { units?: unknown[] } }>(
        `SELECT ${quoteIdent(schema)}.es_append_group($1::jsonb, false, $2::timestamptz, NULL, 1048576, NULL) AS r`,
        [JSON.stringify([[], [{ s: stream, x: 'no_stream', p: null, e: [[event.eventId, ...parts]] }]]), '2024-01-15T09:30:00.000Z'],
      );
      expect(rows[0]!.r.units).toEqual([{ ok: true }, { ok: true }]);
      expect((await verifyIntegrity(a)).ok).toBe(true);
    });

    it('refuses a writer whose clock is far ahead of the database, with CLOCK_SKEW, and writes nothing', async () => {
      const future = new ManualClock(new Date(Date.now() + 60 * 60 * 1000));
      const { store } = await open(future, undefined, { maxClockAheadMs: 60_000 });
      const attempt = store.append('declaration-10000000008-2023', [newEvent()], { expectedRevision: 'any' });
      await expect(attempt).rejects.toMatchObject({ code: 'CLOCK_SKEW', details: { maxAheadMs: 60_000 } });
      await expect(attempt).rejects.toThrow(/en avance de plus de 60 s/);
      expect(await store.headPosition()).toBe(0n);
      future.set(new Date(Date.now() + 30_000));
      const within = await store.append('declaration-10000000008-2023', [newEvent()], { expectedRevision: 'any' });
      expect(within.position).toBe(1n);
      // null: no bound (a writer that knows its clock is elsewhere in time on purpose).
      const { store: unbounded } = await open(new ManualClock('2031-02-01T09:00:00Z'), undefined, { maxClockAheadMs: null });
      const later = await unbounded.append('declaration-10000000008-2031', [newEvent()], { expectedRevision: 'any' });
      expect(later.events[0]!.metadata.recordedAt).toBe('2031-02-01T09:00:00.000Z');
    });

    it('lets appends gather for coalesceMs before a caught-up subscription reads them, and stops at once meanwhile', async () => {
      const { store } = await open(new ManualClock('2024-01-15T09:30:00Z'), undefined, { coalesceMs: 1_500 });
      await store.append('declaration-10000000008-2023', [newEvent()], { expectedRevision: 'no_stream' });
      const batches: number[][] = [];
      const sub = store.subscribeAll({ after: 0n, batchSize: 100 }, (events) => {
        batches.push(events.map((e) => Number(e.position)));
        return Promise.resolve();
      });
      try {
        while (batches.length === 0) await new Promise((r) => setTimeout(r, 10));
        // Three appends one after the other, each committed (and signalled) before the next is sent.
        for (let i = 0; i < 3; i += 1) await store.append(`declaration-1000000${i}018-2023`, [newEvent()], { expectedRevision: 'no_stream' });
        while (batches.flat().length < 4) await new Promise((r) => setTimeout(r, 10));
        expect(batches).toEqual([[1], [2, 3, 4]]);
      } finally {
        // In the middle of a pause (the last batch was short): stop() does not wait for its end.
        const asked = Date.now();
        await sub.stop();
        expect(Date.now() - asked).toBeLessThan(1_000);
      }
    });
  });
}

describe('write path: postgres, connections terminated by the server under load', () => {
  it('loses, duplicates and half-writes nothing with two group statements on their way, and leaves no append waiting', async () => {
    const db = new PgDatabase({ connectionString: DATABASE_URL, max: 10 });
    const admin = new PgDatabase({ connectionString: DATABASE_URL, max: 1 });
    const schema = `es_fault_${runId}`;
    const store = await SqlEventStore.open({ db, clock: new ManualClock('2024-01-15T09:30:00Z'), schema, ownsDatabase: false, pollIntervalMs: 50 });
    try {
      const acknowledged = new Set<string>();
      let refused = 0;
      let killed = 0;
      let writing = true;
      // Every 40 ms, the server terminates the backends running this store's group statement.
      const killer = (async () => {
        while (writing) {
          await new Promise((r) => setTimeout(r, 40));
          const { rows } = await admin.query<{ n: string | number }>(
            `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
             WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE $1`,
            [`%${quoteIdent(schema)}.es_append_group%`],
          );
          killed += Number(rows[0]!.n);
        }
      })();
      const started = Date.now();
      // Eight writers (half of them 30 events an append, so that the queue is split over two
      // statements), each on its own stream, until the server has cut at least 5 statements.
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const stream = `declaration-1000000${String(w).padStart(2, '0')}08-2023`;
          let revision = -1;
          for (let i = 0; (i < 40 || killed < 5) && Date.now() - started < 60_000; i += 1) {
            const events = Array.from({ length: w % 2 === 0 ? 30 : 1 }, () => newEvent());
            try {
              const r = await store.append(stream, events, { expectedRevision: revision < 0 ? 'no_stream' : revision });
              revision = r.revision;
              for (const e of events) acknowledged.add(e.eventId);
            } catch {
              // Lost on its way: it may or may not have committed; the stream as stored says. That
              // read may be cut too (the killer saw this backend still running the group statement
              // it had just finished): read again, as a client retries a 503.
              refused += 1;
              for (let attempt = 0; ; attempt += 1) {
                try {
                  revision = (await store.readStream(stream)).length - 1;
                  break;
                } catch (error) {
                  if (!(error instanceof StoreUnavailableError) || attempt >= 20) throw error;
                }
              }
            }
          }
        }),
      );
      writing = false;
      await killer;
      expect(killed).toBeGreaterThanOrEqual(5);
      expect(refused).toBeGreaterThan(0);
      const { rows } = await admin.query<{ n: string | number; ids: string | number; hi: string | number | null }>(
        `SELECT count(*) AS n, count(DISTINCT event_id) AS ids, max(position) AS hi FROM ${quoteIdent(schema)}.es_events`,
      );
      const stored = Number(rows[0]!.n);
      // Nothing twice, no gap, every acknowledged event stored; the chains and heads verify.
      expect(Number(rows[0]!.ids)).toBe(stored);
      expect(Number(rows[0]!.hi)).toBe(stored);
      const { rows: missing } = await admin.query<{ m: string | number }>(
        `SELECT count(*) AS m FROM unnest($1::uuid[]) AS id WHERE NOT EXISTS (SELECT 1 FROM ${quoteIdent(schema)}.es_events e WHERE e.event_id = id)`,
        [[...acknowledged]],
      );
      expect(Number(missing[0]!.m)).toBe(0);
      expect(stored).toBeGreaterThanOrEqual(acknowledged.size);
      expect((await verifyIntegrity(store)).ok).toBe(true);
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await admin.close();
      await db.close();
    }
  }, 90_000);
});

const pgForWrites = new PgDatabase({ connectionString: DATABASE_URL, max: 4 });
afterAll(() => pgForWrites.close());
describeWritePath('postgres', () => pgForWrites);
let pgliteForWrites: PGliteDatabase | undefined;
beforeAll(async () => {
  pgliteForWrites = new PGliteDatabase(await PGlite.create());
});
afterAll(() => pgliteForWrites?.close());
describeWritePath('embedded', () => pgliteForWrites!);

describe('embedded database: what autovacuum does on a server', () => {
  it('vacuums and analyses the tables grown by a fifth since their statistics, and leaves the others', async () => {
    const db = new PGliteDatabase(await PGlite.create(), { maintenanceIntervalMs: null });
    try {
      await db.query('CREATE SCHEMA app');
      await db.query('CREATE TABLE app.grown (id integer PRIMARY KEY, v text)');
      await db.query('CREATE TABLE app.small (id integer PRIMARY KEY)');
      await db.query(`INSERT INTO app.grown SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g`);
      await db.query('INSERT INTO app.small VALUES (1)');
      const stats = async () =>
        (await db.query<{ relpages: number; reltuples: number }>(`SELECT relpages, reltuples FROM pg_class WHERE oid = 'app.grown'::regclass`)).rows[0]!;
      expect((await stats()).relpages).toBe(0);
      expect(await db.maintain()).toEqual(['app.grown']);
      expect(await stats()).toMatchObject({ reltuples: 20000 });
      // Analysed too (never before), from a small sample: statistics target 10, 11 bounds at most.
      const { rows: bounds } = await db.query<{ n: number }>(
        `SELECT cardinality(histogram_bounds::text::text[]) AS n FROM pg_stats WHERE schemaname = 'app' AND tablename = 'grown' AND attname = 'id'`,
      );
      expect(bounds[0]!.n).toBeGreaterThan(1);
      expect(bounds[0]!.n).toBeLessThanOrEqual(11);
      expect((await db.query('SHOW default_statistics_target')).rows).toEqual([{ default_statistics_target: '100' }]);
      // Nothing grew since: nothing to do.
      expect(await db.maintain()).toEqual([]);
      await db.query(`INSERT INTO app.grown SELECT g, repeat('x', 100) FROM generate_series(20001, 30000) g`);
      expect(await db.maintain()).toEqual(['app.grown']);
      expect(await stats()).toMatchObject({ reltuples: 30000 });
    } finally {
      await db.close();
    }
  });

  it('runs by itself every maintenanceIntervalMs', async () => {
    const db = new PGliteDatabase(await PGlite.create(), { maintenanceIntervalMs: 50 });
    try {
      await db.query('CREATE TABLE grown (id integer PRIMARY KEY)');
      await db.query('INSERT INTO grown SELECT generate_series(1, 20000)');
      const started = Date.now();
      let pages = 0;
      while (pages === 0 && Date.now() - started < 10_000) {
        await new Promise((r) => setTimeout(r, 20));
        pages = (await db.query<{ relpages: number }>(`SELECT relpages FROM pg_class WHERE relname = 'grown'`)).rows[0]!.relpages;
      }
      expect(pages).toBeGreaterThan(10);
    } finally {
      await db.close();
    }
  });

  it('answers a call made while a run is on its way with that run, and close() waits for it', async () => {
    const db = new PGliteDatabase(await PGlite.create(), { maintenanceIntervalMs: null });
    await db.query('CREATE TABLE grown (id integer PRIMARY KEY)');
    await db.query('INSERT INTO grown SELECT generate_series(1, 20000)');
    const run = db.maintain();
    expect(db.maintain()).toBe(run);
    const order: string[] = [];
    const ran = run.then((tables) => order.push(`ran ${tables.join()}`));
    await db.close();
    order.push('closed');
    await ran;
    // The run finished (the database still open for it) before close() closed the database.
    expect(order).toEqual(['ran public.grown', 'closed']);
    expect(db.db.closed).toBe(true);
  });
});
