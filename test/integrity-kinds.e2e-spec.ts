import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { RecordedEvent } from '@forfait/events';
import { loadConfig } from '@forfait/platform';
import { INTEGRITY_PROBLEM_KINDS, IncrementalIntegrity } from '@forfait/store';
import { newEvent } from '../libs/store/src/testing/event-store.contract';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';
import { sealed } from './support/e2e';
import { signDevToken } from '../apps/api/src/auth/token-verifier';

const SECRET = 'kinds-e2e-secret-kinds-e2e-secret-000001';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const A = 'declaration-10000000017-2023';
const B = 'access-10000000017';
const C = 'declaration-10000000025-2023';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Every kind of problem GET /v1/integrity can report (INTEGRITY_PROBLEM_KINDS), each produced by a
 * tampering on a real PostgreSQL store: the last test fails when a kind is added without one here.
 * Positions: 1 A0, 2 C0, 3 B0, 4 A1, 5 C1, 6 A2, 7 B1, 8 C2; leaves 0…7 in that order.
 */
describe('every integrity problem kind is produced by a tampering', () => {
  const pg = new Client({ connectionString: DATABASE_URL });
  const dirs: string[] = [];
  const schemas: string[] = [];
  const seen = new Set<string>();
  beforeAll(() => pg.connect());
  afterAll(async () => {
    for (const s of schemas) await pg.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await pg.end();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function withSystem<T>(run: (system: StartedSystem, schema: string, events: RecordedEvent[]) => Promise<T>): Promise<T> {
    const schema = `kinds_${process.pid}_${randomBytes(3).toString('hex')}`;
    schemas.push(schema, `${schema}_rm`);
    const dataDir = mkdtempSync(join(tmpdir(), 'forfait-kinds-'));
    dirs.push(dataDir);
    const system = await startSystem(
      loadConfig({
        STORE: 'postgres',
        DATABASE_URL,
        DATABASE_SCHEMA: schema,
        DATA_DIR: dataDir,
        PORT: '0',
        AUTH_JWT_SECRET: SECRET,
        SEED_DEMO: 'false',
        REDIS_URL: 'redis://127.0.0.1:1',
        LOG_PUBLIC: 'true',
        LOG_CHECKPOINT_EVERY_EVENTS: '1',
      }),
      { logger: false },
    );
    try {
      for (const stream of [A, C, B, A, C, A, B, C]) await system.runtime.store.append(stream, [newEvent()], { expectedRevision: 'any' });
      await sealed(system.url, 8);
      return await run(system, schema, await system.runtime.store.readAll({ after: 0n, maxCount: 100 }));
    } finally {
      await system.close();
    }
  }

  const integrity = async (system: StartedSystem): Promise<Json> => {
    const auditor = await signDevToken(SECRET, { role: 'auditor' } as never);
    return (await (await fetch(`${system.url}/v1/integrity`, { headers: { authorization: `Bearer ${auditor}` } })).json()) as Json;
  };

  const q = async (text: string, params: unknown[] = []): Promise<void> => {
    await pg.query(text, params);
  };

  /** `afterFirstCheck`: the tampering comes after a call that verified (and kept) every head. */
  const cases: [string, boolean, (s: string, events: RecordedEvent[]) => Promise<void>, string[]][] = [
    ['an event’s data edited', false, (s) => q(`UPDATE "${s}".es_events SET data = '{"edited":true}' WHERE position = 2`), [`hash-mismatch@${C}`]],
    [
      'an event’s prevHash edited',
      false,
      (s) => q(`UPDATE "${s}".es_events SET prev_hash = $1 WHERE position = 5`, ['f'.repeat(64)]),
      [`prev-hash-mismatch@${C}`],
    ],
    [
      'an event in the middle deleted',
      false,
      (s) => q(`DELETE FROM "${s}".es_events WHERE position = 4`),
      [`revision-gap@${A}`, `position-gap@${C}`, `leaf-event-missing@${A}`],
    ],
    ['a verified head event edited', true, (s) => q(`UPDATE "${s}".es_events SET data = '{"edited":true}' WHERE position = 7`), [`head-mismatch@${B}`]],
    [
      'a verified head event deleted',
      true,
      (s) => q(`DELETE FROM "${s}".es_events WHERE position = 7`),
      [`head-missing@${B}`, `stream-head-mismatch@${B}`, `leaf-event-missing@${B}`],
    ],
    ['a stream head moved back', false, (s) => q(`UPDATE "${s}".es_streams SET revision = 0 WHERE stream_id = $1`, [A]), [`stream-head-mismatch@${A}`]],
    ['a stream head deleted', false, (s) => q(`DELETE FROM "${s}".es_streams WHERE stream_id = $1`, [A]), [`stream-head-missing@${A}`]],
    ['a stream’s events deleted, its head left', false, (s) => q(`DELETE FROM "${s}".es_events WHERE stream_id = $1`, [B]), [`stream-missing@${B}`]],
    [
      'a recorded time set back',
      false,
      (s) => q(`UPDATE "${s}".es_events SET recorded_at = '2000-01-01T00:00:00Z' WHERE position = 5`),
      [`recorded-at-decreasing@${C}`],
    ],
    [
      'two positions swapped',
      false,
      async (s) => {
        await pg.query(`UPDATE "${s}".es_events SET position = -1 WHERE position = 3`);
        await pg.query(`UPDATE "${s}".es_events SET position = 3 WHERE position = 4`);
        await pg.query(`UPDATE "${s}".es_events SET position = 4 WHERE position = -1`);
      },
      [`leaf-mismatch@${A}`, `leaf-mismatch@${B}`],
    ],
    ['a leaf in the middle deleted', false, (s) => q(`DELETE FROM "${s}_rm".log_leaves WHERE leaf_index = 3`), [`event-not-in-tree@${A}`, 'leaf-index-gap@']],
    [
      'the last leaf deleted, the tree’s size moved back',
      false,
      async (s) => {
        await pg.query(`DELETE FROM "${s}_rm".log_leaves WHERE leaf_index = 7`);
        await pg.query(`UPDATE "${s}_rm".log_state SET size = 7, last_position = 7`);
      },
      ['checkpoint-beyond-tree@'],
    ],
    ['an inner node edited', false, (s) => q(`UPDATE "${s}_rm".log_nodes SET hash = $1 WHERE level = 1 AND idx = 0`, ['0'.repeat(64)]), ['tree-mismatch@']],
    [
      'the latest checkpoint’s root replaced',
      false,
      (s) => q(`UPDATE "${s}_rm".log_checkpoints SET root_hash = $1 WHERE tree_size = 8`, ['0'.repeat(64)]),
      ['checkpoint-signature-invalid@'],
    ],
  ];

  it.each(cases)('%s', async (_what, afterFirstCheck, tamper, expected) => {
    const report = await withSystem(async (system, schema, events) => {
      if (afterFirstCheck) expect(await integrity(system)).toMatchObject({ ok: true, problems: [] });
      await tamper(schema, events);
      return integrity(system);
    });
    const kinds = (report.problems as Json[]).map((p) => `${p.kind}@${p.streamId ?? ''}`);
    expect(report.ok).toBe(false);
    expect(kinds).toEqual(expect.arrayContaining(expected));
    for (const p of report.problems as Json[]) expect(typeof p.detail).toBe('string');
    for (const k of kinds) seen.add(k.split('@')[0]!);
  });

  it('global positions read out of order (an adapter that breaks its contract): position-order', async () => {
    const report = await withSystem(async (system) => {
      // The store as a faulty adapter would serve it: the second batch starts again from the first position.
      const real = system.runtime.store;
      let calls = 0;
      const faulty = new Proxy(real, {
        get(target, prop, receiver) {
          if (prop === 'readAll') {
            return async (options: { after: bigint; maxCount: number }) => {
              calls += 1;
              const batch = await target.readAll(options);
              return calls === 2 ? [...(await target.readAll({ after: 0n, maxCount: 1 })), ...batch] : batch;
            };
          }
          return Reflect.get(target, prop, receiver);
        },
      });
      return new IncrementalIntegrity(faulty, system.runtime.readDb, system.runtime.readModelSchema, system.runtime.log).check({ batchSize: 4 });
    });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toContain('position-order');
    seen.add('position-order');
  });

  it('has produced every kind the code can report', () => {
    expect([...seen].sort()).toEqual([...INTEGRITY_PROBLEM_KINDS].sort());
  });
});
