import { randomBytes } from 'node:crypto';
import { ManualClock } from '@forfait/platform';
import {
  CheckpointNotFoundError,
  PgDatabase,
  SqlEventStore,
  TransparencyLog,
  TreeSizeTooLargeError,
  generateSignerKey,
  leafHash,
  parseCheckpointBody,
  parseSignerKey,
  parseVkey,
  quoteIdent,
  splitNote,
  verifyConsistency,
  verifyInclusion,
  verifySignatureLine,
} from '@forfait/store';
import { newEvent } from '../../store/src/testing/event-store.contract';
import { logSealer } from './log-sealer';
import { ProjectionRunner } from './projection-runner';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
let n = 0;

describe('the log sealer on PostgreSQL', () => {
  const db = new PgDatabase({ connectionString: DATABASE_URL, max: 6 });
  const signer = parseSignerKey(generateSignerKey('caisse.test/log'));
  const schemas: string[] = [];
  afterAll(async () => {
    for (const s of schemas) await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
    await db.close();
  });

  async function fixture(every = 5) {
    n += 1;
    const es = `tlog_es_${runId}_${n}`;
    const rm = `tlog_rm_${runId}_${n}`;
    schemas.push(es, rm, `${rm}_fresh`);
    const clock = new ManualClock('2024-01-15T09:00:00Z');
    const store = await SqlEventStore.open({ db, clock, schema: es, ownsDatabase: false, pollIntervalMs: 20 });
    const logIn = (schema: string) =>
      new TransparencyLog(db, schema, signer, { checkpointEveryEvents: every, checkpointIntervalMs: 3_600_000, witnessKeys: [], now: () => clock.now() });
    const append = async (count: number) => {
      let last = 0n;
      for (let i = 0; i < count; i += 1)
        last = (
          await store.append(i % 3 === 0 ? 'campaign-2023' : `declaration-1000000000${i % 2}-2023`, [newEvent(), newEvent()], { expectedRevision: 'any' })
        ).position;
      return last;
    };
    const run = async (schema: string, batchSize: number) => {
      const log = logIn(schema);
      const runner = new ProjectionRunner(store, db, [logSealer(log)], schema, { batchSize });
      await runner.start();
      return { log, runner };
    };
    return { store, rm, append, run, logIn };
  }

  it('seals every event as a leaf, signs checkpoints every N events, and serves proofs that verify', async () => {
    const f = await fixture(5);
    const head = await f.append(11); // 22 events
    const { log, runner } = await f.run(f.rm, 4);
    await runner.waitFor(head);
    await runner.stop();
    expect((await log.state()).size).toBe(22);
    const latest = (await log.latestCheckpoint())!;
    expect(latest.size).toBe(20); // 4 + 4 + … : signed once at least 5 events since the last
    const { body, signatures } = splitNote(latest.signedNote);
    expect(parseCheckpointBody(body)).toMatchObject({ origin: 'caisse.test/log', size: 20 });
    expect(verifySignatureLine(body, signatures[0]!, parseVkey(log.vkey)).ok).toBe(true);

    const leaf = (await log.leafAt({ position: 7n }))!;
    expect(leaf.leafIndex).toBe(6);
    expect(Object.keys(JSON.parse(leaf.leaf) as object)).toEqual([
      'dataSha256',
      'effectiveAt',
      'hash',
      'position',
      'recordedAt',
      'revision',
      'streamId',
      'type',
    ]);
    const proof = await log.inclusionProof(6, 20);
    expect(verifyInclusion(6, 20, leafHash(leaf.leaf), proof, latest.rootHash)).toBe(true);
    await expect(log.inclusionProof(6, 21)).rejects.toBeInstanceOf(TreeSizeTooLargeError);

    // A forced checkpoint of the whole tree, consistent with the one before.
    const whole = (await log.signIfDue(undefined, true))!;
    expect(whole.size).toBe(22);
    expect(verifyConsistency(20, 22, latest.rootHash, whole.rootHash, await log.consistencyProof(20, 22))).toBe(true);
    expect(await log.checkpoint(21)).toBeUndefined();
    expect(CheckpointNotFoundError).toBeDefined();
  });

  it('resumed after a crash between batches, it gives the very tree a fresh seal gives', async () => {
    const f = await fixture(1000);
    const first = await f.append(6);
    const a = await f.run(f.rm, 3);
    await a.runner.waitFor(first);
    await a.runner.stop(); // the crash: the process goes away after a committed batch
    const head = await f.append(9);
    const b = await f.run(f.rm, 5);
    await b.runner.waitFor(head);
    await b.runner.stop();
    // The same batch applied again (a runner that lost its commit acknowledgement) seals nothing twice.
    const replay = await f.store.readAll({ after: 0n, maxCount: 10 });
    await db.transaction((tx) => b.log.seal(tx, replay));

    const fresh = await f.run(`${f.rm}_fresh`, 500);
    await fresh.runner.waitFor(head);
    await fresh.runner.stop();
    expect((await b.log.state()).size).toBe(30);
    for (const size of [1, 7, 16, 30]) expect((await b.log.rootAt(size)).equals(await fresh.log.rootAt(size))).toBe(true);
    const nodes = async (schema: string) => (await db.query(`SELECT level, idx::text, hash FROM ${quoteIdent(schema)}.log_nodes ORDER BY level, idx`)).rows;
    expect(await nodes(f.rm)).toEqual(await nodes(`${f.rm}_fresh`));
  });
});
