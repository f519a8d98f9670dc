import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { dropSchemas } from './support/servers';

// Drives the built system (`npm test` builds first) as separate processes, as `npm start` runs it.
const MAIN = join(__dirname, '..', 'dist', 'apps', 'api', 'src', 'main.js');
const PROJECTOR = join(__dirname, '..', 'dist', 'apps', 'projector', 'src', 'main.js');
const CLI = join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
const START = join(__dirname, '..', 'scripts', 'start.mjs');
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** What the tests read of /health (the full shape is HealthReport in apps/api). */
interface HealthBody {
  ready: boolean;
  store: { headPosition?: string };
  readModels: { projections: unknown[] };
  [key: string]: unknown;
}

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts a process and waits (bounded) for the line that prints the API's address. */
function start(script: string, env: Record<string, string>, waitFor: RegExp | null = /API\s+(http:\/\/localhost:\d+)/, cwd?: string): Promise<Running> {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
  let out = '';
  // eslint-disable-next-line no-control-regex -- strips the colours of Nest's logger
  const output = () => out.replace(/\x1b\[[0-9;]*m/g, '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 90 s:\n${output()}`)), 90_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = waitFor ? waitFor.exec(output()) : null;
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] ?? '', output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (waitFor) reject(new Error(`exited with ${code} before starting:\n${output()}`));
      else resolve({ child, url: '', output });
    });
  });
}

function stop(r: Running): Promise<number | null> {
  return new Promise((resolve) => {
    if (r.child.exitCode !== null) return resolve(r.child.exitCode);
    r.child.once('exit', (code) => resolve(code));
    r.child.kill('SIGTERM');
  });
}

async function health(url: string): Promise<{ status: number; body: HealthBody }> {
  const res = await fetch(`${url}/health`);
  return { status: res.status, body: (await res.json()) as HealthBody };
}

/** Polls /health until the read models are caught up, at most `ms`. */
async function untilReady(url: string, ms = 30_000): Promise<HealthBody> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { body } = await health(url);
    // Ready: the read models caught up. The reactors (the log sealer, the deadline scheduler) are
    // not part of readiness: waited for too, so the report below is the settled one.
    const reactors = (body.readModels as { reactors?: { lagEvents: number }[] } | undefined)?.reactors ?? [];
    if (body.ready && reactors.every((r) => r.lagEvents === 0)) return body;
    if (Date.now() > deadline) throw new Error(`not ready after ${ms} ms: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('npm start on the embedded default (no PostgreSQL needed)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-e2e-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('answers /health, seeds the demo campaign once, and keeps it across a restart', async () => {
    // Inside the campaign: the demo's deadline (11 Feb 2024) is ahead, so no closing job fires.
    const first = await start(MAIN, { DATA_DIR: dataDir, CLOCK: '2024-01-20T10:00:00+01:00' });
    try {
      const body = await untilReady(first.url);
      expect(body).toMatchObject({
        live: true,
        ready: true,
        store: { kind: 'embedded', ok: true, headPosition: '25' },
        readModels: {
          ok: true,
          projections: [
            { name: 'audit_trail', version: 3, checkpoint: '25', lagEvents: 0, behind: false },
            { name: 'campaign_deadlines', version: 1, checkpoint: '25', lagEvents: 0, behind: false },
            { name: 'entitlement', version: 5, checkpoint: '25', lagEvents: 0, behind: false },
            { name: 'registry', version: 2, checkpoint: '25', lagEvents: 0, behind: false },
            { name: 'worklists', version: 1, checkpoint: '25', lagEvents: 0, behind: false },
          ],
          reactors: [
            { name: 'deadline_scheduler', version: 1, checkpoint: '25', lagEvents: 0, behind: false },
            { name: 'log-sealer', version: 1, checkpoint: '25', lagEvents: 0, behind: false },
          ],
        },
      });
      expect(first.output()).toMatch(/seeded 25 events/);
      expect((await fetch(`${first.url}/docs`)).status).toBe(200);
      const metrics = await (await fetch(`${first.url}/health/metrics`)).text();
      expect(metrics).toMatch(/^forfait_store_head_position 25$/m);
      expect(metrics).toMatch(/^forfait_projection_lag_events\{projection="entitlement"\} 0$/m);
      expect(metrics).toMatch(/^forfait_ready 1$/m);
      const missing = await fetch(`${first.url}/v1/nothing-here`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ statusCode: 404, code: 'NOT_FOUND', message: expect.stringMatching(/\/docs/) });
    } finally {
      expect(await stop(first)).toBe(0);
    }

    const second = await start(MAIN, { DATA_DIR: dataDir, CLOCK: '2024-01-21T10:00:00+01:00' });
    try {
      const body = await untilReady(second.url);
      expect(body.store.headPosition).toBe('25');
      expect(second.output()).not.toMatch(/seeded \d+ events/);
    } finally {
      await stop(second);
    }
  }, 200_000);

  it('runs without Redis, saying that jobs are off', async () => {
    const running = await start(MAIN, { DATA_DIR: mkdtempSync(join(tmpdir(), 'forfait-e2e-')), REDIS_URL: 'redis://127.0.0.1:1', SEED_DEMO: 'false' });
    try {
      const { status, body } = await health(running.url);
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'degraded', live: true, redis: { ok: false, jobs: 'off' } });
      expect(running.output()).toMatch(/jobs\s+OFF: Redis unreachable at redis:\/\/127\.0\.0\.1:1/);
    } finally {
      await stop(running);
    }
  }, 120_000);

  it('refuses to start on a bad value, naming the variable', async () => {
    const refused = await start(MAIN, { PORT: 'eighty', STORE: 'mongo' }, null);
    expect(refused.child.exitCode).toBe(1);
    expect(refused.output()).toMatch(/PORT: must be an integer port number/);
    expect(refused.output()).toMatch(/STORE: must be one of embedded, postgres, eventstore/);
  });

  it('refuses a port already in use in one sentence (the walk-through’s second npm start)', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'forfait-e2e-'));
    try {
      const refused = await start(
        MAIN,
        { DATA_DIR: dir, PORT: String((busy.address() as AddressInfo).port), REDIS_URL: 'redis://127.0.0.1:1', SEED_DEMO: 'false' },
        null,
      );
      expect(refused.child.exitCode).toBe(1);
      expect(refused.output()).toMatch(
        /^not started: port \d+ on 127\.0\.0\.1 is in use \(another npm start\? stop it with Ctrl-C, or choose another PORT\)$/m,
      );
      expect(refused.output()).not.toMatch(/\n\s+at /);
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses the development secret in production', async () => {
    const refused = await start(MAIN, { NODE_ENV: 'production' }, null);
    expect(refused.child.exitCode).toBe(1);
    expect(refused.output()).toMatch(/AUTH_JWT_SECRET/);
  });
});

describe('the demo and its clock (issue 18.1, 18.3)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'forfait-demo-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  const token = (clock: string, args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, 'token', ...args], { cwd, env: { PATH: process.env.PATH ?? '', CLOCK: clock }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    return r.stdout.trim();
  };
  const get = async (url: string, bearer: string) => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('without DATA_DIR, each CLOCK gets a demo store of its own, seeded with what had happened by then, that the CLI finds with the same CLOCK', async () => {
    const january = '2024-01-20T10:00:00+01:00';
    const february = '2024-02-20T10:00:00+01:00';
    const first = await start(MAIN, { CLOCK: january }, undefined, cwd);
    try {
      await untilReady(first.url);
      expect(first.output()).toMatch(/demo-2024-01-20T100000\+0100, the demo data dir of this CLOCK/);
      expect(first.output()).toMatch(/seeded 25 events for CLOCK=2024-01-20T10:00:00\+01:00 .*not yet known: CampaignDeadlineExtended of 2024-01-31/);
      const doc = token(january, ['--role', 'doctor', '--rpps', '10000000017']);
      // Nothing that happened after the clock is known on 20 January (issue 18.8): every event of the
      // three doctors' histories took effect, and was recorded, by then.
      const auditor = token(january, ['--role', 'auditor']);
      for (const rpps of ['10000000017', '10000000025', '10000000033']) {
        const { events } = (await get(`${first.url}/v1/doctors/${rpps}/history?year=2023`, auditor)).body as {
          events: { type: string; effectiveAt: string; recordedAt: string }[];
        };
        expect(events.length).toBeGreaterThan(0);
        expect(events.filter((e) => Date.parse(e.effectiveAt) > Date.parse(january) || Date.parse(e.recordedAt) > Date.parse(january))).toEqual([]);
      }
      const campaign = await get(`${first.url}/v1/campaigns/2023`, doc);
      expect(campaign).toMatchObject({ status: 200, body: { status: 'open', closesAt: '2024-02-04T23:59:59.999+01:00' } });
      expect((await get(`${first.url}/v1/doctors/10000000017/campaigns/2023/entitlement`, doc)).status).toBe(200);
      const declared = await fetch(`${first.url}/v1/doctors/10000000017/campaigns/2023/declarations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${doc}`, 'content-type': 'application/json' },
        body: JSON.stringify({ indicator: 'V2_VIDEO', value: { answer: true }, attestation: true }),
      });
      expect(declared.status).toBe(201);
      // The lists the spec names are loaded by amendments with their reason and reference.
      const lists = (campaign.body.amendments as { changes: { list?: string }; reason: string; reference: string }[]).map((a) => a.changes.list);
      expect(lists).toEqual(expect.arrayContaining(['segurSolutions', 'hasLap', 'sasDepartements', 'sasSoftware']));
      // The pending justificatif's file is stored under its hash, with its size.
      const agent = token(january, ['--role', 'agent', '--caisse', '751']);
      const pending = await get(`${first.url}/v1/justificatifs?status=pending`, agent);
      expect(pending.status).toBe(200);
      const [j] = (pending.body.items ?? pending.body.justificatifs ?? Object.values(pending.body).find(Array.isArray)) as { sha256: string; size: number }[];
      const file = join(cwd, 'var', 'demo-2024-01-20T100000+0100', 'justificatifs', j!.sha256.slice(0, 2), j!.sha256);
      expect(statSync(file).size).toBe(j!.size);
      expect(readFileSync(file).subarray(0, 5).toString()).toBe('%PDF-');
      // Its hash is that of its bytes (it was the empty file's for a 48 213-byte size: issue 18.8).
      expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(j!.sha256);

      // A second start on the same data dir, at once: refused in one sentence, before any build.
      const distBefore = statSync(MAIN).mtimeMs;
      const second = await start(START, { CLOCK: january }, null, cwd);
      expect(second.child.exitCode).not.toBe(0);
      expect(second.output()).toMatch(/^not started: the embedded store under .* is in use by process \d+/);
      expect(second.output()).not.toMatch(/\n\s+at /);
      expect(statSync(MAIN).mtimeMs).toBe(distBefore);
      const third = await start(MAIN, { CLOCK: january }, null, cwd);
      expect(third.child.exitCode).toBe(1);
      expect(third.output().trim()).toMatch(
        /^not started: the embedded store under .* is in use by process \d+ \(npm start\?\): stop it, or go through its HTTP API$/,
      );
    } finally {
      expect(await stop(first)).toBe(0);
    }

    const later = await start(MAIN, { CLOCK: february }, undefined, cwd);
    try {
      await untilReady(later.url);
      expect(later.output()).toMatch(/seeded 26 events for CLOCK=2024-02-20T10:00:00\+01:00/);
      const doc = token(february, ['--role', 'doctor', '--rpps', '10000000017']);
      expect(await get(`${later.url}/v1/campaigns/2023`, doc)).toMatchObject({ status: 200, body: { closesAt: '2024-02-11T23:59:59.999+01:00' } });
      expect((await get(`${later.url}/v1/doctors/10000000017/campaigns/2023/entitlement`, doc)).status).toBe(200);
    } finally {
      expect(await stop(later)).toBe(0);
    }

    // Back to January: its own store, as it was left.
    const again = await start(MAIN, { CLOCK: january }, undefined, cwd);
    try {
      await untilReady(again.url);
      expect(again.output()).not.toMatch(/seeded \d+ events/);
      expect(again.output()).toMatch(/the demo store seeded for CLOCK=2024-01-20T10:00:00\+01:00/);
      // Its own CLOCK again: it goes on from the declaration recorded in the first session, never before it.
      const resumed = /clock\s+started at 2024-01-20T10:00:00\+01:00, resumed from (\S+) \(the last instant this demo store recorded\)/.exec(again.output());
      expect(resumed).not.toBeNull();
      expect(Date.parse((await health(again.url)).body.now as string)).toBeGreaterThanOrEqual(Date.parse(resumed![1]!));
      const doc = token(january, ['--role', 'doctor', '--rpps', '10000000017']);
      expect(await get(`${again.url}/v1/campaigns/2023`, doc)).toMatchObject({ status: 200, body: { status: 'open' } });
    } finally {
      expect(await stop(again)).toBe(0);
    }
    expect(existsSync(join(cwd, 'var', 'demo-2024-02-20T100000+0100', 'store-id'))).toBe(true);
  }, 300_000);

  it('refuses a demo store seeded for another clock when that clock is before what it recorded', async () => {
    const dataDir = join(cwd, 'explicit');
    const first = await start(MAIN, { DATA_DIR: dataDir, CLOCK: '2024-02-20T10:00:00+01:00' });
    await untilReady(first.url);
    expect(await stop(first)).toBe(0);
    const back = await start(MAIN, { DATA_DIR: dataDir, CLOCK: '2024-01-20T10:00:00+01:00' }, null);
    expect(back.child.exitCode).toBe(1);
    expect(back.output().trim()).toMatch(
      /^not started: this demo store \(.*\) was seeded for CLOCK=2024-02-20T10:00:00\+01:00 .* Start it with CLOCK=2024-02-20T10:00:00\+01:00, or without DATA_DIR/,
    );
    const forward = await start(MAIN, { DATA_DIR: dataDir, CLOCK: '2024-03-01T10:00:00+01:00' });
    await untilReady(forward.url);
    expect(await stop(forward)).toBe(0);
  }, 150_000);
});

describe('STORE=postgres with the projector in its own process', () => {
  const schema = `e2e_${process.pid}_${randomBytes(3).toString('hex')}`;
  afterAll(async () => {
    await dropSchemas(DATABASE_URL, schema, `${schema}_rm`);
  });

  it('serves the API while a separate projector process catches the read models up', async () => {
    const env = {
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      AUTH_JWT_SECRET: 'e2e-secret-e2e-secret-e2e-secret-0123456789',
      SEED_DEMO: 'true',
      RUN_PROJECTOR: 'false',
      CLOCK: '2024-01-20T10:00:00+01:00',
    };
    const api = await start(MAIN, env);
    let projector: Running | undefined;
    try {
      const before = await health(api.url);
      expect(before.body.store).toMatchObject({ kind: 'postgres', ok: true, headPosition: '25' });
      expect(before.body.ready).toBe(false);
      projector = await start(PROJECTOR, env, /projecting audit_trail/);
      const after = await untilReady(api.url);
      expect(after.readModels.projections).toEqual([
        { name: 'audit_trail', version: 3, checkpoint: '25', lagEvents: 0, behind: false },
        { name: 'campaign_deadlines', version: 1, checkpoint: '25', lagEvents: 0, behind: false },
        { name: 'entitlement', version: 5, checkpoint: '25', lagEvents: 0, behind: false },
        { name: 'registry', version: 2, checkpoint: '25', lagEvents: 0, behind: false },
        { name: 'worklists', version: 1, checkpoint: '25', lagEvents: 0, behind: false },
      ]);
    } finally {
      if (projector) expect(await stop(projector)).toBe(0);
      await stop(api);
    }
  }, 200_000);
});
