import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

// Drives the built system (`npm test` builds first) as separate processes, as `npm start` runs it.
const MAIN = join(__dirname, '..', 'dist', 'apps', 'api', 'src', 'main.js');
const PROJECTOR = join(__dirname, '..', 'dist', 'apps', 'projector', 'src', 'main.js');
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
function start(script: string, env: Record<string, string>, waitFor: RegExp | null = /API\s+(http:\/\/localhost:\d+)/): Promise<Running> {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // eslint-disable-next-line no-control-regex -- strips the colours of Nest's logger
  const output = () => out.replace(/\x1b\[[0-9;]*m/g, '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 30 s:\n${output()}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = waitFor ? waitFor.exec(output()) : null;
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] ?? '', output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
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
async function untilReady(url: string, ms = 15_000): Promise<HealthBody> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { body } = await health(url);
    if (body.ready) return body;
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
        store: { kind: 'embedded', ok: true, headPosition: '21' },
        readModels: {
          ok: true,
          projections: [
            { name: 'audit_trail', version: 1, checkpoint: '21', lagEvents: 0, behind: false },
            { name: 'entitlement', version: 2, checkpoint: '21', lagEvents: 0, behind: false },
            { name: 'registry', version: 1, checkpoint: '21', lagEvents: 0, behind: false },
            { name: 'worklists', version: 1, checkpoint: '21', lagEvents: 0, behind: false },
          ],
          reactors: [{ name: 'deadline_scheduler', version: 1, checkpoint: '21', lagEvents: 0, behind: false }],
        },
      });
      expect(first.output()).toMatch(/seeded 21 events/);
      expect((await fetch(`${first.url}/docs`)).status).toBe(200);
      const metrics = await (await fetch(`${first.url}/health/metrics`)).text();
      expect(metrics).toMatch(/^forfait_store_head_position 21$/m);
      expect(metrics).toMatch(/^forfait_projection_lag_events\{projection="entitlement"\} 0$/m);
      expect(metrics).toMatch(/^forfait_ready 1$/m);
      const missing = await fetch(`${first.url}/v1/nothing-here`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    } finally {
      expect(await stop(first)).toBe(0);
    }

    const second = await start(MAIN, { DATA_DIR: dataDir, CLOCK: '2024-01-21T10:00:00+01:00' });
    try {
      const body = await untilReady(second.url);
      expect(body.store.headPosition).toBe('21');
      expect(second.output()).not.toMatch(/seeded/);
    } finally {
      await stop(second);
    }
  });

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
  });

  it('refuses to start on a bad value, naming the variable', async () => {
    const refused = await start(MAIN, { PORT: 'eighty', STORE: 'mongo' }, null);
    expect(refused.child.exitCode).toBe(1);
    expect(refused.output()).toMatch(/PORT: must be an integer port number/);
    expect(refused.output()).toMatch(/STORE: must be one of embedded, postgres, eventstore/);
  });

  it('refuses the development secret in production', async () => {
    const refused = await start(MAIN, { NODE_ENV: 'production' }, null);
    expect(refused.child.exitCode).toBe(1);
    expect(refused.output()).toMatch(/AUTH_JWT_SECRET/);
  });
});

describe('STORE=postgres with the projector in its own process', () => {
  const schema = `e2e_${process.pid}_${randomBytes(3).toString('hex')}`;
  afterAll(async () => {
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}_rm" CASCADE`);
    await pg.end();
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
      expect(before.body.store).toMatchObject({ kind: 'postgres', ok: true, headPosition: '21' });
      expect(before.body.ready).toBe(false);
      projector = await start(PROJECTOR, env, /projecting audit_trail/);
      const after = await untilReady(api.url);
      expect(after.readModels.projections).toEqual([
        { name: 'audit_trail', version: 1, checkpoint: '21', lagEvents: 0, behind: false },
        { name: 'entitlement', version: 2, checkpoint: '21', lagEvents: 0, behind: false },
        { name: 'registry', version: 1, checkpoint: '21', lagEvents: 0, behind: false },
        { name: 'worklists', version: 1, checkpoint: '21', lagEvents: 0, behind: false },
      ]);
    } finally {
      if (projector) expect(await stop(projector)).toBe(0);
      await stop(api);
    }
  });
});
