import { PGlite } from '@electric-sql/pglite';
import { ManualClock } from '@forfait/platform';
import { IncrementalIntegrity } from '../integrity';
import { PGliteDatabase, PgDatabase, type SqlDatabase } from '../sql/sql-client';
import { newEvent } from '../testing/event-store.contract';
import { EsdbStandIn } from '../testing/esdb-stand-in';
import { TransparencyLog } from '../tlog/log';
import { verifyTreeFromEvents } from '../tlog/log-integrity';
import { generateSignerKey, parseSignerKey } from '../tlog/note';
import { EsdbEventStore } from './esdb-event-store';

/**
 * EventStoreDB positions in the PostgreSQL tables beside the read models: `commit · 2^64 + prepare`
 * is past a bigint from the first event, so every table that keeps a position keeps it as numeric
 * (the transparency log, the incremental integrity check), through the stand-in client (no
 * server here) and PGlite.
 */
/** One PGlite for the file (starting one is most of its time on a loaded machine). */
let shared: Promise<PGliteDatabase> | undefined;
const pglite = () => (shared ??= PGlite.create().then((p) => new PGliteDatabase(p)));
afterAll(async () => {
  if (shared) await (await shared).close();
});

describe('EventStoreDB positions in the transparency log and the integrity check', () => {
  let db: PGliteDatabase;
  let standIn: EsdbStandIn;
  let store: EsdbEventStore;
  beforeAll(async () => {
    db = await pglite();
  });
  beforeEach(() => {
    standIn = new EsdbStandIn();
    store = new EsdbEventStore({ connectionString: 'esdb://stand-in', clock: new ManualClock('2024-01-15T09:00:00Z'), client: standIn });
  });
  afterEach(() => store.close());

  const someEvents = async () => {
    for (let i = 0; i < 5; i += 1) await store.append(i % 2 === 0 ? 'campaign-2023' : 'doctor-10000000009', [newEvent()], { expectedRevision: 'any' });
    return store.readAll({ after: 0n, maxCount: 100 });
  };

  it('the log seals them, finds their leaves by position and verifies its tree from the events', async () => {
    const events = await someEvents();
    expect(events.at(-1)!.position > 2n ** 63n).toBe(true);
    const log = new TransparencyLog(db, 'esdb_log', parseSignerKey(generateSignerKey('esdb.test/log')), {
      checkpointEveryEvents: 1,
      checkpointIntervalMs: 60_000,
      witnessKeys: [],
      now: () => new Date('2024-01-15T09:00:00Z'),
    });
    await log.setup();
    await db.transaction((tx) => log.seal(tx, events.slice(0, 3)));
    await db.transaction((tx) => log.seal(tx, events));
    expect(await log.state()).toEqual({ size: 5, lastPosition: events.at(-1)!.position });
    const leaves = await log.leavesAt(events.map((e) => e.position));
    expect([...leaves.values()].map((l) => l.leafIndex)).toEqual([0, 1, 2, 3, 4]);
    expect((await log.leafAt({ position: events[2]!.position }))?.leafIndex).toBe(2);
    expect(await verifyTreeFromEvents(store, log)).toEqual([]);
  });

  it('the incremental integrity check verifies them and keeps where it got to', async () => {
    const events = await someEvents();
    const integrity = new IncrementalIntegrity(store, db, 'esdb_integrity');
    const first = await integrity.check();
    expect(first).toMatchObject({ ok: true, verifiedUpTo: events.at(-1)!.position.toString(), checkedEvents: 5, problems: [] });
    await store.append('campaign-2023', [newEvent()], { expectedRevision: 'any' });
    const second = await integrity.check();
    expect(second).toMatchObject({ ok: true, checkedEvents: 1, events: 6, problems: [] });
    expect(BigInt(second.verifiedUpTo)).toBe(await store.headPosition());
  });
});

/** Tables made before positions were numeric are widened once, their rows kept; then nothing runs. */
describe.each([
  ['PGlite', pglite, false],
  ['PostgreSQL', async (): Promise<SqlDatabase> => new PgDatabase(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'), true],
] as const)('position columns of older tables widened to numeric on %s', (_name, open, owned) => {
  let db: SqlDatabase;
  const schema = `esdb_widen_${String(process.pid)}_${Math.random().toString(36).slice(2, 8)}`;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    if (owned) await db.close();
  });
  const types = async () =>
    (
      await db.query<{ table_name: string; column_name: string; data_type: string }>(
        `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND column_name IN ('last_position', 'position', 'verified_up_to') ORDER BY table_name, column_name`,
        [schema],
      )
    ).rows.map((r) => `${r.table_name}.${r.column_name} ${r.data_type}`);

  it("by the log's and the integrity check's setup", async () => {
    // As the earlier DDL made them, with rows of a PostgreSQL store.
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`CREATE TABLE ${schema}.log_state (id smallint PRIMARY KEY CHECK (id = 1), size bigint NOT NULL, last_position bigint NOT NULL)`);
    await db.query(`INSERT INTO ${schema}.log_state VALUES (1, 2, 7)`);
    await db.query(`CREATE TABLE ${schema}.log_leaves (leaf_index bigint PRIMARY KEY, position bigint NOT NULL UNIQUE, leaf text NOT NULL)`);
    await db.query(`INSERT INTO ${schema}.log_leaves VALUES (0, 3, '{}'), (1, 7, '{}')`);
    await db.query(
      `CREATE TABLE ${schema}.integrity_state (id integer PRIMARY KEY, verified_up_to bigint NOT NULL, events bigint NOT NULL, last_full_at timestamptz, last_full_ok boolean)`,
    );
    await db.query(`INSERT INTO ${schema}.integrity_state VALUES (1, 7, 2, NULL, NULL)`);
    await db.query(
      `CREATE TABLE ${schema}.integrity_heads (stream_id text PRIMARY KEY, revision integer NOT NULL, hash text NOT NULL, position bigint NOT NULL)`,
    );
    const log = new TransparencyLog(db, schema, parseSignerKey(generateSignerKey('esdb.test/log')), {
      checkpointEveryEvents: 1,
      checkpointIntervalMs: 60_000,
      witnessKeys: [],
      now: () => new Date('2024-01-15T09:00:00Z'),
    });
    await log.setup();
    const standIn = new EsdbStandIn();
    const store = new EsdbEventStore({ connectionString: 'esdb://stand-in', clock: new ManualClock('2024-01-15T09:00:00Z'), client: standIn });
    await new IncrementalIntegrity(store, db, schema).check();
    expect(await types()).toEqual([
      'integrity_heads.position numeric',
      'integrity_state.verified_up_to numeric',
      'log_leaves.position numeric',
      'log_state.last_position numeric',
    ]);
    expect(await log.state()).toEqual({ size: 2, lastPosition: 7n });
    expect((await log.leafAt({ position: 7n }))?.leafIndex).toBe(1);
    // Again: already numeric, nothing to do.
    await log.setup();
    expect(await types()).toHaveLength(4);
    await store.close();
  });
});
