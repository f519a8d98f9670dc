import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { ManualClock } from '@forfait/platform';
import { PGliteDatabase, PgDatabase, quoteIdent, type SqlDatabase } from './sql/sql-client';
import { SqlEventStore } from './sql/sql-event-store';
import { describeEventStoreContract, type ContractHarness, type HarnessOptions } from './testing/event-store.contract';

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
      await db.query(
        `UPDATE ${quoteIdent(schema)}.es_events SET data = jsonb_set(data, '{tampered}', 'true'::jsonb) WHERE event_id = $1`,
        [event.eventId],
      );
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
});

describe('embedded adapter (PGlite)', () => {
  let pglite: PGliteDatabase;
  beforeAll(async () => {
    pglite = new PGliteDatabase(await PGlite.create());
  });
  afterAll(() => pglite.close());
  describeEventStoreContract({ name: 'embedded', supportsCommitHook: true, open: (o) => harness(pglite, o) });
});
