import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { computeEventHash, hashedRecordOf, type RecordedEvent } from '@forfait/events';
import { loadConfig } from '@forfait/platform';
import { COSIGNATURE_V1, generateSignerKey, parseSignerKey, runWitness, vkeyOf, type WitnessResult } from '@forfait/store';
import { newEvent } from '../libs/store/src/testing/event-store.contract';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';
import { sealed } from './support/e2e';
import { signDevToken } from '../apps/api/src/auth/token-verifier';

const SECRET = 'tamper-e2e-secret-tamper-e2e-secret-0001';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const A = 'declaration-10000000017-2023';
const B = 'access-10000000017';
const C = 'declaration-10000000025-2023';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * An insider with SQL access, against /v1/integrity and a witness (issue 15): each tampering of the
 * issue's list on a real PostgreSQL store, first with the log's tables left alone (the integrity
 * check names it), then with the tree resealed from the tampered store (the witness refuses it).
 */
describe('tampering by an insider with SQL access', () => {
  const pg = new Client({ connectionString: DATABASE_URL });
  const dirs: string[] = [];
  const schemas: string[] = [];
  beforeAll(() => pg.connect());
  afterAll(async () => {
    for (const s of schemas) await pg.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await pg.end();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function scenario(
    tamper: (s: string, events: RecordedEvent[]) => Promise<void>,
  ): Promise<{ integrity: Json; witnessBefore: WitnessResult; witness: WitnessResult }> {
    const schema = `tamper_${process.pid}_${randomBytes(3).toString('hex')}`;
    schemas.push(schema, `${schema}_rm`);
    const dataDir = mkdtempSync(join(tmpdir(), 'forfait-tamper-'));
    dirs.push(dataDir);
    const env = {
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
    };
    const start = () => startSystem(loadConfig(env), { logger: false });
    let system: StartedSystem = await start();
    const auditor = await signDevToken(SECRET, { role: 'auditor' } as never);
    const witnessToken = await signDevToken(SECRET, { role: 'witness', sub: 'witness.test/w1' } as never);
    const keyText = generateSignerKey('witness.test/w1', COSIGNATURE_V1);
    // The caisse's admin registers the witness's key (POST /v1/log/witnesses).
    const admin = await signDevToken(SECRET, { role: 'admin' } as never);
    const registered = await fetch(`${system.url}/v1/log/witnesses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ vkey: vkeyOf(parseSignerKey(keyText)) }),
    });
    expect(registered.status).toBe(201);
    const statePath = join(dataDir, 'witness-state.json');
    writeFileSync(join(dataDir, 'witness.key'), keyText);
    for (const stream of [A, C, B, A, C, A, B, C]) await system.runtime.store.append(stream, [newEvent()], { expectedRevision: 'any' });
    await sealed(system.url, 8);
    const first = await runWitness({ url: system.url, keyText, statePath, token: witnessToken });
    expect(first).toMatchObject({ ok: true, size: 8 });
    // The checkpoint is served with the witness's cosignature.
    expect((await (await fetch(`${system.url}/v1/log/checkpoint`)).text()).split('\n').filter((l) => l.startsWith('\u2014 '))).toHaveLength(2);
    const integrity = async () => (await (await fetch(`${system.url}/v1/integrity`, { headers: { authorization: `Bearer ${auditor}` } })).json()) as Json;
    expect(await integrity()).toMatchObject({ ok: true, problems: [] });

    await tamper(schema, await system.runtime.store.readAll({ after: 0n, maxCount: 100 }));
    const report = await integrity();
    // The witness, before any reseal: the log's tables as the insider left them.
    const witnessBefore = await runWitness({ url: system.url, keyText, statePath, token: witnessToken });

    // To hide it from the integrity check, the insider reseals the tree from the tampered store.
    await system.close();
    const rm = `"${schema}_rm"`;
    await pg.query(`TRUNCATE ${rm}.log_leaves, ${rm}.log_nodes, ${rm}.log_checkpoints, ${rm}.log_cosignatures`);
    await pg.query(`UPDATE ${rm}.log_state SET size = 0, last_position = 0`);
    await pg.query(`UPDATE ${rm}.projection_checkpoints SET position = 0 WHERE name = 'log-sealer'`);
    system = await start();
    const { rows } = await pg.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".es_events`);
    await sealed(system.url, Number(rows[0]!.n));
    const witness = await runWitness({ url: system.url, keyText, statePath, token: witnessToken });
    await system.close();
    return { integrity: report, witnessBefore, witness };
  }

  it('a check while the log grows is no false alarm: every query of it reads one snapshot', async () => {
    const schema = `tamper_${process.pid}_${randomBytes(3).toString('hex')}`;
    schemas.push(schema, `${schema}_rm`);
    const dataDir = mkdtempSync(join(tmpdir(), 'forfait-tamper-'));
    dirs.push(dataDir);
    const env = {
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      DATA_DIR: dataDir,
      PORT: '0',
      AUTH_JWT_SECRET: SECRET,
      SEED_DEMO: 'false',
      REDIS_URL: 'redis://127.0.0.1:1',
      LOG_CHECKPOINT_EVERY_EVENTS: '1',
    };
    const system = await startSystem(loadConfig(env), { logger: false });
    try {
      const auditor = await signDevToken(SECRET, { role: 'auditor' } as never);
      let writing = true;
      const writers = [A, B, C, 'declaration-10000000033-2023'].map(async (stream) => {
        while (writing) await system.runtime.store.append(stream, [newEvent(), newEvent()], { expectedRevision: 'any' });
      });
      const answers: Json[] = [];
      for (let i = 0; i < 25; i += 1) {
        answers.push((await (await fetch(`${system.url}/v1/integrity`, { headers: { authorization: `Bearer ${auditor}` } })).json()) as Json);
      }
      writing = false;
      await Promise.all(writers);
      expect(answers.flatMap((a) => a.problems as Json[])).toEqual([]);
      expect(Number(answers[answers.length - 1]!.verifiedUpTo)).toBeGreaterThan(Number(answers[0]!.verifiedUpTo));
    } finally {
      await system.close();
    }
  });

  const kinds = (r: Json) => (r.problems as Json[]).map((p) => `${p.kind}@${p.streamId ?? ''}`);

  it('deleting the last event of a stream, es_streams moved back: the sealed leaf has lost its event', async () => {
    const { integrity, witness } = await scenario(async (s, events) => {
      const last = events.filter((e) => e.streamId === A).pop()!;
      const prev = events.filter((e) => e.streamId === A && e.revision === last.revision - 1)[0]!;
      await pg.query(`DELETE FROM "${s}".es_events WHERE event_id = $1`, [last.eventId]);
      await pg.query(`UPDATE "${s}".es_streams SET revision = $2, last_hash = $3 WHERE stream_id = $1`, [A, prev.revision, prev.hash]);
    });
    expect(integrity.ok).toBe(false);
    expect(kinds(integrity)).toEqual(expect.arrayContaining([`leaf-event-missing@${A}`, `position-gap@${B}`]));
    expect(witness.ok).toBe(false);
    expect(witness.report.join('\n')).toMatch(/INCOHÉRENT/);
  });

  it('deleting the last event of a stream, es_streams left alone: the head names a revision that is gone', async () => {
    const { integrity, witness } = await scenario(async (s, events) => {
      await pg.query(`DELETE FROM "${s}".es_events WHERE event_id = $1`, [events.filter((e) => e.streamId === A).pop()!.eventId]);
    });
    expect(kinds(integrity)).toEqual(expect.arrayContaining([`stream-head-mismatch@${A}`, `leaf-event-missing@${A}`]));
    expect(witness.ok).toBe(false);
  });

  // The last event of the whole log (C revision 2, position 8) with its leaf: no position is missing,
  // no leaf points at a lost event; only the signed checkpoint still counts it.
  const deleteLastEventAndLeaf = async (s: string, events: RecordedEvent[], moveHeadBack: boolean) => {
    const last = events[events.length - 1]!;
    expect(last).toMatchObject({ streamId: C, position: 8n });
    const prev = events.find((e) => e.streamId === C && e.revision === last.revision - 1)!;
    await pg.query(`DELETE FROM "${s}".es_events WHERE event_id = $1`, [last.eventId]);
    if (moveHeadBack) await pg.query(`UPDATE "${s}".es_streams SET revision = $2, last_hash = $3 WHERE stream_id = $1`, [C, prev.revision, prev.hash]);
    await pg.query(`UPDATE "${s}".es_head SET last_position = 7`);
    const rm = `"${s}_rm"`;
    await pg.query(`DELETE FROM ${rm}.log_leaves WHERE leaf_index = 7`);
    await pg.query(`DELETE FROM ${rm}.log_nodes WHERE level = 0 AND idx = 7`);
    await pg.query(`UPDATE ${rm}.log_state SET size = 7, last_position = 7`);
  };

  it('deleting the last event of the log and its leaf, es_streams moved back: the tree is shorter than the signed checkpoint', async () => {
    const { integrity, witnessBefore, witness } = await scenario((s, events) => deleteLastEventAndLeaf(s, events, true));
    expect(integrity.ok).toBe(false);
    expect(kinds(integrity)).toEqual(expect.arrayContaining(['checkpoint-beyond-tree@', 'tree-mismatch@']));
    expect(kinds(integrity)).not.toContain(`stream-head-mismatch@${C}`);
    expect((integrity.problems as Json[]).find((p) => p.kind === 'checkpoint-beyond-tree')!.detail).toMatch(/compte 8 feuilles, l’arbre n’en a plus que 7/);
    expect(witnessBefore.ok).toBe(false);
    expect(witnessBefore.failures).toEqual([
      { reason: 'leaf-missing', detail: expect.stringMatching(/la feuille 7, la dernière que le témoin a vérifiée, n’est plus servie/) },
    ]);
    expect(witness.ok).toBe(false);
    expect(witness.failures.map((f) => f.reason)).toEqual(['size-decreased']);
  });

  it('deleting the last event of the log and its leaf, es_streams left alone: the head and the checkpoint both name it', async () => {
    const { integrity, witnessBefore, witness } = await scenario((s, events) => deleteLastEventAndLeaf(s, events, false));
    expect(kinds(integrity)).toEqual(expect.arrayContaining([`stream-head-mismatch@${C}`, 'checkpoint-beyond-tree@', 'tree-mismatch@']));
    expect(witnessBefore.failures.map((f) => f.reason)).toEqual(['leaf-missing']);
    expect(witness.failures.map((f) => f.reason)).toEqual(['size-decreased']);
  });

  it('deleting the last event of the log, its leaf and every node over it: the tree no longer reaches the checkpoint', async () => {
    const { integrity, witnessBefore } = await scenario(async (s, events) => {
      await deleteLastEventAndLeaf(s, events, true);
      // Nodes 1:3, 2:1 and 3:0 cover leaf 7: without them nothing says a node lacks a child.
      await pg.query(`DELETE FROM "${s}_rm".log_nodes WHERE (level, idx) IN ((1, 3), (2, 1), (3, 0))`);
    });
    expect(kinds(integrity)).toEqual(expect.arrayContaining(['checkpoint-beyond-tree@', 'tree-mismatch@']));
    expect(
      (integrity.problems as Json[])
        .filter((p) => p.kind === 'tree-mismatch')
        .map((p) => p.detail as string)
        .join('\n'),
    ).toMatch(/ne se recalcule pas à la taille 8/);
    expect(witnessBefore.failures.map((f) => f.reason)).toEqual(['leaf-missing']);
  });

  it('deleting a leaf in the middle of the tree: a leaf-index gap, the event outside the tree', async () => {
    const { integrity, witnessBefore } = await scenario(async (s) => {
      await pg.query(`DELETE FROM "${s}_rm".log_leaves WHERE leaf_index = 3`);
    });
    expect(kinds(integrity)).toEqual(expect.arrayContaining(['leaf-index-gap@', `event-not-in-tree@${A}`]));
    expect((integrity.problems as Json[]).find((p) => p.kind === 'leaf-index-gap')!.detail).toMatch(/feuille 4 après 2 : les feuilles 3 à 3 manquent/);
    // The last leaf is still served: the witness, which rebuilt the tree once, sees nothing until the next checkpoint.
    expect(witnessBefore.ok).toBe(true);
  });

  it('deleting a whole stream (an access journal): its sealed leaves have lost their events', async () => {
    const { integrity, witness } = await scenario(async (s) => {
      await pg.query(`DELETE FROM "${s}".es_events WHERE stream_id = $1`, [B]);
      await pg.query(`DELETE FROM "${s}".es_streams WHERE stream_id = $1`, [B]);
    });
    expect(kinds(integrity)).toEqual(expect.arrayContaining([`leaf-event-missing@${B}`, `position-gap@${A}`]));
    expect(witness.ok).toBe(false);
    expect(witness.report.join('\n')).toMatch(/INCOHÉRENT/);
  });

  it('swapping two adjacent global positions: the events are not those the leaves sealed', async () => {
    const { integrity, witness } = await scenario(async (s) => {
      await pg.query(`UPDATE "${s}".es_events SET position = -1 WHERE position = 3`);
      await pg.query(`UPDATE "${s}".es_events SET position = 3 WHERE position = 4`);
      await pg.query(`UPDATE "${s}".es_events SET position = 4 WHERE position = -1`);
    });
    expect(kinds(integrity)).toEqual(expect.arrayContaining([`leaf-mismatch@${A}`, `leaf-mismatch@${B}`]));
    expect(witness.ok).toBe(false);
  });

  it('rewriting a stream with every hash recomputed: the chains check, the tree does not', async () => {
    const { integrity, witness } = await scenario(async (s, events) => {
      let prevHash: string | undefined;
      for (const e of events.filter((x) => x.streamId === C)) {
        const data = e.revision === 0 ? { ...(e.data as object), value: { answer: false } } : e.data;
        const rewritten = { ...e, data, prevHash: prevHash ?? e.prevHash };
        const hash = computeEventHash(hashedRecordOf(rewritten));
        await pg.query(`UPDATE "${s}".es_events SET data = $2, prev_hash = $3, hash = $4 WHERE event_id = $1`, [
          e.eventId,
          JSON.stringify(data),
          rewritten.prevHash,
          hash,
        ]);
        await pg.query(`UPDATE "${s}".es_streams SET last_hash = $2 WHERE stream_id = $1`, [C, hash]);
        prevHash = hash;
      }
    });
    expect(kinds(integrity)).toEqual(expect.arrayContaining([`leaf-mismatch@${C}`]));
    expect(kinds(integrity)).not.toContain(`hash-mismatch@${C}`);
    expect(witness.ok).toBe(false);
    expect(witness.report.join('\n')).toMatch(/réécrit/);
  });
});
