import { Client } from 'pg';
import { newEvent } from '../libs/store/src/testing/event-store.contract';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { signDevToken } from '../apps/api/src/auth/token-verifier';
import { PgTestSystem, sealed } from './support/e2e';

const SECRET = 'sweep-e2e-secret-sweep-e2e-secret-000001';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SWEEP = 4;
const STREAMS = Array.from({ length: 8 }, (_, i) => `declaration-1000000${String(i).padStart(4, '0')}-2023`);
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * GET /v1/integrity at a bounded cost a call (issue 11, point 8): with INTEGRITY_SWEEP=4 a call
 * re-checks 4 of the events, leaves and heads verified before, in a window that moves on at each
 * call and starts again at the beginning; what it finds there it reports at every later call
 * until repaired. 24 events in 8 streams (3 each, round-robin): positions 1…24, leaves 0…23.
 */
describe('GET /v1/integrity re-checks what it verified before, a bounded window a call', () => {
  const pg = new Client({ connectionString: DATABASE_URL });
  const sut = new PgTestSystem('sweep', {
    AUTH_JWT_SECRET: SECRET,
    REDIS_URL: 'redis://127.0.0.1:1',
    LOG_CHECKPOINT_EVERY_EVENTS: '1',
    LOG_PUBLIC: 'true',
    INTEGRITY_SWEEP: String(SWEEP),
    RATE_LIMIT_BURST: '0',
  });
  const schema = sut.schema;
  let system: StartedSystem;
  let auditor: string;

  beforeAll(async () => {
    await pg.connect();
    system = await sut.at();
    for (let round = 0; round < 3; round += 1)
      for (const stream of STREAMS) await system.runtime.store.append(stream, [newEvent()], { expectedRevision: 'any' });
    auditor = await signDevToken(SECRET, { role: 'auditor' } as never);
    await sealed(system.url, 24);
  });
  afterAll(async () => {
    await sut.close();
    await pg.end();
  });

  const integrity = async (): Promise<Json> => {
    const res = await fetch(`${system.url}/v1/integrity`, { headers: { authorization: `Bearer ${auditor}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Json;
  };
  const kinds = (report: Json) => (report.problems as Json[]).map((p) => `${p.kind}@${p.position ?? ''}`);

  /** Calls until a report has `kind` (at `position` when given), at most `max` calls: the calls made, the report. */
  const until = async (kind: string, max: number): Promise<{ calls: number; report: Json }> => {
    for (let calls = 1; calls <= max; calls += 1) {
      const report = await integrity();
      if ((report.problems as Json[]).some((p) => p.kind === kind)) return { calls, report };
    }
    throw new Error(`${kind} not reported within ${max} calls`);
  };

  it('verifies everything on the first call, then re-checks 4 events, leaves and heads a call, going round', async () => {
    const first = await integrity();
    expect(first).toMatchObject({ ok: true, verifiedUpTo: '24', checkedEvents: 24, streams: 8, problems: [] });
    // The first call looked at everything: the whole store counts as gone through.
    expect(first.sweep.lastCompletedAt).toEqual(expect.any(String));
    const windows: Json[] = [];
    for (let i = 0; i < 8; i += 1) {
      const report = await integrity();
      expect(report).toMatchObject({ ok: true, checkedEvents: 0, problems: [] });
      expect(report.checkedHeads).toBeLessThanOrEqual(SWEEP);
      expect(Number(report.sweep.upToPosition) - Number(report.sweep.afterPosition)).toBeLessThanOrEqual(SWEEP);
      expect(report.sweep.toLeaf - report.sweep.fromLeaf).toBeLessThanOrEqual(SWEEP);
      windows.push(report.sweep);
    }
    // Positions 1…24 in windows of 4 after each other, then from the beginning again.
    expect(windows.slice(0, 7).map((w) => [w.afterPosition, w.upToPosition])).toEqual([
      ['0', '4'],
      ['4', '8'],
      ['8', '12'],
      ['12', '16'],
      ['16', '20'],
      ['20', '24'],
      ['0', '4'],
    ]);
    expect(windows.slice(0, 6).map((w) => w.fromLeaf)).toEqual([0, 4, 8, 12, 16, 20]);
    // Gone through again when the window has reached the end (the sixth call), not before.
    expect(windows.slice(0, 5).map((w) => w.lastCompletedAt)).toEqual(Array(5).fill(first.sweep.lastCompletedAt));
    expect(Date.parse(windows[5]!.lastCompletedAt)).toBeGreaterThan(Date.parse(first.sweep.lastCompletedAt));
  });

  it('finds an old event edited when its window comes, and reports it at every later call until repaired', async () => {
    const pos = 10;
    const { rows } = await pg.query(`SELECT data FROM "${schema}".es_events WHERE position = $1`, [pos]);
    await pg.query(`UPDATE "${schema}".es_events SET data = '{"edited":true}' WHERE position = $1`, [pos]);
    const { calls, report } = await until('hash-mismatch', 8);
    expect(calls).toBeLessThanOrEqual(7);
    expect(kinds(report)).toEqual([`hash-mismatch@${pos}`]);
    expect(report.ok).toBe(false);
    for (let i = 0; i < 3; i += 1) expect(kinds(await integrity())).toEqual([`hash-mismatch@${pos}`]);
    await pg.query(`UPDATE "${schema}".es_events SET data = $2 WHERE position = $1`, [pos, rows[0].data]);
    expect(await integrity()).toMatchObject({ ok: true, problems: [] });
  });

  it('finds a whole window of leaves deleted in the middle of the tree', async () => {
    const saved = await pg.query(`SELECT * FROM "${schema}_rm".log_leaves WHERE leaf_index BETWEEN 8 AND 11`);
    await pg.query(`DELETE FROM "${schema}_rm".log_leaves WHERE leaf_index BETWEEN 8 AND 11`);
    const { report } = await until('leaf-index-gap', 8);
    expect((report.problems as Json[]).find((p) => p.kind === 'leaf-index-gap')!.detail).toMatch(/les feuilles 8 à 11 manquent/);
    for (const r of saved.rows)
      await pg.query(`INSERT INTO "${schema}_rm".log_leaves (leaf_index, position, leaf) VALUES ($1, $2, $3)`, [r.leaf_index, r.position, r.leaf]);
    expect(await integrity()).toMatchObject({ ok: true, problems: [] });
  });

  it('finds a whole window of events deleted in the middle of the store', async () => {
    await pg.query(`DELETE FROM "${schema}".es_events WHERE position BETWEEN 13 AND 16`);
    const { report } = await until('position-gap', 8);
    expect(kinds(report)).toEqual(expect.arrayContaining(['position-gap@17']));
    expect(report.ok).toBe(false);
  });
});
