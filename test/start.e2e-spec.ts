import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until } from './support/servers';

// `npm start` as a newcomer runs it (issue 18.3 and 18.6), on a project of the test's own: the real
// scripts/start.mjs and package.json's `start`, the sources a stand-in tree whose times the test
// sets, and the build a stand-in that counts its runs, takes a while, then links the dist/apps that
// `npm test` built (running the real build here would rewrite dist/ under the other tests' servers).
const ROOT = join(__dirname, '..');
/** The stand-in of `npm run build:<part>`: dist/<what> linked to the suite's after a while. */
const standIn = (part: string, what: string) => `
import { appendFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
const root = join(import.meta.dirname, '..');
appendFileSync(join(root, 'builds.log'), '${part}\\n');
await new Promise((r) => setTimeout(r, 4000)); // a build in flight: another start must not load dist/ now
rmSync(join(root, 'dist', '${what}'), { recursive: true, force: true });
symlinkSync(${JSON.stringify(join(ROOT, 'dist'))} + '/${what}', join(root, 'dist', '${what}'));
`;

interface Started {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

describe('npm start', () => {
  const project = mkdtempSync(join(tmpdir(), 'forfait-start-'));
  const dataDir = join(project, 'var');
  const source = join(project, 'apps', 'api', 'src', 'main.ts');
  const consoleSource = join(project, 'apps', 'console', 'src', 'main.ts');
  const running: Started[] = [];
  let port = 0;

  beforeAll(async () => {
    mkdirSync(join(project, 'scripts'));
    copyFileSync(join(ROOT, 'scripts', 'start.mjs'), join(project, 'scripts', 'start.mjs'));
    writeFileSync(join(project, 'scripts', 'build-server.mjs'), standIn('server', 'apps'));
    writeFileSync(join(project, 'scripts', 'build-console.mjs'), standIn('console', 'console'));
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.build).toBe('npm run --silent build:server && npm run --silent build:console');
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'start-e2e',
        private: true,
        scripts: { start: scripts.start, 'build:server': 'node scripts/build-server.mjs', 'build:console': 'node scripts/build-console.mjs' },
      }),
    );
    mkdirSync(join(project, 'apps', 'api', 'src'), { recursive: true });
    mkdirSync(join(project, 'apps', 'console', 'src'), { recursive: true });
    mkdirSync(join(project, 'libs'));
    writeFileSync(source, 'export {};\n');
    writeFileSync(consoleSource, 'export {};\n');
    port = await freePort(24100, 24299);
  });
  afterAll(async () => {
    for (const s of running) await stop(s);
    rmSync(project, { recursive: true, force: true });
  });

  /** The builds run so far, in order: 'server', 'console'. */
  const builds = () => {
    try {
      return readFileSync(join(project, 'builds.log'), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };

  function npmStart(): Started {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? project,
      DATA_DIR: dataDir,
      PORT: String(port),
      NO_COLOR: '1',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    };
    const child = spawn('npm', ['start'], { cwd: project, env, detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const started = { child, out: () => out, err: () => err, exited };
    running.push(started);
    return started;
  }

  const consoleLine = () => `console        http://localhost:${port}/console/`;
  const ready = (s: Started) =>
    until(
      () => (s.out().includes('auth           ') ? true : s.child.exitCode !== null ? Promise.reject(new Error(`npm start exited: ${s.err()}`)) : undefined),
      90_000,
      'npm start ready',
    );

  /** Ctrl-C as a user gives it: to the whole process group (npm and the server it runs). */
  async function stop(s: Started): Promise<void> {
    if (s.child.exitCode !== null || s.child.signalCode !== null) return;
    process.kill(-s.child.pid!, 'SIGINT');
    await s.exited;
  }

  it("builds a fresh tree, then only the part whose sources changed; the log says where to look, without Nest's loader lines", async () => {
    const first = npmStart();
    await ready(first);
    expect(builds()).toEqual(['server', 'console']);
    expect(first.out()).toContain('build          server: no build yet: npm run build:server');
    expect(first.out()).toContain('build          console: no build yet: npm run build:console');
    // Where to look first: the console, then the API and its OpenAPI page.
    expect(first.out()).toContain(consoleLine());
    expect(first.out()).toContain(`API            http://localhost:${port}  (OpenAPI: http://localhost:${port}/docs`);
    expect((await fetch(`http://127.0.0.1:${port}/console/`)).status).toBe(200);
    // Nest's per-module and per-route lines are gone; Nest's prefix on the system's own lines stays.
    expect(first.out()).not.toMatch(/InstanceLoader|RoutesResolver|RouterExplorer|dependencies initialized|Mapped \{/);
    expect(first.out()).toMatch(/\[Nest\] \d+ +- .* LOG \[forfait\] console +http/);
    await stop(first);

    const again = npmStart();
    await ready(again);
    expect(builds()).toEqual(['server', 'console']);
    expect(again.out()).toMatch(/build +up to date \(no source changed since the last build of the server and of the console\)/);
    await stop(again);

    // A source of the server saved after the last build: the server built again, not the console;
    // then a source of the console: the console alone. (Now: after the last build started; a time
    // in the future would outdate the next build too.)
    for (const [file, part] of [
      [source, 'server'],
      [consoleSource, 'console'],
    ] as const) {
      const now = new Date();
      utimesSync(file, now, now);
      const changed = npmStart();
      await ready(changed);
      expect(builds().slice(2)).toEqual(part === 'server' ? ['server'] : ['server', 'console']);
      expect(changed.out()).toContain(`build          ${part}: sources changed since its last build: npm run build:${part}`);
      await stop(changed);
    }
  }, 150_000);

  it('two at once: one build, one server; the second waits for the build, then is refused in one sentence', async () => {
    const now = new Date();
    utimesSync(source, now, now);
    const before = builds().length;
    const a = npmStart();
    const b = npmStart();
    const isReady = (s: Started) => s.out().includes('auth           ');
    const [winner, loser] = await until(
      () =>
        isReady(a)
          ? [a, b]
          : isReady(b)
            ? [b, a]
            : a.child.exitCode !== null && b.child.exitCode !== null
              ? Promise.reject(new Error(`both exited: ${a.err()} ${b.err()}`))
              : undefined,
      90_000,
      'one npm start ready',
    );
    expect(await loser.exited).toBe(1);
    expect(builds().slice(before)).toEqual(['server']);
    // The one that found the lock waited for the other's build (no half-written dist/ loaded).
    expect(a.out() + b.out()).toContain('is building: waiting for it');
    expect(loser.err()).toMatch(/not started: the embedded store under .*pglite is in use by process \d+/);
    expect(loser.err()).not.toMatch(/Cannot find module|\n\s+at /);
    expect(winner.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    await stop(winner);
  }, 120_000);
});
