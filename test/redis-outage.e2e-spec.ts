import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streams, withRppsCheckDigit, type RecordedEvent } from '@forfait/events';
import { QUEUES } from '@forfait/platform';
import { closeJobId } from '@forfait/read-models';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { DATABASE_URL, mintTokens, request, schemaName, startTestSystem, type Json } from './support/e2e';
import { dropSchemas, freePort, kill, startRedis, until } from './support/servers';

const SECRET = 'redis-outage-secret-redis-outage-secret-01';
/** Tells an answer from a hang (a hang was > 20 s): not a latency target. */
const ANSWER_BOUND_MS = 3000;

/** A port of 56379–56389 nobody listens on. */
const sparePort = () => freePort(26379, 26389);

describe('losing Redis (issue 11, point 5)', () => {
  const schema = schemaName('redis_outage');
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-redis-outage-'));
  let port: number;
  let redis: ChildProcess;
  let system: StartedSystem;
  let token: Record<string, string>;
  const GP = withRppsCheckDigit('1400000001');
  const CLOSES_AT = new Date(Date.now() + 30_000).toISOString();

  // A hang fails at the request (10 s), not at the test timeout.
  const call = (method: string, path: string, who: string, body?: unknown, contentType?: string) =>
    request(system.url, method, path, token[who], body, { contentType, timeoutMs: 10_000 });
  const events = async (after: bigint): Promise<RecordedEvent[]> => {
    const all: RecordedEvent[] = [];
    for (;;) {
      const batch = await system.runtime.store.readAll({ after: all.length > 0 ? all[all.length - 1]!.position : after, maxCount: 5000 });
      all.push(...batch);
      if (batch.length < 5000) return all;
    }
  };
  const loseRedis = async () => {
    await kill(redis);
    // Gone when its port refuses connections (the API's connections were reset as it died).
    await until(
      () =>
        new Promise<true | undefined>((resolve) => {
          const socket = new Socket();
          socket.once('error', () => resolve(true));
          socket.connect(port, '127.0.0.1', () => {
            socket.destroy();
            resolve(undefined);
          });
        }),
      5000,
      'redis-server gone',
    );
  };
  /** A fresh, empty redis-server on the same port: everything Redis held is lost. */
  const restartRedis = async () => {
    redis = await startRedis(port);
  };
  const importFiles = () => {
    try {
      return readdirSync(join(dataDir, 'imports'));
    } catch {
      return [];
    }
  };

  beforeAll(async () => {
    port = await sparePort();
    redis = await startRedis(port);
    system = await startTestSystem({
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: SECRET,
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(system.runtime.jobs).toBeDefined();
    token = await mintTokens(SECRET, { admin: { role: 'admin' }, system: { role: 'system' }, gp: { role: 'doctor', rpps: GP } });
    // A deadline near enough for the deadline test (the second), far enough for the first one's declaration.
    expect(
      (
        await call('POST', '/v1/campaigns', 'admin', {
          year: 2023,
          ruleset: 'FS-2023',
          opensAt: new Date(Date.now() - 3_600_000).toISOString(),
          closesAt: CLOSES_AT,
        })
      ).status,
    ).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await system?.close();
    if (redis) await kill(redis);
    await dropSchemas(DATABASE_URL, schema, `${schema}_rm`);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 JOBS_UNAVAILABLE at once on every job endpoint while Redis is down; declarations and queries go on', async () => {
    await loseRedis();
    try {
      const csv = `rpps,year,indicator,numerator,denominator\n${GP},2023,V2_AAT,75,100\n`;
      const refused = [
        await call('POST', '/v1/imports/measures?source=SNDS', 'system', csv, 'text/csv'),
        await call('POST', '/v1/campaigns/2023/calculations', 'system', {}),
        await call('GET', '/v1/jobs/import-SNDS-0123', 'system'),
      ];
      for (const r of refused) {
        expect(r.ms).toBeLessThan(ANSWER_BOUND_MS);
        expect(r).toMatchObject({
          status: 503,
          body: { statusCode: 503, error: 'Service Unavailable', code: 'JOBS_UNAVAILABLE', message: expect.stringMatching(/indisponibles/) },
        });
      }
      // The refused upload left nothing on disk.
      expect(importFiles()).toEqual([]);

      const declared = await call('POST', `/v1/doctors/${GP}/campaigns/2023/declarations`, 'gp', {
        indicator: 'V2_CODAGE',
        value: { answer: true },
        attestation: true,
      });
      expect(declared.status).toBe(201);
      expect(declared.ms).toBeLessThan(ANSWER_BOUND_MS);
      // A JSON batch of measures needs no job either.
      expect(
        (
          await call('POST', '/v1/imports/measures', 'system', {
            source: 'SNDS',
            items: [{ rpps: GP, year: 2023, indicator: 'V2_AAT', numerator: 80, denominator: 100 }],
          })
        ).status,
      ).toBe(200);
      expect((await call('GET', '/v1/campaigns/2023', 'system')).body).toMatchObject({ status: 'open' });
    } finally {
      await restartRedis();
    }
    // Back: the job endpoints answer again.
    const back = await until(
      async () => {
        const r = await call('GET', '/v1/jobs/nothing-of-the-kind', 'system');
        return r.status === 404 ? r : undefined;
      },
      10_000,
      'jobs back',
    );
    expect(back.body.code).toBe('JOB_NOT_FOUND');
  });

  it('re-creates a lost deadline job: the campaign closes at its deadline, once', async () => {
    const closesAt = CLOSES_AT;
    const deadlines = system.runtime.jobs!.queue(QUEUES.deadlines);
    await until(async () => ((await deadlines.getJob(closeJobId(2023, closesAt))) ? true : undefined), 10_000, 'the close job scheduled');
    await loseRedis();
    await restartRedis();
    // The new Redis knew nothing; the close job is there again, delayed to the deadline.
    const job = await until(
      async () => (await deadlines.getJob(closeJobId(2023, closesAt)).catch(() => undefined)) ?? undefined,
      10_000,
      'the close job re-created',
    );
    expect(await job.getState()).toBe('delayed');
    const closed = await until(
      async () => (await system.runtime.store.readStream(streams.campaign(2023))).find((e) => e.type === 'CampaignClosed'),
      30_000,
      'CampaignClosed',
    );
    expect(closed.data).toEqual({ year: 2023, closesAt });
    expect(Date.parse(closed.metadata.recordedAt)).toBeGreaterThanOrEqual(Date.parse(closesAt));
    expect((await system.runtime.store.readStream(streams.campaign(2023))).filter((e) => e.type === 'CampaignClosed')).toHaveLength(1);
    expect((await call('GET', '/v1/campaigns/2023', 'system')).body).toMatchObject({ status: 'closed' });
  }, 60_000);

  it('finishes a CSV import cut by a Redis restart, each line recorded once', async () => {
    const lines = 5000;
    const rpps = Array.from({ length: lines }, (_, i) => withRppsCheckDigit(`15${String(i).padStart(8, '0')}`));
    const csv = ['rpps,year,indicator,numerator,denominator', ...rpps.map((r, i) => `${r},2023,V2_AAT,${i % 100},100`)].join('\n');
    const from = await system.runtime.store.headPosition();
    const measuresSoFar = async () => (await events(from)).filter((e) => e.type === 'MeasureRecorded').length;

    const accepted = await call('POST', '/v1/imports/measures?source=SNDS', 'system', csv, 'text/csv');
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.jobId as string;
    // Cut after the first batch, well before the last.
    await until(async () => ((await measuresSoFar()) >= 1000 ? true : undefined), 30_000, 'the first batch');
    await loseRedis();
    // The accepted file is kept while the import is unfinished.
    expect(importFiles()).toContain(`${accepted.body.sha256}.csv`);
    await restartRedis();
    const cutAt = await measuresSoFar();
    expect(cutAt).toBeLessThan(lines);

    const all = await until(
      async () => {
        const recorded = (await events(from)).filter((e) => e.type === 'MeasureRecorded');
        return recorded.length >= lines ? recorded : undefined;
      },
      90_000,
      `the import's ${lines} lines (${cutAt} when Redis restarted)`,
    );
    // Each line's event exactly once, even a while after.
    const byDoctor = new Map<string, number>();
    for (const e of all) byDoctor.set((e.data as Json).rpps as string, (byDoctor.get((e.data as Json).rpps as string) ?? 0) + 1);
    expect(all).toHaveLength(lines);
    expect([...byDoctor.keys()].sort()).toEqual([...rpps].sort());
    expect([...byDoctor.values()].every((n) => n === 1)).toBe(true);
    const done = await until(
      async () => {
        const r = await call('GET', `/v1/jobs/${jobId}`, 'system');
        return r.body.state === 'completed' ? r.body : undefined;
      },
      10_000,
      'the job completed',
    );
    expect(done.result).toMatchObject({ received: lines, rejectedCount: 0 });
    // Done: its file is removed.
    expect(importFiles()).not.toContain(`${accepted.body.sha256}.csv`);
    expect((await events(from)).filter((e) => e.type === 'MeasureRecorded')).toHaveLength(lines);
  }, 150_000);

  it('finishes a fanned-out yearly calculation cut by a Redis restart, each doctor calculated once', async () => {
    const doctors = Array.from({ length: 240 }, (_, i) => withRppsCheckDigit(`16${String(i).padStart(8, '0')}`));
    for (const [i, rpps] of doctors.entries()) {
      expect(
        (await call('PUT', `/v1/doctors/${rpps}`, 'system', { specialty: 'cardiologie', caisse: i % 2 === 0 ? '441' : '751', department: '44' })).status,
      ).toBe(200);
    }
    const items = doctors.map((rpps) => ({ rpps, year: 2023, indicator: 'V2_AAT', numerator: 80, denominator: 100 }));
    expect((await call('POST', '/v1/imports/measures', 'system', { source: 'SNDS', items })).body).toMatchObject({ appended: doctors.length });
    const mine = new Set(doctors);
    const from = await system.runtime.store.headPosition();
    const calculated = async () => (await events(from)).filter((e) => e.type === 'EntitlementCalculated' && mine.has((e.data as Json).rpps as string));

    const run = await call('POST', '/v1/campaigns/2023/calculations', 'system', {});
    expect(run.status).toBe(202);
    await until(async () => ((await calculated()).length >= 20 ? true : undefined), 30_000, 'the first calculations');
    await loseRedis();
    await restartRedis();
    const cutAt = (await calculated()).length;
    expect(cutAt).toBeLessThan(doctors.length);

    const all = await until(
      async () => {
        const c = await calculated();
        const completed = (await system.runtime.store.readStream(streams.campaign(2023))).filter((e) => e.type === 'CampaignCalculationCompleted');
        return c.length >= doctors.length && completed.length > 0 ? c : undefined;
      },
      90_000,
      `every doctor calculated and the calculation completed (${cutAt} of ${doctors.length} when Redis restarted)`,
    );
    expect(all).toHaveLength(doctors.length);
    expect(new Set(all.map((e) => (e.data as Json).rpps as string)).size).toBe(doctors.length);
    expect((await system.runtime.store.readStream(streams.campaign(2023))).filter((e) => e.type === 'CampaignCalculationCompleted')).toHaveLength(1);
    const done = await until(
      async () => {
        const r = await call('GET', `/v1/jobs/${encodeURIComponent(run.body.jobId as string)}`, 'system');
        return r.body.state === 'completed' ? r.body : undefined;
      },
      10_000,
      'the calculation job completed',
    );
    expect(done.result).toMatchObject({ doctors: doctors.length });
  }, 150_000);
});

describe('Redis that comes up after a start without it (issue 11 leftover)', () => {
  const schema = schemaName('redis_late');
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-redis-late-'));
  let port: number;
  let redis: ChildProcess | undefined;
  let system: StartedSystem | undefined;
  const GP = withRppsCheckDigit('1400000002');
  const start = () =>
    startTestSystem({
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: SECRET,
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
  let tokens: Record<string, string>;
  const call = (method: string, path: string, who: string, body?: unknown, contentType?: string) =>
    request(system!.url, method, path, tokens[who], body, { contentType, timeoutMs: 10_000 });

  beforeAll(async () => {
    port = await freePort(26390, 26399);
    tokens = await mintTokens(SECRET, { admin: { role: 'admin' }, system: { role: 'system' } });
  });
  afterAll(async () => {
    await system?.close();
    await kill(redis);
    await dropSchemas(DATABASE_URL, schema, `${schema}_rm`);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('started while Redis is down, runs the accepted import and the deadline once Redis answers, without a restart', async () => {
    // Before: an import accepted (its job waiting, the queue paused) and a deadline scheduled; then that Redis dies.
    redis = await startRedis(port);
    system = await start();
    const closesAt = new Date(Date.now() + 12_000).toISOString();
    expect(
      (await call('POST', '/v1/campaigns', 'admin', { year: 2023, ruleset: 'FS-2023', opensAt: new Date(Date.now() - 3_600_000).toISOString(), closesAt }))
        .status,
    ).toBe(201);
    expect((await call('PUT', `/v1/doctors/${GP}`, 'system', { specialty: 'medecine-generale', caisse: '441', department: '44' })).status).toBe(200);
    await system.runtime.jobs!.queue(QUEUES.imports).pause();
    const accepted = await call(
      'POST',
      '/v1/imports/measures?source=SNDS',
      'system',
      `rpps,year,indicator,numerator,denominator\n${GP},2023,V2_AAT,75,100\n`,
      'text/csv',
    );
    expect(accepted.status).toBe(202);
    await system.close();
    system = undefined;
    await kill(redis);
    redis = undefined;

    // Started with Redis down: jobs off, refused at once.
    system = await start();
    expect(system.runtime.redis.ok).toBe(false);
    const refused = await call(
      'POST',
      '/v1/imports/measures?source=SNDS',
      'system',
      `rpps,year,indicator,numerator,denominator\n${GP},2023,V2_PSE,80,100\n`,
      'text/csv',
    );
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 503, code: 'JOBS_UNAVAILABLE' });
    expect(refused.ms).toBeLessThan(ANSWER_BOUND_MS);
    const campaignEvents = async () => (await system!.runtime.store.readStream(streams.campaign(2023))).map((e) => e.type);
    expect(await campaignEvents()).not.toContain('CampaignClosed');

    // Redis comes up (empty): no restart of the API.
    redis = await startRedis(port);
    const measures = async () =>
      (await system!.runtime.store.readStream(streams.declaration(GP, 2023)))
        .filter((e) => e.type === 'MeasureRecorded')
        .map((e) => (e.data as Json).indicator as string);
    await until(async () => ((await measures()).includes('V2_AAT') ? true : undefined), 30_000, 'the accepted import run');
    const job = await until(
      async () => {
        const r = await call('GET', `/v1/jobs/${accepted.body.jobId}`, 'system');
        return r.body.state === 'completed' ? r.body : undefined;
      },
      10_000,
      'the accepted import completed',
    );
    expect(job.result).toMatchObject({ received: 1, appended: 1 });
    // New work is taken too, and the deadline closes the campaign, once.
    const later = await call(
      'POST',
      '/v1/imports/measures?source=SNDS',
      'system',
      `rpps,year,indicator,numerator,denominator\n${GP},2023,V2_PSE,80,100\n`,
      'text/csv',
    );
    expect(later.status).toBe(202);
    await until(async () => ((await measures()).includes('V2_PSE') ? true : undefined), 30_000, 'the import after Redis came');
    await until(async () => ((await campaignEvents()).includes('CampaignClosed') ? true : undefined), 30_000, 'CampaignClosed');
    expect((await campaignEvents()).filter((t) => t === 'CampaignClosed')).toHaveLength(1);
    expect((await measures()).sort()).toEqual(['V2_AAT', 'V2_PSE']);
    const health = await call('GET', '/health', 'system');
    expect(health.body.redis).toMatchObject({ ok: true, jobs: 'on' });
  }, 90_000);
});

describe('Redis stalled (SIGSTOP): the job endpoints answer 503 at once, and serve again after SIGCONT (issue 11.5)', () => {
  const schema = schemaName('redis_stall');
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-redis-stall-'));
  /** Tells an answer from a hang: the producer calls are bounded at 750 ms (PRODUCE_TIMEOUT_MS); before, 2 s and more. */
  const STALL_BOUND_MS = 1500;
  let port: number;
  let redis: ChildProcess | undefined;
  let system: StartedSystem | undefined;
  let tokens: Record<string, string>;
  const GP = withRppsCheckDigit('1400000003');
  const call = (method: string, path: string, who: string, body?: unknown, contentType?: string) =>
    request(system!.url, method, path, tokens[who], body, { contentType, timeoutMs: 10_000 });
  const signal = (name: NodeJS.Signals) => process.kill(redis!.pid!, name);
  const measures = async () => (await system!.runtime.store.readStream(streams.declaration(GP, 2023))).filter((e) => e.type === 'MeasureRecorded');

  beforeAll(async () => {
    port = await freePort(26400, 26409);
    redis = await startRedis(port);
    system = await startTestSystem({
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: SECRET,
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    tokens = await mintTokens(SECRET, { admin: { role: 'admin' }, system: { role: 'system' }, gp: { role: 'doctor', rpps: GP } });
    expect(
      (
        await call('POST', '/v1/campaigns', 'admin', {
          year: 2023,
          ruleset: 'FS-2023',
          opensAt: new Date(Date.now() - 3_600_000).toISOString(),
          closesAt: new Date(Date.now() + 3_600_000).toISOString(),
        })
      ).status,
    ).toBe(201);
    expect((await call('PUT', `/v1/doctors/${GP}`, 'system', { specialty: 'medecine-generale', caisse: '441', department: '44' })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await system?.close();
    await kill(redis);
    await dropSchemas(DATABASE_URL, schema, `${schema}_rm`);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 JOBS_UNAVAILABLE within the bound while Redis is stopped; after SIGCONT the import sent meanwhile runs once and a re-send is that job', async () => {
    expect((await call('GET', '/v1/jobs/nothing-yet', 'system')).status).toBe(404);
    const csv = `rpps,year,indicator,numerator,denominator\n${GP},2023,V2_AAT,75,100\n`;
    signal('SIGSTOP');
    let stalled: Awaited<ReturnType<typeof call>>[];
    try {
      stalled = [
        // The first call meets the stall (sent, unanswered: 750 ms); the next ones know it at once.
        await call('POST', '/v1/imports/measures?source=SNDS', 'system', csv, 'text/csv'),
        await call('GET', '/v1/jobs/nothing-yet', 'system'),
        await call('POST', '/v1/campaigns/2023/calculations', 'system', {}),
        await call('GET', '/v1/jobs/nothing-yet', 'system'),
      ];
      // Declarations need no job: they go on.
      const declared = await call('POST', `/v1/doctors/${GP}/campaigns/2023/declarations`, 'gp', {
        indicator: 'V2_CODAGE',
        value: { answer: true },
        attestation: true,
      });
      expect({ status: declared.status, fast: declared.ms < STALL_BOUND_MS }).toEqual({ status: 201, fast: true });
    } finally {
      signal('SIGCONT');
    }
    for (const r of stalled) {
      expect({ status: r.status, code: r.body.code, withinBound: r.ms < STALL_BOUND_MS }).toEqual({ status: 503, code: 'JOBS_UNAVAILABLE', withinBound: true });
    }
    // Back without a restart of anything.
    await until(async () => ((await call('GET', '/v1/jobs/nothing-yet', 'system')).status === 404 ? true : undefined), 10_000, 'jobs back after SIGCONT');
    // The stalled Redis ran the enqueue sent to it: the extract is imported (its file kept for it), once.
    await until(async () => ((await measures()).length === 1 ? true : undefined), 30_000, 'the import sent during the stall');
    const again = await call('POST', '/v1/imports/measures?source=SNDS', 'system', csv, 'text/csv');
    expect(again.status).toBe(202);
    const done = await until(
      async () => {
        const r = await call('GET', `/v1/jobs/${again.body.jobId}`, 'system');
        return r.body.state === 'completed' ? r.body : undefined;
      },
      15_000,
      'the re-sent extract: the same job, completed',
    );
    expect(done.result).toMatchObject({ received: 1, appended: 1 });
    expect(await measures()).toHaveLength(1);
    // New work is taken.
    const calc = await call('POST', '/v1/campaigns/2023/calculations', 'system', {});
    expect(calc.status).toBe(202);
  }, 90_000);
});
