import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { PGlite } from '@electric-sql/pglite';
import { DEV_JWT_SECRET, loadConfig } from '@forfait/platform';
import { startSystem } from '../apps/api/src/bootstrap';

// The built CLI (`npm test` builds first), run as a user runs it.
const CLI = join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** The CLI run without blocking this process (where the system under test runs its workers). */
const cliAsync = (args: string[], env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });

describe('npm run cli', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('lists its commands, and each has --help', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['token', 'verify', 'replay', 'rebuild', 'import']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
      expect(cli([name, '--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^Usage: npm run cli -- ${name}`)) });
    }
    expect(cli(['frobnicate'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown command "frobnicate"/) });
  });

  it('token: signs a development token that the API secret verifies, with the role and scope claims', async () => {
    const r = cli(['token', '--role', 'agent', '--caisse', '441']);
    expect(r.code).toBe(0);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(DEV_JWT_SECRET));
    expect(payload).toMatchObject({ role: 'agent', caisse: '441', sub: 'agent-441' });
    expect(cli(['token', '--role', 'doctor', '--rpps', '10000000018'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/Luhn/) });
    expect(cli(['token', '--role', 'admin'], { NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(40) })).toMatchObject({ code: 1, stderr: expect.stringMatching(/refused in production/) });
  });

  it('rebuild and import run as jobs of the running system, with progress, while it serves', async () => {
    const env = { DATA_DIR: join(dataDir, 'jobs'), CLOCK: '2024-01-20T10:00:00+01:00' };
    const system = await startSystem(loadConfig({ ...env, PORT: '0', SEED_DEMO: 'true' }), { logger: false });
    try {
      const rebuild = await cliAsync(['rebuild', 'entitlement'], env);
      expect(rebuild.code).toBe(0);
      expect(rebuild.stdout).toMatch(/^rebuilt entitlement up to position 21 in [\d.]+ s, swapped in$/m);
      expect(rebuild.stderr).toMatch(/\[#{30}\] 100% 21\/21 done entitlement/);
      expect(await cliAsync(['rebuild', 'nope'], env)).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown projection\(s\) nope/) });

      const csv = join(dataDir, 'extract.csv');
      writeFileSync(csv, ['rpps,year,indicator,numerator,denominator', '10000000017,2023,V2_PSE,85,100', '10000000017,2023,V2_PSE,x,100', '10000000025,2023,V2_AAT,71,100'].join('\n'));
      const first = await cliAsync(['import', csv, '--source', 'SNDS'], env);
      expect(first.code).toBe(3);
      expect(first.stdout).toMatch(/^3 data lines: 2 appended, 0 already imported, 1 rejected$/m);
      expect(first.stdout).toMatch(/^ {2}line 3: VALIDATION_FAILED /m);
      const again = await cliAsync(['import', csv, '--source', 'SNDS'], env);
      expect(again.stdout).toMatch(/^3 data lines: 2 appended, 0 already imported, 1 rejected$/m); // the same job, not run twice
      expect(await system.runtime.store.headPosition()).toBe(23n);
    } finally {
      await system.close();
    }
  });

  it('replay and verify work on the embedded store, refuse it while the server holds it, and name a tampered link', async () => {
    const env = { DATA_DIR: dataDir };
    const system = await startSystem(loadConfig({ ...env, PORT: '0', SEED_DEMO: 'true', CLOCK: '2024-01-20T10:00:00+01:00' }), { logger: false });
    try {
      expect(cli(['verify'], env)).toMatchObject({ code: 1, stderr: expect.stringMatching(/in use by process \d+/) });
    } finally {
      await system.close();
    }

    const replay = cli(['replay', '10000000017', '2023', '--known-at', '2030-01-01T00:00:00Z'], env);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/Volet 1 \(prérequis\) : atteint, 280 points/);
    expect(replay.stdout).toMatch(/✔ V2_AAT +34,888 +taux 75 % ≥ objectif 70 %/);
    expect(replay.stdout).toMatch(/Total : 661,288 points \(91919\/139 exact\) = 4\s629,01\s€/);
    const json = JSON.parse(cli(['replay', '10000000017', '2023', '--json'], env).stdout);
    expect(json).toMatchObject({ rpps: '10000000017', totalPoints: 661.288, amountCents: 462_901 });

    expect(cli(['verify'], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^OK: 21 events in 7 streams/) });
    // Alter one stored event behind the system's back.
    const db = await PGlite.create(join(dataDir, 'pglite'));
    const { rows } = await db.query<{ event_id: string }>(`SELECT event_id FROM es_events WHERE stream_id = 'declaration-10000000017-2023' AND revision = 3`);
    await db.query(`UPDATE es_events SET data = jsonb_set(data, '{measure,numerator}', '99') WHERE event_id = $1`, [rows[0]!.event_id]);
    await db.close();
    const broken = cli(['verify'], env);
    expect(broken.code).toBe(2);
    expect(broken.stdout).toMatch(new RegExp(`BROKEN: hash-mismatch at declaration-10000000017-2023 revision 3 \\(event ${rows[0]!.event_id}`));
  });
});
