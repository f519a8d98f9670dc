import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { PGlite } from '@electric-sql/pglite';
import { DEV_JWT_SECRET, Jobs, QUEUES, loadConfig } from '@forfait/platform';
import { PgDatabase, parseSignerKey, vkeyOf } from '@forfait/store';
import { startSystem } from '../apps/api/src/bootstrap';
import { signDevToken } from '../apps/api/src/auth/token-verifier';
import { CLI, cliAsync, freePort, kill, startRedis, until } from './support/servers';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECRET = 'cli-e2e-secret-cli-e2e-secret-cli-e2e-0123';
const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('npm run cli', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('lists its commands, and each has --help', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['token', 'verify', 'replay', 'rebuild', 'import', 'log-key']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
      expect(cli([name, '--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^Usage: npm run cli -- ${name}`)) });
    }
    expect(cli(['frobnicate'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown command "frobnicate"/) });
  });

  it('log-key: writes a signing key (0600, never over a file) that the configuration accepts as LOG_SIGNING_KEY, and prints its verifier key', () => {
    const file = join(dataDir, 'log-key');
    const made = cli(['log-key', 'forfait-structure.cpam441.example/log', file]);
    expect(made).toMatchObject({ code: 0, stdout: expect.stringMatching(/^forfait-structure\.cpam441\.example\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\n$/) });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file, 'utf8').trim();
    expect(key).toMatch(/^PRIVATE\+KEY\+forfait-structure\.cpam441\.example\/log\+/);
    expect(vkeyOf(parseSignerKey(key))).toBe(made.stdout.trim());
    expect(loadConfig({ DATA_DIR: dataDir, LOG_SIGNING_KEY: key }).log.signingKey).toBe(key);
    expect(cli(['log-key', 'other', file])).toMatchObject({ code: 1 });
    expect(readFileSync(file, 'utf8').trim()).toBe(key);
  });

  it('token: signs a development token that the API secret verifies, with the role and scope claims', async () => {
    const env = { DATA_DIR: join(dataDir, 'token') };
    const r = cli(['token', '--role', 'agent', '--caisse', '441'], env);
    expect(r.code).toBe(0);
    // The secret generated for this data dir, the one `npm start` on it uses; never the published one.
    const secret = readFileSync(join(dataDir, 'token', 'dev-jwt-secret'), 'utf8').trim();
    expect(secret).not.toBe(DEV_JWT_SECRET);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(secret));
    expect(payload).toMatchObject({ role: 'agent', caisse: '441', sub: 'agent-441' });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600);
    await expect(jwtVerify(r.stdout.trim(), new TextEncoder().encode(DEV_JWT_SECRET))).rejects.toThrow();
    expect(cli(['token', '--role', 'admin', '--expires', '8h'], env)).toMatchObject({ code: 1, stderr: expect.stringMatching(/AUTH_MAX_TOKEN_SECONDS=3600/) });
    expect(cli(['token', '--role', 'doctor', '--rpps', '10000000018'], env)).toMatchObject({ code: 1, stderr: expect.stringMatching(/Luhn/) });
    expect(cli(['token', '--role', 'admin'], { NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(40) })).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/refused in production/),
    });
  });

  it('rebuild with no system running says so at once and leaves nothing queued (issue 18.4)', async () => {
    // A data dir with its store's id (as its first start gives it: hence its queues' prefix), no server on it.
    const env = { DATA_DIR: join(dataDir, 'no-server') };
    const prefix = Jobs.prefixFor(loadConfig(env));
    const started = Date.now();
    const r = await cliAsync(['rebuild'], env);
    expect(r).toMatchObject({ code: 1, stderr: expect.stringMatching(/no worker is running for this store's jobs/) });
    expect(r.stderr).toMatch(/the job was taken back, nothing is left queued/);
    expect(Date.now() - started).toBeLessThan(30_000); // it used to wait 10 minutes: a bound against that, not a timing target
    // The same prefix as the CLI's (the store's id, read back), and no job of any state under it.
    expect(Jobs.prefixFor(loadConfig(env), { create: false })).toBe(prefix);
    const jobs = new Jobs(loadConfig(env).redisUrl, prefix);
    try {
      expect(await jobs.queue(QUEUES.rebuilds).getJobCounts()).toEqual({
        active: 0,
        completed: 0,
        delayed: 0,
        failed: 0,
        paused: 0,
        prioritized: 0,
        waiting: 0,
        'waiting-children': 0,
      });
    } finally {
      await jobs.close();
    }
  });

  it('rebuild and import run as jobs of the running system, with progress, while it serves', async () => {
    const env = { DATA_DIR: join(dataDir, 'jobs'), CLOCK: '2024-01-20T10:00:00+01:00' };
    const system = await startSystem(loadConfig({ ...env, PORT: '0', SEED_DEMO: 'true' }), { logger: false });
    try {
      const rebuild = await cliAsync(['rebuild', 'entitlement'], env);
      expect(rebuild.code).toBe(0);
      expect(rebuild.stdout).toMatch(/^rebuilt entitlement up to position 25 in [\d.]+ s, swapped in$/m);
      expect(rebuild.stderr).toMatch(/\[#{30}\] 100% 25\/25 done entitlement/);
      expect(await cliAsync(['rebuild', 'nope'], env)).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown projection\(s\) nope/) });

      const csv = join(dataDir, 'extract.csv');
      writeFileSync(
        csv,
        ['rpps,year,indicator,numerator,denominator', '10000000017,2023,V2_PSE,85,100', '10000000017,2023,V2_PSE,x,100', '10000000025,2023,V2_AAT,71,100'].join(
          '\n',
        ),
      );
      const first = await cliAsync(['import', csv, '--source', 'SNDS'], env);
      expect(first.code).toBe(3);
      expect(first.stdout).toMatch(/^3 data lines: 2 appended, 0 already imported, 1 rejected$/m);
      expect(first.stdout).toMatch(/^ {2}line 3: VALIDATION_FAILED /m);
      // The text "x" is said to be no integer, not to be "less than 0" (issue 18.5).
      expect(first.stdout).toMatch(/^ {2}line 3: .*numerator must be an integer/m);
      expect(first.stdout).not.toMatch(/must not be less than/);
      const again = await cliAsync(['import', csv, '--source', 'SNDS'], env);
      expect(again.stdout).toMatch(/^3 data lines: 2 appended, 0 already imported, 1 rejected$/m); // the same job, not run twice
      expect(await system.runtime.store.headPosition()).toBe(27n);
      // The README's extract (docs/examples/extract.csv), as the walk-through imports it: every line
      // valid; the two lines the file above already brought (same source, same content) append nothing.
      const readme = await cliAsync(['import', join(__dirname, '..', 'docs', 'examples', 'extract.csv'), '--source', 'SNDS'], env);
      expect(readme.code).toBe(0);
      expect(readme.stdout).toMatch(/^3 data lines: 1 appended, 2 already imported, 0 rejected$/m);
      expect(await system.runtime.store.headPosition()).toBe(28n);
      // In the journal of accepted work, like the API's imports (the API's worker records it beside the embedded store).
      const jobId = /^job (\S+) queued$/m.exec(first.stdout)![1]!;
      const { rows } = await system.runtime.readDb.query<{ accepted_by: string; done: boolean }>(
        'SELECT accepted_by, done_at IS NOT NULL AS done FROM rm.accepted_jobs WHERE job_id = $1',
        [jobId],
      );
      expect(rows).toEqual([{ accepted_by: 'cli', done: true }]);
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
    // The statement is read by French users: Paris times, the specialty by its name, no ISO instants.
    expect(replay.stdout).toMatch(/connu au 01\/01\/2030 01:00 \(heure de Paris\)/);
    expect(replay.stdout).toMatch(/Profil : médecine générale, CPAM de la Loire-Atlantique \(441\), département 44/);
    expect(replay.stdout).toMatch(/Fenêtre de déclaration : du 11\/12\/2023 00:00 au 04\/02\/2024 23:59 \(heure de Paris\)/);
    expect(replay.stdout).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    expect(replay.stdout).toMatch(/Volet 1 \(prérequis\) : atteint, 280 points/);
    expect(replay.stdout).toMatch(/✔ V2_AAT +34,888 +taux 75 % ≥ objectif 70 %/);
    expect(replay.stdout).toMatch(/Total : 661,288 points \(91919\/139 exact\) = 4\s629,01\s€/);
    const json = JSON.parse(cli(['replay', '10000000017', '2023', '--json'], env).stdout);
    expect(json).toMatchObject({ rpps: '10000000017', totalPoints: 661.288, amountCents: 462_901 });

    expect(cli(['verify'], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^OK: 25 events in 7 streams/) });
    // Alter one stored event behind the system's back.
    const db = await PGlite.create(join(dataDir, 'pglite'));
    const { rows } = await db.query<{ event_id: string }>(`SELECT event_id FROM es_events WHERE stream_id = 'declaration-10000000017-2023' AND revision = 3`);
    await db.query(`UPDATE es_events SET data = jsonb_set(data, '{measure,numerator}', '99') WHERE event_id = $1`, [rows[0]!.event_id]);
    await db.close();
    const broken = cli(['verify'], env);
    expect(broken.code).toBe(2);
    expect(broken.stdout).toMatch(new RegExp(`BROKEN: hash-mismatch at declaration-10000000017-2023 revision 3 \\(event ${rows[0]!.event_id}`));
  }, 90_000); // several CLI processes in a row: a bound against a hang, not a timing target

  it('import on PostgreSQL is in the journal of accepted work before it is queued: the CLI killed and Redis restarted empty, the reconciler still finishes it once (issue 11 leftover)', async () => {
    const schema = `cli_${process.pid}_${randomBytes(3).toString('hex')}`;
    const port = await freePort(25460, 25469);
    let redis = await startRedis(port);
    const env = {
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      DATA_DIR: join(dataDir, 'pg'),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      AUTH_JWT_SECRET: SECRET,
      CLOCK: '2024-01-20T10:00:00+01:00',
    };
    const system = await startSystem(loadConfig({ ...env, PORT: '0', SEED_DEMO: 'false' }), { logger: false });
    const db = system.runtime.readDb;
    let cliProcess: ReturnType<typeof spawn> | undefined;
    try {
      const admin = await signDevToken(SECRET, { role: 'admin' });
      const sys = await signDevToken(SECRET, { role: 'system' });
      const send = async (method: string, path: string, token: string, body: unknown) =>
        (
          await fetch(`${system.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).status;
      expect(
        await send('POST', '/v1/campaigns', admin, {
          year: 2023,
          ruleset: 'FS-2023',
          opensAt: '2023-12-11T00:00:00+01:00',
          closesAt: '2024-02-11T23:59:59.999+01:00',
        }),
      ).toBe(201);
      expect(await send('PUT', '/v1/doctors/10000000017', sys, { specialty: 'medecine-generale', caisse: '441', department: '44' })).toBe(200);
      const csv = join(dataDir, 'pg-extract.csv');
      writeFileSync(csv, ['rpps,year,indicator,numerator,denominator', '10000000017,2023,V2_PSE,85,100', '10000000017,2023,V2_AAT,71,100'].join('\n'));
      const head = await system.runtime.store.headPosition();

      // The workers hold off (the queue paused): the CLI queues the job and waits; then it dies.
      await system.runtime.jobs!.queue(QUEUES.imports).pause();
      let output = '';
      const child = spawn(process.execPath, [CLI, 'import', csv, '--source', 'SNDS'], { env: { PATH: process.env.PATH ?? '', ...env } });
      cliProcess = child;
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      const jobId = await until(() => /^job (\S+) queued$/m.exec(output)?.[1], 30_000, 'the CLI queueing the import');
      const row = async () =>
        (
          await db.query<{ accepted_by: string; done: boolean; outcome: Record<string, unknown> | null }>(
            `SELECT accepted_by, done_at IS NOT NULL AS done, outcome FROM ${schema}_rm.accepted_jobs WHERE job_id = $1`,
            [jobId],
          )
        ).rows[0];
      expect(await row()).toMatchObject({ accepted_by: 'cli', done: false });
      await kill(child);
      // Redis restarted empty: the job, and the pause, are gone.
      await kill(redis);
      redis = await startRedis(port);

      // On reconnection the reconciler re-enqueues it from the journal; it runs once, its file kept until then.
      const done = await until(async () => ((await row())?.done ? await row() : undefined), 30_000, 'the import finished after the restart');
      expect(done.outcome).toMatchObject({ received: 2, appended: 2, rejectedCount: 0 });
      expect(await system.runtime.store.headPosition()).toBe(head + 2n);
      // The worker marks the job done, then removes its file: waited for, not raced.
      await until(() => (readdirSync(join(dataDir, 'pg', 'imports')).length === 0 ? true : undefined), 10_000, "the import's file removed once done");
      // Sent again: done already, nothing imported twice.
      const again = await cliAsync(['import', csv, '--source', 'SNDS'], env);
      expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/done already .*nothing imported again/) });
      expect(await system.runtime.store.headPosition()).toBe(head + 2n);
    } finally {
      await kill(cliProcess);
      await system.close();
      await kill(redis);
      const pg = new PgDatabase(DATABASE_URL);
      await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pg.query(`DROP SCHEMA IF EXISTS ${schema}_rm CASCADE`);
      await pg.close();
    }
  }, 90_000);
});
