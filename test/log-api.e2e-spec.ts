import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Client } from 'pg';
import { loadConfig } from '@forfait/platform';
import { COSIGNATURE_V1, cosignNote, generateSignerKey, parseSignerKey, runWitness, splitNote, vkeyOf } from '@forfait/store';
import { newEvent } from '../libs/store/src/testing/event-store.contract';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';
import { sealed } from './support/e2e';
import { signDevToken } from '../apps/api/src/auth/token-verifier';
import { cliAsync } from './support/servers';

const SECRET = 'logapi-e2e-secret-logapi-e2e-secret-0001';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const STREAMS = [
  'declaration-10000000017-2023',
  'declaration-10000000025-2023',
  'access-10000000017',
  'declaration-10000000017-2023',
  'declaration-10000000025-2023',
  'access-10000000017',
];

/** The verifiable log's edges (issue 15): witness registration, refusals in the envelope, the full check as a job and in the CLI, the embedded store. */
describe('the verifiable log: witnesses, refusals, full recomputation', () => {
  const pg = new Client({ connectionString: DATABASE_URL });
  const dirs: string[] = [];
  const schemas: string[] = [];
  beforeAll(() => pg.connect());
  afterAll(async () => {
    for (const s of schemas) await pg.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await pg.end();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function pgEnv(redis = 'redis://127.0.0.1:1'): Record<string, string> {
    const schema = `logapi_${process.pid}_${randomBytes(3).toString('hex')}`;
    schemas.push(schema, `${schema}_rm`);
    const dataDir = mkdtempSync(join(tmpdir(), 'forfait-logapi-'));
    dirs.push(dataDir);
    return {
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: SECRET,
      REDIS_URL: redis,
      LOG_PUBLIC: 'true',
      LOG_CHECKPOINT_EVERY_EVENTS: '1',
    };
  }
  const start = (env: Record<string, string>) => startSystem(loadConfig({ ...env, PORT: '0', SEED_DEMO: 'false' }), { logger: false });
  const token = (claims: Record<string, string>) => signDevToken(SECRET, claims as never);
  const send = async (system: StartedSystem, method: string, path: string, bearer: string, body?: string | object, headers: Record<string, string> = {}) => {
    const res = await fetch(`${system.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(typeof body === 'object' ? { 'content-type': 'application/json' } : body !== undefined ? { 'content-type': 'text/plain; charset=utf-8' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'object' ? JSON.stringify(body) : body } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (/json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text) as Json };
  };

  it('registers witness keys (admin only), takes only a witness’s own cosignature, refuses in the envelope', async () => {
    const system = await start(pgEnv());
    try {
      for (const stream of STREAMS) await system.runtime.store.append(stream, [newEvent()], { expectedRevision: 'any' });
      await sealed(system.url, 6);
      const [admin, auditor] = [await token({ role: 'admin' }), await token({ role: 'auditor' })];
      const w1Key = generateSignerKey('witness.test/w1', COSIGNATURE_V1);
      const w1 = vkeyOf(parseSignerKey(w1Key));
      const w1Token = await token({ role: 'witness', sub: 'witness.test/w1' });

      // POST /v1/log/witnesses: the admin's alone, a cosignature/v1 key that is not the log's own.
      expect(await send(system, 'POST', '/v1/log/witnesses', w1Token, { vkey: w1 })).toMatchObject({
        status: 403,
        body: { code: 'FORBIDDEN', details: { reason: 'ROLE_NOT_ALLOWED' } },
      });
      expect(await send(system, 'POST', '/v1/log/witnesses', auditor, { vkey: w1 })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
      expect(await send(system, 'POST', '/v1/log/witnesses', admin, { vkey: 'not a key' })).toMatchObject({
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', code: 'VALIDATION_FAILED', message: expect.stringMatching(/^vkey illisible/) as unknown },
      });
      const logVkey = ((await send(system, 'GET', '/v1/log/public-key', auditor)).body as { vkey: string }).vkey;
      expect(await send(system, 'POST', '/v1/log/witnesses', admin, { vkey: logVkey })).toMatchObject({
        status: 400,
        body: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/cosignature\/v1/) as unknown },
      });
      // A witness posting before it is registered: its key is unknown (no self-registration).
      const note = (await send(system, 'GET', '/v1/log/checkpoint', auditor)).body as unknown as string;
      const { body: checkpointBody } = splitNote(note);
      const cosigned = `${note}${cosignNote(checkpointBody, parseSignerKey(w1Key), Math.floor(Date.now() / 1000))}`;
      expect(await send(system, 'POST', '/v1/log/cosignatures', w1Token, cosigned, { 'witness-key': w1 })).toMatchObject({
        status: 422,
        body: { code: 'COSIGNATURE_INVALID', message: expect.stringMatching(/witness\.test\/w1 n’est pas connue/) as unknown },
      });
      expect(await send(system, 'POST', '/v1/log/witnesses', admin, { vkey: w1 })).toEqual({ status: 201, body: { name: 'witness.test/w1', vkey: w1 } });
      expect(((await send(system, 'GET', '/v1/log/public-key', auditor)).body as { witnesses: string[] }).witnesses).toEqual([w1]);
      // Another witness's token cannot post w1's cosignature; w1's can.
      const other = await token({ role: 'witness', sub: 'witness.test/w2' });
      expect(await send(system, 'POST', '/v1/log/cosignatures', other, cosigned)).toMatchObject({
        status: 403,
        body: { code: 'FORBIDDEN', details: { reason: 'WITNESS_KEY_NOT_OWN' } },
      });
      expect((await send(system, 'POST', '/v1/log/cosignatures', w1Token, cosigned)).status).toBe(204);
      // A second witness posts, as api.md says, the checkpoint as served (now carrying w1's cosignature)
      // followed by its own line: accepted; w1's line rides along as kept, not as w2's posting.
      const w2Key = generateSignerKey('witness.test/w2', COSIGNATURE_V1);
      expect((await send(system, 'POST', '/v1/log/witnesses', admin, { vkey: vkeyOf(parseSignerKey(w2Key)) })).status).toBe(201);
      const served = (await send(system, 'GET', '/v1/log/checkpoint', auditor)).body as unknown as string;
      expect(served).toContain('— witness.test/w1 ');
      expect(
        (
          await send(
            system,
            'POST',
            '/v1/log/cosignatures',
            other,
            `${served}${cosignNote(checkpointBody, parseSignerKey(w2Key), Math.floor(Date.now() / 1000))}`,
          )
        ).status,
      ).toBe(204);
      expect((await send(system, 'GET', '/v1/log/checkpoint', auditor)).body).toContain('— witness.test/w2 ');
      // A line of w1 that the log did not keep (another timestamp) is still refused to w2.
      const forged = `${note}${cosignNote(checkpointBody, parseSignerKey(w1Key), Math.floor(Date.now() / 1000) - 7)}`;
      expect(await send(system, 'POST', '/v1/log/cosignatures', other, forged)).toMatchObject({
        status: 403,
        body: { details: { reason: 'WITNESS_KEY_NOT_OWN' } },
      });
      const dataDir = mkdtempSync(join(tmpdir(), 'forfait-logapi-w-'));
      dirs.push(dataDir);
      expect(await runWitness({ url: system.url, keyText: w1Key, statePath: join(dataDir, 'state.json'), token: w1Token })).toMatchObject({
        ok: true,
        failures: [],
        size: 6,
      });

      // A cosigned note over 64 KiB: 413 in the envelope, announced or streamed without a length.
      const big = `${note}${'x'.repeat(70_000)}`;
      const tooLarge = {
        status: 413,
        body: { statusCode: 413, error: 'Payload Too Large', code: 'PAYLOAD_TOO_LARGE', message: expect.stringMatching(/au plus 65536 octets/) },
      };
      expect(await send(system, 'POST', '/v1/log/cosignatures', w1Token, big)).toMatchObject(tooLarge);
      const streamed = await fetch(`${system.url}/v1/log/cosignatures`, {
        method: 'POST',
        headers: { authorization: `Bearer ${w1Token}`, 'content-type': 'text/plain' },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 10; i += 1) controller.enqueue(new TextEncoder().encode('y'.repeat(10_000)));
            controller.close();
          },
        }),
        duplex: 'half',
      });
      expect({ status: streamed.status, body: (await streamed.json()) as Json }).toMatchObject(tooLarge);

      // An inclusion proof for a position not sealed: 404 NOT_FOUND in the envelope.
      expect(await send(system, 'GET', '/v1/log/proof/inclusion?position=999', auditor)).toMatchObject({
        status: 404,
        body: { statusCode: 404, error: 'Not Found', code: 'NOT_FOUND', message: expect.stringMatching(/position 999/) as unknown },
      });
      expect(await send(system, 'GET', '/v1/log/proof/inclusion?leafIndex=99', auditor)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
      expect((await send(system, 'GET', '/v1/log/proof/inclusion?position=1', auditor)).status).toBe(200);
    } finally {
      await system.close();
    }
  }, 60_000);

  it('recomputes the whole tree as a job and in cli verify --full: an old checkpoint replaced is seen there, not by the incremental check', async () => {
    const env = pgEnv('redis://127.0.0.1:6379');
    const system = await start(env);
    try {
      // One by one, each sealed and signed: a checkpoint of every size 1…6.
      for (const [i, stream] of STREAMS.entries()) {
        await system.runtime.store.append(stream, [newEvent()], { expectedRevision: 'any' });
        await sealed(system.url, i + 1);
      }
      const auditor = await token({ role: 'auditor' });
      const integrity = async () => (await send(system, 'GET', '/v1/integrity', auditor)).body;
      expect(await integrity()).toMatchObject({ ok: true, lastFullCheck: null });

      const job = await cliAsync(['verify', '--full', '--job'], env, 90_000);
      expect(job.stdout).toMatch(/^job full-verification-\d+ queued$/m);
      expect(job.stdout).toMatch(/^OK: 6 events in 3 streams, every hash chain verifies, heads, positions and the tree check \(every signed checkpoint\)$/m);
      expect(job.code).toBe(0);
      const afterJob = await integrity();
      expect(afterJob.lastFullCheck).toEqual({ at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) as unknown, ok: true });
      // The job is one of the API's: GET /v1/jobs/{id} has its report.
      const jobId = /^job (\S+) queued$/m.exec(job.stdout)![1]!;
      expect(await send(system, 'GET', `/v1/jobs/${jobId}`, auditor)).toMatchObject({
        status: 200,
        body: {
          queue: 'integrity-checks',
          name: 'full-verification',
          state: 'completed',
          result: { ok: true, everyCheckpoint: true, events: 6, problems: [] },
        },
      });

      // An insider replaces checkpoint 3 (not the latest) with a root of their own.
      const replaced = await pg.query(`UPDATE "${env.DATABASE_SCHEMA}_rm".log_checkpoints SET root_hash = $1 WHERE tree_size = 3`, ['ab'.repeat(32)]);
      expect(replaced.rowCount).toBe(1);
      expect(await integrity()).toMatchObject({ ok: true, problems: [] });
      const latestOnly = await cliAsync(['verify'], env);
      expect(latestOnly.code).toBe(0);
      const full = await cliAsync(['verify', '--full'], env);
      expect(full.code).toBe(2);
      expect(full.stdout).toContain('BROKEN: checkpoint-signature-invalid: le point de contrôle de taille 3 ne porte pas une signature valide du journal');
      expect(full.stdout).toContain(
        'BROKEN: tree-mismatch: l’arbre recalculé depuis les événements (taille 3) n’a pas la racine du point de contrôle signé de cette taille',
      );
      const asJob = await cliAsync(['verify', '--full', '--job', '--json'], env);
      expect(asJob.code).toBe(2);
      expect((JSON.parse(asJob.stdout) as Json).problems.map((p: Json) => p.kind)).toEqual(['checkpoint-signature-invalid', 'tree-mismatch']);
      expect((await integrity()).lastFullCheck).toMatchObject({ ok: false });
    } finally {
      await system.close();
    }
  }, 120_000);

  it('on the embedded store (PGlite) the tree is checked too: the last leaf deleted is seen by cli verify', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forfait-logapi-embedded-'));
    dirs.push(dataDir);
    const env = { DATA_DIR: dataDir, AUTH_JWT_SECRET: SECRET, REDIS_URL: 'redis://127.0.0.1:1', LOG_CHECKPOINT_EVERY_EVENTS: '1', LOG_PUBLIC: 'true' };
    const system = await startSystem(loadConfig({ ...env, STORE: 'embedded', PORT: '0', SEED_DEMO: 'false' }), { logger: false });
    try {
      for (const stream of STREAMS) await system.runtime.store.append(stream, [newEvent()], { expectedRevision: 'any' });
      await sealed(system.url, 6);
    } finally {
      await system.close();
    }
    expect(await cliAsync(['verify', '--full'], env)).toMatchObject({ code: 0 });
    const db = await PGlite.create(join(dataDir, 'pglite'));
    const { rows } = await db.query<{ schema: string }>(`SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'log_leaves'`);
    const rm = rows[0]!.schema;
    await db.query(`DELETE FROM "${rm}".log_leaves WHERE leaf_index = 5`);
    await db.query(`UPDATE "${rm}".log_state SET size = 5, last_position = 5`);
    await db.close();
    const broken = await cliAsync(['verify', '--full'], env);
    expect(broken.code).toBe(2);
    expect(broken.stdout).toContain('BROKEN: checkpoint-beyond-tree: le dernier point de contrôle signé compte 6 feuilles, l’arbre n’en a plus que 5');
  }, 120_000);
});
