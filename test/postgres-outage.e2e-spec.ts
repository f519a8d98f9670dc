import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streams, withRppsCheckDigit, type NewEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { PROJECTIONS } from '@forfait/read-models';
import { PgDatabase, SqlEventStore, quoteIdent } from '@forfait/store';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { signDevToken } from '../apps/api/src/auth/token-verifier';
import { request, startTestSystem, type Json } from './support/e2e';
import { dumpReadModels as dump, rebuildReadModels as rebuild } from './support/read-models';
import { Cluster, freePort, until } from './support/servers';

// A PostgreSQL cluster of this test's own (never the shared server on 5432), stopped and started
// under the running system: the API with its in-process projector, then the standalone projector.
const PROJECTOR = join(__dirname, '..', 'dist', 'apps', 'projector', 'src', 'main.js');
const SECRET = 'outage-secret-outage-secret-outage-0123456';
const ME = 'outage-test'; // application_name of this test's own connections, which are spared
const YEAR = 2023;
const ANSWER_BOUND_MS = 10_000; // tells an answer from a hang

interface Answer {
  startedAt: number;
  ms: number;
  status: number;
  body: Json;
}

/** A light, steady load of declarations: a few clients, each one request at a time. */
class Load {
  readonly answers: Answer[] = [];
  private stopped = false;
  private readonly clients: Promise<void>[];
  constructor(base: string, tokens: { rpps: string; token: string }[]) {
    this.clients = tokens.map(async ({ rpps, token }) => {
      for (let i = 0; !this.stopped; i += 1) {
        const startedAt = Date.now();
        let status = 0;
        let body: Json = {};
        try {
          const declaration = { indicator: 'V2_CODAGE', value: { answer: i % 2 === 0 }, attestation: true };
          ({ status, body } = await request(base, 'POST', `/v1/doctors/${rpps}/campaigns/${YEAR}/declarations`, token, declaration, {
            timeoutMs: ANSWER_BOUND_MS * 3,
          }));
        } catch (error) {
          body = { error: String(error) };
        }
        this.answers.push({ startedAt, ms: Date.now() - startedAt, status, body });
        await new Promise((r) => setTimeout(r, 20)); // light: a pause between a client's requests
      }
    });
  }
  since(t: number, status: number): Answer[] {
    return this.answers.filter((a) => a.startedAt >= t && a.status === status);
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.clients);
  }
}

describe('losing PostgreSQL', () => {
  let cluster: Cluster;
  let db: PgDatabase;

  beforeAll(async () => {
    cluster = new Cluster(await freePort(25432, 25439), ME);
    await cluster.init();
    db = new PgDatabase({ connectionString: cluster.url, max: 4, application_name: ME });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await cluster?.destroy();
  });

  describe('the API with its in-process projector', () => {
    let system: StartedSystem;
    const dataDir = mkdtempSync(join(tmpdir(), 'forfait-outage-'));
    afterAll(async () => {
      await system?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('survives terminated backends and a restart: 503 STORE_UNAVAILABLE meanwhile, then serves and catches up exactly once', async () => {
      system = await startTestSystem({
        STORE: 'postgres',
        DATABASE_URL: cluster.url,
        AUTH_JWT_SECRET: SECRET,
        CLOCK: '2024-01-15T10:00:00+01:00',
        REDIS_URL: 'redis://127.0.0.1:1',
        DATA_DIR: dataDir,
      });
      const base = system.url;
      const admin = await signDevToken(SECRET, { role: 'system' });
      const post = async (method: string, path: string, body: unknown, token = admin) => (await request(base, method, path, token, body)).status;
      expect(
        await post(
          'POST',
          '/v1/campaigns',
          { year: YEAR, ruleset: 'FS-2023', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' },
          await signDevToken(SECRET, { role: 'admin' }),
        ),
      ).toBe(201);
      const doctors = [0, 1, 2].map((d) => withRppsCheckDigit(String(1200000000 + d)));
      for (const rpps of doctors)
        expect(await post('PUT', `/v1/doctors/${rpps}`, { specialty: 'medecine-generale', caisse: '441', department: '44' })).toBe(200);

      const load = new Load(base, await Promise.all(doctors.map(async (rpps) => ({ rpps, token: await signDevToken(SECRET, { role: 'doctor', rpps }) }))));
      try {
        await until(() => (load.since(0, 201).length >= 10 ? true : undefined), 20_000, 'first declarations');

        // (a) Every backend of the app terminated: the pool and the LISTEN connection come back.
        const terminatedAt = Date.now();
        expect(await cluster.terminateOthers()).toBeGreaterThanOrEqual(2);
        await until(() => (load.since(terminatedAt, 201).length >= 10 ? true : undefined), 20_000, 'declarations after pg_terminate_backend');
        await until(
          async () =>
            (await cluster.sql(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND application_name <> '${ME}'`)).length > 0 ? true : undefined,
          20_000,
          'the LISTEN connection back',
        );

        // (b) The server stopped mid-load: quick 503s, health says the store is down.
        const stoppedAt = Date.now();
        await cluster.stop();
        await until(() => (load.since(stoppedAt, 503).length >= 5 ? true : undefined), 20_000, '503 answers while PostgreSQL is down');
        const ready = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
        expect(ready.status).toBe(503);
        expect(await ready.json()).toMatchObject({ ready: false, store: { ok: false, detail: expect.stringMatching(/indisponible/) } });

        // PostgreSQL back: commands succeed again without restarting anything.
        await cluster.start();
        const restartedAt = Date.now();
        await until(() => (load.since(restartedAt, 201).length >= 10 ? true : undefined), 30_000, 'declarations after the restart');
      } finally {
        await load.stop();
      }

      // Every answer came in time, and was a success or STORE_UNAVAILABLE, never a 500.
      const slowest = Math.max(...load.answers.map((a) => a.ms));
      expect(slowest).toBeLessThan(ANSWER_BOUND_MS);
      const outcomes = new Set(load.answers.map((a) => `${a.status} ${a.body.code ?? ''}`.trim()));
      expect([...outcomes].sort()).toEqual(['201', '503 STORE_UNAVAILABLE']);
      const unavailable = load.answers.find((a) => a.status === 503)!;
      expect(unavailable.body).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'STORE_UNAVAILABLE',
        message: expect.stringMatching(/base de données/),
      });

      // The read models caught up, equal a rebuild from zero, and hold every event once.
      const head = await system.runtime.store.headPosition();
      await system.runtime.projector!.waitFor(head, 30_000);
      const acknowledged = load.answers.filter((a) => a.status === 201).map((a) => a.body.eventId as string);
      const stored = await db.query<{ event_id: string; n: string }>(
        'SELECT event_id::text, count(*)::text AS n FROM es_events WHERE event_id = ANY($1::uuid[]) GROUP BY event_id',
        [acknowledged],
      );
      expect(stored.rows).toHaveLength(new Set(acknowledged).size);
      expect(stored.rows.every((r) => r.n === '1')).toBe(true);
      await rebuild(db, 'public', 'api_rebuilt');
      const live = await dump(db, 'rm');
      expect(live.audit).toHaveLength(Number(head));
      expect(live).toEqual(await dump(db, 'api_rebuilt'));
    }, 150_000);
  });

  describe('the standalone projector', () => {
    const schema = 'solo';
    let store: SqlEventStore;
    let projector: ChildProcess | undefined;
    let output = '';
    const meta = (effectiveAt: string) => ({
      effectiveAt,
      actor: { sub: 's', role: 'system' as const },
      channel: 'import' as const,
      correlationId: 'outage',
      causationId: null,
    });
    const ev = (type: string, data: unknown, effectiveAt = '2024-01-10T10:00:00+01:00'): NewEvent => ({
      eventId: randomUUID(),
      type,
      schemaVersion: 1,
      data,
      metadata: meta(effectiveAt),
    });
    const appendDoctors = async (from: number, count: number) => {
      for (let d = from; d < from + count; d += 1) {
        const rpps = withRppsCheckDigit(String(1300000000 + d));
        await store.append(streams.doctor(rpps), [ev('DoctorProfileRecorded', { rpps, specialty: 'cardiologie', caisse: '751', department: '75' })], {
          expectedRevision: 'any',
        });
        await store.append(
          streams.declaration(rpps, YEAR),
          [ev('IndicatorDeclared', { rpps, year: YEAR, indicator: 'V2_CODAGE', value: { answer: d % 2 === 0 }, attestation: true })],
          { expectedRevision: 'any' },
        );
      }
      return store.headPosition();
    };
    const checkpoints = async (): Promise<bigint[]> => {
      try {
        return (await db.query<{ position: string }>(`SELECT position::text AS position FROM ${quoteIdent(`${schema}_rm`)}.projection_checkpoints`)).rows.map(
          (r) => BigInt(r.position),
        );
      } catch {
        return [];
      }
    };
    const caughtUp = (head: bigint, what: string) =>
      until(
        async () => {
          const c = await checkpoints();
          // Every projection, and the followers beside them (the log's sealer), at the head.
          return c.length >= PROJECTIONS.length && c.every((p) => p === head) ? true : undefined;
        },
        // A bound that tells a stall from an answer: under the full suite's load the resumptions' backoffs add up.
        60_000,
        what,
      ).catch(async (error: unknown) => {
        // What the projector said and where each projection stands, to tell a stall from slowness.
        const rows = (
          await db
            .query<{ name: string; position: string }>(`SELECT name, position::text AS position FROM ${quoteIdent(`${schema}_rm`)}.projection_checkpoints`)
            .catch(() => ({ rows: [] }))
        ).rows;
        throw new Error(`${(error as Error).message} (head ${head}; checkpoints ${JSON.stringify(rows)}; projector said: ${output.slice(-3000)})`);
      });

    afterAll(async () => {
      if (projector && projector.exitCode === null) projector.kill('SIGKILL');
      await store?.close();
    });

    it('survives terminated backends and a restart of PostgreSQL, resumes from its checkpoints, and exits 0 on SIGTERM', async () => {
      store = await SqlEventStore.open({ db, clock: new ManualClock('2024-01-20T10:00:00Z'), schema, ownsDatabase: false });
      await store.append(
        streams.campaign(YEAR),
        [
          ev('CampaignOpened', {
            year: YEAR,
            ruleset: 'FS-2023',
            rulesetVersion: '1',
            opensAt: '2023-12-11T00:00:00+01:00',
            closesAt: '2024-02-11T23:59:59.999+01:00',
          }),
        ],
        { expectedRevision: 'no_stream' },
      );
      let head = await appendDoctors(0, 20);
      const child = spawn(process.execPath, [PROJECTOR], {
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          STORE: 'postgres',
          DATABASE_URL: cluster.url,
          DATABASE_SCHEMA: schema,
          AUTH_JWT_SECRET: SECRET,
          REDIS_URL: 'redis://127.0.0.1:1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      projector = child;
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await caughtUp(head, 'first catch-up');

      expect(await cluster.terminateOthers()).toBeGreaterThanOrEqual(1);
      head = await appendDoctors(20, 20);
      await caughtUp(head, 'catch-up after pg_terminate_backend');
      expect(child.exitCode).toBeNull();

      const logged = output.length;
      await cluster.stop();
      // The projector noticed (a read failed) and waits to resume: alive, not exited.
      await until(() => (/store unavailable/.test(output.slice(logged)) ? true : undefined), 20_000, 'the projector noticing the outage');
      expect(child.exitCode).toBeNull();
      await cluster.start();
      head = await appendDoctors(40, 20);
      await caughtUp(head, 'catch-up after the restart');
      expect(child.exitCode).toBeNull();

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).not.toMatch(/Unhandled 'error' event|Cannot use a pool after calling end/);

      await rebuild(db, schema, `${schema}_rebuilt`);
      const live = await dump(db, `${schema}_rm`);
      expect(live.audit).toHaveLength(Number(head));
      expect(live).toEqual(await dump(db, `${schema}_rebuilt`));
    }, 150_000);
  });
});
