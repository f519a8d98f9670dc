import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withRppsCheckDigit } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { PROJECTIONS } from '@forfait/read-models';
import { PgDatabase, SqlEventStore, TransparencyLog, checkLogStructure, generateSignerKey, parseSignerKey, verifyTreeFromEvents } from '@forfait/store';
import { signDevToken } from '../apps/api/src/auth/token-verifier';
import { request } from './support/e2e';
import { dumpReadModels, rebuildReadModels } from './support/read-models';
import { Cluster, freePort, kill, startRedis, until } from './support/servers';

// Issue 17, point 13: the deployment of docs/deployment.md ("PostgreSQL"): two API processes
// (RUN_PROJECTOR=false) and two standalone projectors, built apps started as a user runs them, on
// one PostgreSQL cluster and one redis-server of the test's own (ports 55440-55449). Under
// concurrent declarations through both APIs, one API and the projector holding the most
// projections are killed with SIGKILL; the clients retry what failed, with the same
// Idempotency-Key, on the API left.
const API = join(__dirname, '..', 'dist', 'apps', 'api', 'src', 'main.js');
const PROJECTOR = join(__dirname, '..', 'dist', 'apps', 'projector', 'src', 'main.js');
const SECRET = 'topology-secret-topology-secret-topology-01';
const ME = 'topology-test'; // application_name of the test's own connections
const YEAR = 2023;
const ORIGIN = 'topology.test/log';
const LOG_KEY = generateSignerKey(ORIGIN);
const ANSWER_BOUND_MS = 15_000; // tells an answer from a hang

interface Proc {
  name: string;
  child: ChildProcess;
  output: string;
}

describe('two APIs and two projectors on one PostgreSQL (issue 17, point 13)', () => {
  let cluster: Cluster;
  let redis: ChildProcess;
  let redisUrl: string;
  let db: PgDatabase;
  const procs: Proc[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-topology-'));

  const start = (name: string, main: string, extra: Record<string, string>): Proc => {
    const child = spawn(process.execPath, [main], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        STORE: 'postgres',
        // Each process' connections say whose they are (pg_stat_activity, pg_locks).
        DATABASE_URL: `${cluster.url}?application_name=${name}`,
        AUTH_JWT_SECRET: SECRET,
        LOG_SIGNING_KEY: LOG_KEY,
        LOG_ORIGIN: ORIGIN,
        LOG_CHECKPOINT_EVERY_EVENTS: '50',
        LOG_CHECKPOINT_INTERVAL_SECONDS: '1',
        PROJECTOR_BATCH_SIZE: '50',
        DATA_DIR: join(dataDir, name),
        NO_COLOR: '1',
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc: Proc = { name, child, output: '' };
    child.stdout.on('data', (c: Buffer) => (proc.output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (proc.output += c.toString()));
    procs.push(proc);
    return proc;
  };
  const startApi = async (name: string): Promise<{ proc: Proc; url: string }> => {
    const proc = start(name, API, {
      PORT: '0',
      HOST: '127.0.0.1',
      RUN_PROJECTOR: 'false',
      SEED_DEMO: 'false',
      CLOCK: '2024-01-15T10:00:00+01:00',
      REDIS_URL: redisUrl,
    });
    const url = await until(
      () => {
        if (proc.child.exitCode !== null) throw new Error(`${name} exited: ${proc.output}`);
        return /API\s+(http:\/\/[\w.]+:\d+)/.exec(proc.output)?.[1];
      },
      60_000,
      `${name} listening`,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; its output: ${proc.output}`);
    });
    return { proc, url };
  };
  /** Advisory locks held, by application_name (one per projection key the process runs). */
  const locksBy = async (): Promise<Record<string, number>> => {
    const rows = await cluster.sql<{ app: string; n: string }>(
      `SELECT a.application_name AS app, count(*)::text AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted GROUP BY a.application_name`,
    );
    return Object.fromEntries(rows.map((r) => [r.app, Number(r.n)]));
  };
  const checkpoints = async (): Promise<Record<string, bigint>> => {
    try {
      const { rows } = await db.query<{ name: string; position: string }>('SELECT name, position::text AS position FROM rm.projection_checkpoints');
      return Object.fromEntries(rows.map((r) => [r.name, BigInt(r.position)]));
    } catch {
      return {};
    }
  };
  const head = async (): Promise<bigint> => BigInt((await db.query<{ p: string }>('SELECT coalesce(max(position), 0)::text AS p FROM es_events')).rows[0]!.p);

  beforeAll(async () => {
    const pgPort = await freePort(25440, 25449);
    cluster = new Cluster(pgPort, ME);
    await cluster.init();
    const redisPort = await freePort(25440, 25449, [pgPort]);
    redis = await startRedis(redisPort);
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    db = new PgDatabase({ connectionString: cluster.url, max: 4, application_name: ME });
  }, 60_000);
  afterAll(async () => {
    for (const p of procs) await kill(p.child);
    await db?.close();
    await cluster?.destroy();
    await kill(redis);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('killing an API and a projector mid-load loses and duplicates nothing; the other projector takes over; the log seals gap-free', async () => {
    // Two projectors starting together (schema setup under the migration lock), then the APIs.
    const projectors = [start('projector-a', PROJECTOR, { REDIS_URL: redisUrl }), start('projector-b', PROJECTOR, { REDIS_URL: redisUrl })];
    const apis = await Promise.all([startApi('api-a'), startApi('api-b')]);
    const expectedKeys = PROJECTIONS.length + 2; // the projections, the deadline scheduler (Redis is up), the log's sealer
    await until(
      async () => {
        const locks = await locksBy();
        return (locks['projector-a'] ?? 0) + (locks['projector-b'] ?? 0) === expectedKeys ? true : undefined;
      },
      30_000,
      'every projection claimed by one projector',
    );
    // No projection runs twice: no projector crash-looping on CheckpointMovedError.
    for (const p of projectors)
      expect({ name: p.name, exitCode: p.child.exitCode, output: p.child.exitCode === null ? '' : p.output }).toEqual({
        name: p.name,
        exitCode: null,
        output: '',
      });

    const admin = await signDevToken(SECRET, { role: 'admin' });
    const system = await signDevToken(SECRET, { role: 'system' });
    const send = (base: string, method: string, path: string, token: string, body: unknown, key?: string) =>
      request(base, method, path, token, body, { headers: key ? { 'idempotency-key': key } : {}, timeoutMs: ANSWER_BOUND_MS });
    expect(
      (
        await send(apis[0].url, 'POST', '/v1/campaigns', admin, {
          year: YEAR,
          ruleset: 'FS-2023',
          opensAt: '2023-12-11T00:00:00+01:00',
          closesAt: '2024-02-04T23:59:59.999+01:00',
        })
      ).status,
    ).toBe(201);
    const doctors = [0, 1, 2, 3].map((d) => withRppsCheckDigit(String(1500000000 + d)));
    for (const [i, rpps] of doctors.entries())
      expect(
        (await send(apis[i % 2]!.url, 'PUT', `/v1/doctors/${rpps}`, system, { specialty: 'medecine-generale', caisse: '441', department: '44' })).status,
      ).toBe(200);

    // Eight clients, two per doctor-year, one on each API, on two indicators of the same stream.
    // A request that gets no answer is sent again with its key, to the other API once one is dead.
    let killed: number | undefined;
    let stopping = false;
    const sent = new Map<string, { rpps: string; answers: { api: number; status: number; eventId?: string }[] }>();
    const failures: string[] = [];
    const clients = doctors.flatMap((rpps) =>
      [0, 1].map(async (side) => {
        const token = await signDevToken(SECRET, { role: 'doctor', rpps });
        for (let i = 0; !stopping; i += 1) {
          const key = randomUUID();
          const record = { rpps, answers: [] as { api: number; status: number; eventId?: string }[] };
          sent.set(key, record);
          const body = { indicator: side === 0 ? 'V2_CODAGE' : 'V2_VIDEO', value: { answer: i % 2 === 0 }, attestation: true };
          for (let attempt = 0; ; attempt += 1) {
            const api = killed === side ? 1 - side : side;
            try {
              const r = await send(apis[api]!.url, 'POST', `/v1/doctors/${rpps}/campaigns/${YEAR}/declarations`, token, body, key);
              record.answers.push({ api, status: r.status, eventId: r.body.eventId as string | undefined });
              if (r.status === 201) break;
              if (r.status !== 503 || attempt > 20) {
                failures.push(`${r.status} ${JSON.stringify(r.body)}`);
                break;
              }
            } catch (error) {
              record.answers.push({ api, status: 0 });
              if (attempt > 20) {
                failures.push(String(error));
                break;
              }
            }
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      }),
    );
    const acknowledged = () => [...sent.values()].filter((s) => s.answers.some((a) => a.status === 201)).length;

    let victim: Proc;
    let survivor: Proc;
    try {
      await until(() => (acknowledged() >= 120 ? true : undefined), 60_000, 'declarations through both APIs');
      // Both APIs served.
      expect(new Set([...sent.values()].flatMap((s) => s.answers.filter((a) => a.status === 201).map((a) => a.api)))).toEqual(new Set([0, 1]));
      const locks = await locksBy();
      [victim, survivor] = (locks['projector-a'] ?? 0) >= (locks['projector-b'] ?? 0) ? [projectors[0]!, projectors[1]!] : [projectors[1]!, projectors[0]!];
      const victimLocks = locks[victim.name] ?? 0;
      expect(victimLocks).toBeGreaterThan(0);

      await Promise.all([kill(apis[0].proc.child), kill(victim.child)]);
      killed = 0;
      const atKill = acknowledged();
      // The survivor takes every projection over (the dead one's session ended, its locks with it).
      await until(async () => ((await locksBy())[survivor.name] === expectedKeys ? true : undefined), 30_000, `${survivor.name} holding every projection`);
      await until(() => (acknowledged() >= atKill + 120 ? true : undefined), 60_000, 'declarations after the kills');
    } finally {
      stopping = true;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    expect(survivor!.child.exitCode).toBeNull();
    expect(apis[1].proc.child.exitCode).toBeNull();
    // Some requests were cut by the kill and sent again (else the retry path went untested).
    const retried = [...sent.values()].filter((s) => s.answers.length > 1);
    expect(retried.length).toBeGreaterThan(0);

    // Every command acknowledged, each stored exactly once, under the event id it was answered with.
    const records = [...sent.values()];
    expect(records.every((s) => s.answers.some((a) => a.status === 201))).toBe(true);
    const answeredIds = records.map((s) => s.answers.find((a) => a.status === 201)!.eventId!);
    for (const s of records) expect(new Set(s.answers.filter((a) => a.status === 201).map((a) => a.eventId)).size).toBe(1);
    const stored = await db.query<{ event_id: string; n: string }>(
      'SELECT event_id::text, count(*)::text AS n FROM es_events WHERE event_id = ANY($1::uuid[]) GROUP BY event_id',
      [answeredIds],
    );
    expect(stored.rows).toHaveLength(answeredIds.length);
    expect(stored.rows.every((r) => r.n === '1')).toBe(true);
    // Nothing else was appended: per doctor, as many declarations as commands sent.
    const perDoctor = await db.query<{ rpps: string; n: string }>(
      `SELECT data->>'rpps' AS rpps, count(*)::text AS n FROM es_events WHERE type = 'IndicatorDeclared' GROUP BY 1 ORDER BY 1`,
    );
    expect(Object.fromEntries(perDoctor.rows.map((r) => [r.rpps, Number(r.n)]))).toEqual(
      Object.fromEntries(doctors.map((rpps) => [rpps, records.filter((s) => s.rpps === rpps).length])),
    );

    // The survivor brings every projection and the sealer to the head.
    const last = await head();
    await until(
      async () => {
        const c = await checkpoints();
        return Object.keys(c).length === expectedKeys && Object.values(c).every((p) => p === last) ? true : undefined;
      },
      60_000,
      'the surviving projector at the head',
    );
    expect(survivor!.output).not.toMatch(/CHECKPOINT_MOVED|stopped:|Unhandled/);

    // The read models equal a rebuild from zero, and the audit trail holds every event once.
    await rebuildReadModels(db, 'public', 'rebuilt');
    const live = await dumpReadModels(db, 'rm');
    expect(live.audit).toHaveLength(Number(last));
    expect(live).toEqual(await dumpReadModels(db, 'rebuilt'));

    // The log: one leaf per position, 1..head, none twice, and its structure and signed tree check out.
    const leaves = await db.query<{ n: string; min: string; max: string; distinct: string; maxindex: string }>(
      'SELECT count(*)::text AS n, min(position)::text AS min, max(position)::text AS max, count(DISTINCT position)::text AS distinct, max(leaf_index)::text AS maxindex FROM rm.log_leaves',
    );
    expect(leaves.rows[0]).toEqual({ n: String(last), min: '1', max: String(last), distinct: String(last), maxindex: String(last - 1n) });
    const store = await SqlEventStore.open({ db, clock: new ManualClock('2024-01-20T10:00:00Z'), schema: 'public', ownsDatabase: false });
    const log = new TransparencyLog(db, 'rm', parseSignerKey(LOG_KEY), {
      checkpointEveryEvents: 50,
      checkpointIntervalMs: 1000,
      witnessKeys: [],
      now: () => new Date(),
    });
    try {
      expect(await log.state()).toEqual({ size: Number(last), lastPosition: last });
      const signed = await until(
        async () => {
          const c = await log.latestCheckpoint();
          return c && c.size === Number(last) ? c : undefined;
        },
        30_000,
        'a signed checkpoint of the whole log',
      );
      expect(signed.size).toBe(Number(last));
      expect(await checkLogStructure(store, db, log)).toEqual([]);
      expect(await verifyTreeFromEvents(store, log)).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);
});
