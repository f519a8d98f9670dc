import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import type { RecordedEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { PGliteDatabase, PgDatabase, SqlEventStore, quoteIdent, type SqlDatabase } from '@forfait/store';
import { newEvent } from '../../store/src/testing/event-store.contract';
import type { Projection } from './projection';
import { CheckpointMovedError, ProjectionApplyError, ProjectionRunner, projectionFailures, projectionStatus } from './projection-runner';
import { rebuildProjections } from './rebuild';
import { auditTrailProjection, doctorOfStream, doctorTrail } from './projections/audit-trail.projection';

const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
let n = 0;

async function fixture(db: SqlDatabase) {
  n += 1;
  const esSchema = `rm_es_${runId}_${n}`;
  const rmSchema = `rm_rm_${runId}_${n}`;
  const store = await SqlEventStore.open({ db, clock: new ManualClock('2024-01-15T09:00:00Z'), schema: esSchema, ownsDatabase: false, pollIntervalMs: 50 });
  const trail = async (schema = rmSchema) =>
    (
      await db.query<{ position: string; rpps: string | null; year: number | null; type: string }>(
        `SELECT a.position::text AS position, rpps, year, type FROM ${quoteIdent(schema)}.audit_trail a ORDER BY a.position`,
      )
    ).rows;
  const drop = async () => {
    await store.close();
    await db.query(`DROP SCHEMA ${quoteIdent(esSchema)} CASCADE`);
    await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(rmSchema)} CASCADE`);
    await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(rmSchema + '_b')} CASCADE`);
  };
  return { store, rmSchema, trail, drop };
}

async function appendSome(store: SqlEventStore, count: number): Promise<bigint> {
  let last = 0n;
  for (let i = 0; i < count; i += 1) {
    const stream = i % 4 === 0 ? 'campaign-2023' : i % 4 === 1 ? 'doctor-10000000009' : 'declaration-10000000009-2023';
    last = (await store.append(stream, [newEvent()], { expectedRevision: 'any' })).position;
  }
  return last;
}

function runnerSuite(name: string, open: () => Promise<SqlDatabase>, close: (db: SqlDatabase) => Promise<void>) {
  describe(`projection runner on ${name}`, () => {
    let db: SqlDatabase;
    beforeAll(async () => {
      db = await open();
    });
    afterAll(() => close(db));

    it('writes the same audit trail rows whether the server copies them (same database) or Node does', async () => {
      const f = await fixture(db);
      await appendSome(f.store, 9);
      await f.store.append('access-10000000009', [newEvent({ metadata: { ...newEvent().metadata, onBehalfOf: { rpps: '10000000009' } } })], {
        expectedRevision: 'any',
      });
      await f.store.append('campaign-x', [newEvent()], { expectedRevision: 'any' });
      // Near misses of doctorOfStream's forms: the server's SQL (no regular expression) must tell them as it does.
      const nearMisses = [
        'declaration-1000000000-2023',
        'declaration-100000000091-2023',
        'declaration-10000000009-202',
        'declaration-1000000000a-2023',
        'declaration-10000000009_2023',
        'doctor-1000000000',
        'doctor-1000000000x',
        'access-100000000099',
        'campaign-20233',
        'campaign-2o23',
        'campaigns-2023',
        'declarations-10000000009-2023',
        'campaign-2025',
        'access-10000000001',
      ];
      for (const id of nearMisses) await f.store.append(id, [newEvent()], { expectedRevision: 'any' });
      const all = await f.store.readAll({ maxCount: 100 });
      const full = async (schema: string) =>
        (
          await db.query(
            `SELECT position::text, rpps, year, stream_id, revision, event_id, type, hash, prev_hash, schema_version, data, metadata,
               recorded_at::text, effective_at::text FROM ${quoteIdent(schema)}.audit_trail ORDER BY audit_trail.position`,
          )
        ).rows;
      for (const [schema, context] of [
        [f.rmSchema, { atHead: true, readStreams: async () => new Map(), eventsTable: f.store.eventsTable }],
        [`${f.rmSchema}_b`, { atHead: true, readStreams: async () => new Map() }],
      ] as const) {
        await db.transaction(async (tx) => {
          await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
          await auditTrailProjection.setup(tx, schema);
          await auditTrailProjection.apply(tx, schema, all, context);
        });
      }
      const server = await full(f.rmSchema);
      expect(server).toHaveLength(11 + nearMisses.length);
      expect(server).toEqual(await full(`${f.rmSchema}_b`));
      // Both as doctorOfStream names them (the Node path calls it; the server's path is its SQL).
      expect(server.map((r) => ({ rpps: r.rpps, year: r.year }))).toEqual(all.map((e) => doctorOfStream(e.streamId)));
      // GET …/history reads the metadata back whole, its times included, as the store does.
      for (const schema of [f.rmSchema, `${f.rmSchema}_b`]) {
        const trail = await doctorTrail(db, schema, '10000000009');
        expect(trail).toEqual(all.filter((e) => e.streamId === 'doctor-10000000009' || /^declaration-10000000009-\d{4}$/.test(e.streamId)));
      }
      await f.drop();
    });

    it('fills the audit trail with every event once, naming the doctor and year of each stream', async () => {
      const f = await fixture(db);
      const last = await appendSome(f.store, 9);
      const runner = new ProjectionRunner(f.store, db, [auditTrailProjection], f.rmSchema, { batchSize: 4 });
      await runner.start();
      await runner.waitFor(last);
      const rows = await f.trail();
      expect(rows).toHaveLength(9);
      expect(rows[0]).toMatchObject({ rpps: null, year: 2023, type: 'IndicatorDeclared' });
      expect(rows[1]).toMatchObject({ rpps: '10000000009', year: null });
      expect(rows[2]).toMatchObject({ rpps: '10000000009', year: 2023 });
      const status = await projectionStatus(db, f.store, f.rmSchema);
      expect(status).toEqual([{ name: 'audit_trail', version: 3, checkpoint: last.toString(), lagEvents: 0, behind: false }]);
      await runner.stop();
      await f.drop();
    });

    it('rolls a failing batch back with its checkpoint, and on restart applies it exactly once', async () => {
      const f = await fixture(db);
      const last = await appendSome(f.store, 10);
      let failing = true;
      const flaky: Projection = {
        ...auditTrailProjection,
        async apply(tx, schema, events: RecordedEvent[], context) {
          await auditTrailProjection.apply(tx, schema, events, context);
          // Dies after writing rows of any batch that holds the 7th event (until fixed): a failure mid-batch.
          if (failing && events.some((e) => e.position === 7n)) throw new Error('killed mid-batch');
        },
      };
      const first = new ProjectionRunner(f.store, db, [flaky], f.rmSchema, { batchSize: 3 });
      const failed = new Promise<Error>((resolve) => {
        (first as unknown as { options: { onError: (n: string, e: Error) => void } }).options.onError = (_n, e) => resolve(e);
      });
      await first.start();
      // The batch rolled back, applied again one event at a time up to the one that fails, which is named and recorded.
      const error = await failed;
      expect(error).toBeInstanceOf(ProjectionApplyError);
      expect(error.message).toMatch(/^projection audit_trail cannot apply event \S+ \S+ at position 7: killed mid-batch$/);
      expect(await projectionFailures(db, f.rmSchema)).toEqual([
        { name: 'audit_trail', position: '7', eventId: expect.any(String), type: expect.any(String), error: 'killed mid-batch', failedAt: expect.any(String) },
      ]);
      await first.stop();
      failing = false;
      const afterCrash = await f.trail();
      expect(afterCrash.map((r) => r.position)).toEqual(['1', '2', '3', '4', '5', '6']);
      expect(await first.checkpointOf('audit_trail')).toBe(6n);

      const second = new ProjectionRunner(f.store, db, [flaky], f.rmSchema, { batchSize: 3 });
      await second.start();
      await second.waitFor(last);
      const rows = await f.trail();
      expect(rows.map((r) => r.position)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
      // Applied past it: the failure is gone.
      expect(await projectionFailures(db, f.rmSchema)).toEqual([]);
      await second.stop();
      await f.drop();
    });

    it('live (retryApplyFailures): retries an event it cannot apply, in-process with backoff, naming it; catches up once the cause is gone', async () => {
      const f = await fixture(db);
      const last = await appendSome(f.store, 10);
      let failing = true;
      const flaky: Projection = {
        ...auditTrailProjection,
        async apply(tx, schema, events: RecordedEvent[], context) {
          await auditTrailProjection.apply(tx, schema, events, context);
          if (failing && events.some((e) => e.position === 7n)) throw new Error('cannot apply 7 yet');
        },
      };
      const retries: { name: string; position: bigint; delayMs: number }[] = [];
      const stops: Error[] = [];
      const runner = new ProjectionRunner(f.store, db, [flaky], f.rmSchema, {
        batchSize: 3,
        retryApplyFailures: { baseMs: 50, capMs: 200 },
        onApplyRetry: (name, error, delayMs) => retries.push({ name, position: error.event.position, delayMs }),
        onError: (_n, e) => stops.push(e),
      });
      await runner.start();
      const deadline = Date.now() + 10_000;
      while (retries.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // Tried again and again on the same event, never given up; the failure is recorded and said.
      expect(retries.length).toBeGreaterThanOrEqual(3);
      expect(retries.every((r) => r.name === 'audit_trail' && r.position === 7n && r.delayMs <= 200)).toBe(true);
      expect(stops).toEqual([]);
      expect(runner.failed).toBeInstanceOf(ProjectionApplyError);
      expect(await projectionFailures(db, f.rmSchema)).toEqual([expect.objectContaining({ name: 'audit_trail', position: '7', error: 'cannot apply 7 yet' })]);
      expect(await runner.checkpointOf('audit_trail')).toBe(6n);
      // The cause gone: the same runner, not restarted, applies it and the rest, once each.
      failing = false;
      const caughtUp = Date.now() + 10_000;
      while ((await runner.checkpointOf('audit_trail')) < last && Date.now() < caughtUp) await new Promise((r) => setTimeout(r, 20));
      expect(await runner.checkpointOf('audit_trail')).toBe(last);
      expect((await f.trail()).map((r) => r.position)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
      expect(await projectionFailures(db, f.rmSchema)).toEqual([]);
      expect(runner.failed).toBeUndefined();
      await runner.stop();
      await f.drop();
    });

    it('live together (the embedded store): one that cannot apply an event is taken out, the others go on; each event applied once', async () => {
      const f = await fixture(db);
      const last = await appendSome(f.store, 10);
      let failing = true;
      // Two projections whose tables refuse an event applied twice (primary keys).
      const counter = (name: string, failsAt?: bigint): Projection => ({
        name,
        version: 1,
        tables: [name],
        async setup(tx, schema) {
          await tx.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.${quoteIdent(name)} (position bigint PRIMARY KEY)`);
        },
        async apply(tx, schema, events: RecordedEvent[]) {
          for (const e of events) await tx.query(`INSERT INTO ${quoteIdent(schema)}.${quoteIdent(name)} (position) VALUES ($1)`, [e.position.toString()]);
          if (failing && failsAt !== undefined && events.some((e) => e.position === failsAt)) throw new Error(`cannot apply ${failsAt} yet`);
        },
      });
      const retries: string[] = [];
      const stops: Error[] = [];
      const runner = new ProjectionRunner(f.store, db, [counter('healthy'), counter('flaky', 7n), counter('other')], f.rmSchema, {
        batchSize: 3,
        liveTogether: true,
        retryApplyFailures: { baseMs: 50, capMs: 200 },
        onApplyRetry: (name) => retries.push(name),
        onError: (_n, e) => stops.push(e),
      });
      await runner.start();
      const at = async (name: string) => runner.checkpointOf(name);
      const deadline = Date.now() + 10_000;
      while (((await at('healthy')) < last || (await at('other')) < last || retries.length < 2) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      // The others reached the head; the failing one waits at the event before 7, retried alone.
      expect([await at('healthy'), await at('other'), await at('flaky')]).toEqual([last, last, 6n]);
      expect(new Set(retries)).toEqual(new Set(['flaky']));
      expect(await projectionFailures(db, f.rmSchema)).toEqual([expect.objectContaining({ name: 'flaky', position: '7' })]);
      failing = false;
      const caughtUp = Date.now() + 10_000;
      while ((await at('flaky')) < last && Date.now() < caughtUp) await new Promise((r) => setTimeout(r, 20));
      expect(await at('flaky')).toBe(last);
      // Every event once in each read model (a second time would have broken a primary key).
      for (const name of ['healthy', 'flaky', 'other'])
        expect((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(f.rmSchema)}.${quoteIdent(name)}`)).rows[0]!.n).toBe(String(last));
      expect(stops).toEqual([]);
      // A member stopped (as a rebuild does) leaves the others running.
      await runner.stopOne('other');
      const more = await appendSome(f.store, 3);
      const further = Date.now() + 10_000;
      while (((await at('healthy')) < more || (await at('flaky')) < more) && Date.now() < further) await new Promise((r) => setTimeout(r, 20));
      expect([await at('healthy'), await at('flaky'), await at('other')]).toEqual([more, more, last]);
      await runner.stop();
      await f.drop();
    });

    it('gives the same read model live, batch by batch, as rebuilt from zero in one pass', async () => {
      const f = await fixture(db);
      await appendSome(f.store, 5);
      const live = new ProjectionRunner(f.store, db, [auditTrailProjection], f.rmSchema, { batchSize: 1 });
      await live.start();
      const last = await appendSome(f.store, 6);
      await live.waitFor(last);
      await live.stop();
      const rebuilt = new ProjectionRunner(f.store, db, [auditTrailProjection], `${f.rmSchema}_b`, { batchSize: 1000 });
      await rebuilt.start();
      await rebuilt.waitFor(last);
      await rebuilt.stop();
      expect(await f.trail(`${f.rmSchema}_b`)).toEqual(await f.trail());
      // Applying the same events again changes nothing. (Inside a transaction only `tx` may be used:
      // PGlite has one connection, which the transaction holds.)
      const all = await f.store.readAll({ maxCount: 100 });
      await db.transaction((tx) => auditTrailProjection.apply(tx, f.rmSchema, all, { atHead: true, readStreams: async () => new Map() }));
      expect(await f.trail(`${f.rmSchema}_b`)).toEqual(await f.trail());
      await f.drop();
    });

    it('stops a rebuild whose builder fails and reports its error, instead of waiting for ever', async () => {
      const f = await fixture(db);
      await appendSome(f.store, 6);
      // Fails only where the rebuild builds (its own schema), on the 4th event.
      const brittle: Projection = {
        ...auditTrailProjection,
        async apply(tx, schema, events: RecordedEvent[], context) {
          if (schema !== f.rmSchema && events.some((e) => e.position === 4n)) throw new Error('cannot rebuild event 4');
          await auditTrailProjection.apply(tx, schema, events, context);
        },
      };
      const live = new ProjectionRunner(f.store, db, [brittle], f.rmSchema, { batchSize: 2 });
      await live.start();
      await live.waitFor(6n);
      const outcome = rebuildProjections({ store: f.store, readDb: db, readModelSchema: f.rmSchema, projector: live, batchSize: 2 }, ['audit_trail']);
      const bound = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the rebuild neither finished nor failed within 20 s')), 20_000).unref(),
      );
      await expect(Promise.race([outcome, bound])).rejects.toThrow('cannot rebuild event 4');
      // The live projection still serves, complete.
      expect((await f.trail()).map((r) => r.position)).toEqual(['1', '2', '3', '4', '5', '6']);
      await live.stop();
      await f.drop();
    });
  });
}

/** PostgreSQL only: several processes (here, several sessions) on one database. */
describe('projection runners of several processes on one PostgreSQL', () => {
  const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const dbs: PgDatabase[] = [];
  const open = () => {
    const db = new PgDatabase({ connectionString: url, max: 4 });
    dbs.push(db);
    return db;
  };
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((d) => d.close()));
  });

  it('sets the read models up from several processes starting together', async () => {
    const f = await fixture(open());
    const runners = Array.from({ length: 4 }, () => new ProjectionRunner(f.store, open(), [auditTrailProjection], f.rmSchema));
    await Promise.all(runners.map((r) => r.setup()));
    expect(await runners[0]!.checkpointOf('audit_trail')).toBe(0n);
    await f.drop();
  });

  it('sets the read models up again, with backoff, when the store is lost during the setup', async () => {
    const f = await fixture(open());
    const db = open();
    // The first transaction's backend is terminated by the server as the setup begins (a
    // PostgreSQL restart, pg_terminate_backend): a real lost connection, not a thrown stand-in.
    let terminated = 0;
    const faulty = new Proxy(db, {
      get(target, prop) {
        if (prop === 'transaction')
          return <T>(fn: (tx: Parameters<Parameters<PgDatabase['transaction']>[0]>[0]) => Promise<T>) =>
            target.transaction(async (tx) => {
              if (terminated === 0) {
                terminated += 1;
                await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
              }
              return fn(tx);
            });
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const lost: string[] = [];
    const runner = new ProjectionRunner(f.store, faulty, [auditTrailProjection], f.rmSchema, {
      onStoreUnavailable: (name) => lost.push(name),
    });
    const head = await appendSome(f.store, 5);
    await runner.start();
    expect(terminated).toBe(1);
    expect(lost).toContain('setup');
    await runner.waitFor(head, 20_000);
    expect((await f.trail()).map((r) => r.position)).toEqual(['1', '2', '3', '4', '5']);
    await runner.stop();
    await f.drop();
  });

  it('runs each projection in one process at a time; another takes it over when the holder dies, with no CheckpointMovedError', async () => {
    const f = await fixture(open());
    const errors: Error[] = [];
    const waiting: string[] = [];
    const runner = (db: PgDatabase) =>
      new ProjectionRunner(f.store, db, [auditTrailProjection], f.rmSchema, {
        batchSize: 2,
        onError: (_n, e) => errors.push(e),
        // The killed holder says its lock's session went away (as a lost store); that is no error.
        onStoreUnavailable: () => undefined,
        onWaiting: (n) => waiting.push(n),
      });
    const [dbA, dbB] = [open(), open()];
    const a = runner(dbA);
    const b = runner(dbB);
    await a.start();
    await b.start();
    const first = await appendSome(f.store, 12);
    await a.waitFor(first);
    expect(waiting).toContain('audit_trail'); // b waits for the lock
    // a's process dies: its sessions end (here: the lock's session is terminated by the server).
    const killed = await dbA.query(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
         AND objsubid = 1 AND objid::text::bigint = (hashtext($1)::bigint & 4294967295)`,
      [`forfait-projection:${f.rmSchema}:audit_trail`],
    );
    expect(killed.rows).toEqual([{ killed: true }]);
    const second = await appendSome(f.store, 10);
    await b.waitFor(second, 20_000);
    const rows = await f.trail();
    expect(rows.map((r) => r.position)).toEqual(Array.from({ length: 22 }, (_, i) => String(i + 1)));
    expect(errors.filter((e) => e instanceof CheckpointMovedError)).toEqual([]);
    expect(errors).toEqual([]);
    await a.stop();
    await b.stop();
    await f.drop();
  });
});

runnerSuite(
  'PostgreSQL',
  async () => new PgDatabase({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', max: 6 }),
  (db) => db.close(),
);
runnerSuite(
  'PGlite',
  async () => new PGliteDatabase(await PGlite.create()),
  (db) => db.close(),
);
