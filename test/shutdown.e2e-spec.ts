import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request, type ClientRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { signDevToken } from '../apps/api/src/auth/token-verifier';
import { DEMO_DOCTORS } from '../apps/api/src/seed/demo-seed';

// The built API (`npm test` builds first), stopped with SIGTERM while requests are on their way.
const MAIN = join(__dirname, '..', 'dist', 'apps', 'api', 'src', 'main.js');
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECRET = 'shutdown-secret-shutdown-secret-0123456789';
const GRACE_MS = 4_000;
const schema = `shutdown_${process.pid}_${randomBytes(3).toString('hex')}`;

interface Answer {
  status: number;
  body: string;
}

/** A declaration whose body is sent in two halves: `finish` sends the second. */
function slowDeclaration(port: number, rpps: string, token: string, answer: boolean): { sent: Promise<void>; finish: () => void; answered: Promise<Answer> } {
  const body = JSON.stringify({ indicator: 'V2_CODAGE', value: { answer }, attestation: true });
  const half = Math.floor(body.length / 2);
  let req!: ClientRequest;
  const answered = new Promise<Answer>((resolve, reject) => {
    req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/v1/doctors/${rpps}/campaigns/2023/declarations`,
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
  const sent = new Promise<void>((resolve) => {
    req.once('socket', (socket) => socket.once('connect', () => req.write(body.slice(0, half), () => resolve())));
  });
  return { sent, finish: () => req.end(body.slice(half)), answered };
}

/** One quick request on a keep-alive connection; a failure is an answer of status 0 with its code. */
function quick(port: number, agent: Agent, rpps: string, token: string): Promise<Answer> {
  return new Promise((resolve) => {
    const reject = (error: NodeJS.ErrnoException) => resolve({ status: 0, body: error.code ?? String(error) });
    const req = request(
      { host: '127.0.0.1', port, method: 'GET', path: `/v1/doctors/${rpps}/campaigns/2023/entitlement`, agent, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('SIGTERM', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-shutdown-'));
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    for (const s of [schema, `${schema}_rm`]) await pg.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await pg.end();
  });

  it('stops accepting, drains the requests in flight, then closes the pools and exits 0', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        PORT: '0',
        STORE: 'postgres',
        DATABASE_URL,
        DATABASE_SCHEMA: schema,
        DATA_DIR: dataDir,
        AUTH_JWT_SECRET: SECRET,
        SEED_DEMO: 'true',
        CLOCK: '2024-01-20T10:00:00+01:00',
        REDIS_URL: 'redis://127.0.0.1:6379',
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    /** Waits (bounded) for a line of the API's log. */
    const logged = async (pattern: RegExp, ms: number): Promise<RegExpExecArray> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = pattern.exec(stdout + stderr);
        if (m) return m;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} within ${ms} ms:\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      const port = Number((await logged(/API\s+http:\/\/localhost:(\d+)/, 30_000))[1]);
      const doctors = await Promise.all(DEMO_DOCTORS.map(async (d) => ({ rpps: d.rpps, token: await signDevToken(SECRET, { role: 'doctor', rpps: d.rpps }) })));

      // Quick reads on keep-alive connections, and declarations whose bodies are half sent.
      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      let sigtermSent = false;
      const quickAnswers: Promise<Answer>[] = [];
      const readers = [0, 1, 2, 3].map(async (i) => {
        while (!sigtermSent) {
          const answer = quick(port, agent, doctors[i % doctors.length]!.rpps, doctors[i % doctors.length]!.token);
          quickAnswers.push(answer);
          await answer;
        }
      });
      const slow = Array.from({ length: 6 }, (_, i) =>
        slowDeclaration(port, doctors[i % doctors.length]!.rpps, doctors[i % doctors.length]!.token, i % 2 === 0),
      );
      // And a client that never finishes its body: it must not hold the process past the grace period.
      const straggler = slowDeclaration(port, doctors[0]!.rpps, doctors[0]!.token, true);
      await Promise.all([...slow, straggler].map((s) => s.sent));
      for (const s of [...slow, straggler]) s.answered.catch(() => undefined); // awaited below
      while (quickAnswers.length < 20) await quickAnswers.at(-1);

      sigtermSent = true;
      child.kill('SIGTERM');
      const killedAt = Date.now();
      await logged(/SIGTERM: stopping/, 10_000);
      await Promise.all(readers);
      // New connections are refused while the ones in flight are served.
      expect(await quick(port, new Agent(), doctors[0]!.rpps, doctors[0]!.token)).toEqual({ status: 0, body: 'ECONNREFUSED' });
      for (const s of slow) s.finish();

      const declared = await Promise.all(slow.map((s) => s.answered));
      expect(declared.map((a) => a.status)).toEqual(slow.map(() => 201));
      expect(declared.every((a) => typeof (JSON.parse(a.body) as { eventId?: unknown }).eventId === 'string')).toBe(true);
      const reads = await Promise.all(quickAnswers);
      expect(reads.filter((a) => a.status !== 200)).toEqual([]);
      expect(reads.every((a) => JSON.parse(a.body) !== null)).toBe(true);
      agent.destroy();

      await expect(straggler.answered).rejects.toMatchObject({ code: 'ECONNRESET' });
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise((r) => (timer = setTimeout(() => r('still running'), 3 * GRACE_MS)))]);
      clearTimeout(timer);
      expect(code).toBe(0);
      expect(Date.now() - killedAt).toBeLessThan(3 * GRACE_MS);
      expect(stderr + stdout).not.toMatch(/Cannot use a pool after calling end|Unhandled/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
