import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

// Servers a test starts of its own (never the shared ones on 5432 and 6379), on ports of the
// range the test names: a PostgreSQL cluster (initdb, pg_ctl) and a redis-server.
const run = promisify(execFile);
const PG_BIN = join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))[0] ?? '', 'bin');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function portFree(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const server = createServer().once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The first port of `from`–`to` nobody listens on, skipping those in `taken`. Each test file has a
 * range of its own, below Linux's ephemeral ports (32768–60999): a port found free there could be
 * taken by any connection's local end, or by a `PORT=0` server of another test, before the test's
 * own server binds it (seen in CI: the README test's `npm start` got EADDRINUSE).
 */
export async function freePort(from: number, to: number, taken: readonly number[] = []): Promise<number> {
  for (let port = from; port <= to; port += 1) if (!taken.includes(port) && (await portFree(port))) return port;
  throw new Error(`no free port in ${from}-${to}`);
}

/** Polls (bounded) until `check` returns a value. */
export async function until<T>(check: () => Promise<T | undefined> | T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A PostgreSQL cluster of the test's own, in a temporary directory, trust authentication, fsync
 * off. `spare`: the application_name of the test's own connections, which terminateOthers spares.
 */
export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'forfait-pg-'));
  constructor(
    readonly port: number,
    readonly spare = 'test-harness',
  ) {}
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }
  /** initdb refuses root: then the cluster belongs to the postgres user. */
  private async as(bin: string, args: string[]): Promise<void> {
    const root = process.getuid?.() === 0;
    await (root ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]) : run(join(PG_BIN, bin), args));
  }
  /** The directory belongs to the postgres user when the tests run as root (initdb refuses root). */
  private async own(): Promise<void> {
    if (process.getuid?.() !== 0) return;
    chownSync(this.dir, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
    chmodSync(this.dir, 0o700);
  }
  async init(): Promise<void> {
    await this.own();
    await this.as('initdb', ['-D', join(this.dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync']);
    await this.start();
  }
  /** A streaming standby of `primary` (pg_basebackup -R: standby.signal and primary_conninfo), started. */
  async initStandbyOf(primary: Cluster): Promise<void> {
    await this.own();
    await this.as('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      join(this.dir, 'data'),
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ]);
    await this.start();
  }
  start(): Promise<void> {
    return this.as('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-l',
      join(this.dir, 'log'),
      '-w',
      'start',
    ]);
  }
  stop(): Promise<void> {
    return this.as('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }
  async sql<R = Json>(text: string, params: unknown[] = []): Promise<R[]> {
    const c = new Client({ connectionString: this.url, application_name: this.spare });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query(text, params)).rows as R[];
    } finally {
      await c.end();
    }
  }
  /** pg_terminate_backend on every backend of the system under test; how many there were. */
  async terminateOthers(): Promise<number> {
    const rows = await this.sql<{ n: string }>(
      `SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity
       WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $1`,
      [this.spare],
    );
    return Number(rows[0]!.n);
  }
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Answers the pid of the redis-server on `port`, or undefined when none answers. */
function redisPid(port: number): Promise<number | undefined> {
  return new Promise<number | undefined>((resolve) => {
    const socket = new Socket();
    socket.once('error', () => resolve(undefined));
    socket.connect(port, '127.0.0.1', () => {
      socket.write('INFO server\r\n');
      socket.once('data', (d) => {
        socket.destroy();
        const m = /process_id:(\d+)/.exec(d.toString());
        resolve(m ? Number(m[1]) : undefined);
      });
    });
  });
}

/** A redis-server of the test's own, empty, keeping nothing on disk; the one answering is checked to be it. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: 'ignore',
  });
  const pid = await until(() => redisPid(port), 10_000, `redis-server on ${port}`);
  if (pid !== child.pid) {
    child.kill('SIGKILL');
    throw new Error(`port ${port} is another redis-server's (pid ${pid}): run again`);
  }
  return child;
}

/** SIGKILL, and wait for the exit. */
export async function kill(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** Drops the schemas a test run created on a shared database (its store's and its read models'). */
export async function dropSchemas(databaseUrl: string, ...schemas: string[]): Promise<void> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  try {
    for (const s of schemas) await pg.query(`DROP SCHEMA IF EXISTS "${s.replaceAll('"', '""')}" CASCADE`);
  } finally {
    await pg.end();
  }
}

/** The built CLI (`npm test` builds first), run as a user runs it. */
export const CLI = join(__dirname, '..', '..', 'dist', 'apps', 'cli', 'src', 'main.js');

/** The CLI run without blocking this process (where the system under test runs its workers); killed after `ms`. */
export function cliAsync(args: string[], env: Record<string, string>, ms = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
