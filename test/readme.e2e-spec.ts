import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until } from './support/servers';

// The README followed in order, as a newcomer copy-pastes it (issue 18.1 and 18.5): its shell
// blocks from "The two commands" to the end of "Controls, disputes and audits", in one terminal
// (variables and exports carry from block to block), `npm start` run as the prose says (started,
// stopped for the CLI's direct commands, started again), on a fresh project directory whose
// ./var is empty. Changed from the text, and only this: the port (a spare one for localhost:3000),
// `npm ci` (the dependencies are installed) and `npm test` (what runs this) left out.
const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Step {
  prose: string;
  code: string;
}

/** The prose before each ```sh block and the block, from `from` to `to` (two headings). */
function walkThrough(from: string, to: string): Step[] {
  const section = README.slice(README.indexOf(from), README.indexOf(to));
  const steps: Step[] = [];
  const fence = /```sh\n([\s\S]*?)```/g;
  let last = 0;
  for (let m = fence.exec(section); m; m = fence.exec(section)) {
    steps.push({ prose: section.slice(last, m.index), code: m[1]! });
    last = m.index + m[0].length;
  }
  return steps;
}

interface Server {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

describe('the README, followed in order on a fresh clone', () => {
  const project = mkdtempSync(join(tmpdir(), 'forfait-readme-'));
  let port = 0;
  let env: Record<string, string> = {};
  let server: Server | undefined;
  const servers: Server[] = [];

  beforeAll(async () => {
    // The clone: the repository's files (linked), the built dist/ (its directories linked, stamped
    // as built now: `npm start` must not rebuild the suite's dist/ under the other tests), and the
    // scripts copied (start.mjs finds the project by its own path).
    for (const name of ['apps', 'libs', 'docs', 'node_modules', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'])
      symlinkSync(join(ROOT, name), join(project, name));
    mkdirSync(join(project, 'scripts'));
    for (const name of ['start.mjs', 'verify-bundle.mjs']) copyFileSync(join(ROOT, 'scripts', name), join(project, 'scripts', name));
    mkdirSync(join(project, 'dist'));
    for (const name of ['apps', 'libs', 'console']) symlinkSync(join(ROOT, 'dist', name), join(project, 'dist', name));
    for (const part of ['server', 'console']) writeFileSync(join(project, 'dist', `.build-stamp-${part}`), `${new Date().toISOString()}\n`);
    port = await freePort(24300, 24499);
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? project,
      LANG: 'C.UTF-8',
      NO_COLOR: '1',
      PORT: String(port),
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    };
  });
  afterAll(async () => {
    for (const s of servers) await stop(s);
    rmSync(project, { recursive: true, force: true });
  });

  const local = (code: string) => code.replaceAll('localhost:3000', `localhost:${port}`);

  /** `npm start` in "another terminal", until its start-up log is out. */
  async function start(command: string): Promise<Server> {
    const child = spawn('bash', ['--noprofile', '--norc', '-c', command], { cwd: project, env, detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const s: Server = { child, out: () => out, err: () => err, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
    servers.push(s);
    await until(
      () =>
        out.includes('auth           ') ? true : child.exitCode !== null ? Promise.reject(new Error(`${command} exited ${child.exitCode}: ${err}`)) : undefined,
      90_000,
      command,
    );
    return s;
  }

  /** Ctrl-C in that terminal. */
  async function stop(s: Server | undefined): Promise<void> {
    if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
    process.kill(-s.child.pid!, 'SIGINT');
    await s.exited;
  }

  /**
   * The newcomer's terminal: one bash, each block pasted in turn. Every command that fails says so
   * (an ERR trap), and every curl says its HTTP status on stderr (a wrapper adding `-w`).
   */
  function terminal() {
    const shell = spawn('bash', ['--noprofile', '--norc'], { cwd: project, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    shell.stdout.on('data', (c: Buffer) => (out += c.toString()));
    shell.stderr.on('data', (c: Buffer) => (err += c.toString()));
    // The body goes on to where the block sends it (a file, a pipe), and its first bytes to stderr after the status.
    const body = join(project, '.curl-body');
    shell.stdin.write(
      [
        `curl() { command curl -w '%{stderr}HTTP %{http_code} %{method} %{url_effective}\\n' "$@" | tee ${body}; local status=\${PIPESTATUS[0]}; echo "BODY $(head -c 300 ${body} | tr -d '\\000\\n')" >&2; return $status; }`,
        `trap 'echo "FAILED (exit $?): $BASH_COMMAND" >&2' ERR`,
        '',
      ].join('\n'),
    );
    let n = 0;
    return {
      async paste(code: string): Promise<{ stdout: string; stderr: string }> {
        n += 1;
        const [o, e] = [out.length, err.length];
        shell.stdin.write(`${code}\necho __pasted_${n}__\n`);
        await until(() => (out.includes(`__pasted_${n}__`) ? true : undefined), 240_000, `block ${n}`);
        return { stdout: out.slice(o).replace(`__pasted_${n}__\n`, ''), stderr: err.slice(e) };
      },
      close: () => shell.kill('SIGKILL'),
    };
  }

  it('runs every shell block of the walk-through with no error, and each refusal it announces is the one answered', async () => {
    const steps = walkThrough('## The two commands', '## Read models and jobs');
    expect(steps.length).toBeGreaterThanOrEqual(6);
    const shell = terminal();
    const failures: string[] = [];
    const refusals: string[] = [];
    const announced: string[] = [];
    const starts: string[] = [];
    let answers = 0;
    try {
      for (const [i, step] of steps.entries()) {
        const what = `block ${i + 1} (${step.code.split('\n')[0]!.slice(0, 60)})`;
        if (/stop (the )?`npm start`( above)? first/i.test(step.prose)) {
          await stop(server);
          server = undefined;
        }
        const again = /\(`((?:[A-Z_]+=\S+ )+npm start)`/.exec(step.prose);
        if (again) {
          server = await start(again[1]!);
          starts.push(server.out());
        }
        const lines = step.code.split('\n').filter((l) => !/^npm test\b/.test(l));
        const startLine = lines.find((l) => /^(?:[A-Z_]+=\S+ )*(?:npm ci && )?npm start\b/.test(l));
        if (startLine) {
          server = await start(startLine.replace(/#.*/, '').replace('npm ci && ', '').trim());
          starts.push(server.out());
          continue;
        }
        for (const m of step.code.matchAll(/# → (\d{3}) \{"code":"([A-Z_]+)"/g)) announced.push(`${m[1]!} ${m[2]!}`);
        const { stdout, stderr } = await shell.paste(local(lines.join('\n')));
        const said = stderr.split('\n');
        said.forEach((line, n) => {
          if (line.startsWith('FAILED')) failures.push(`${what}: ${line}\n${stdout}\n${stderr}`);
          const http = /^HTTP (\d{3}) (\S+) (\S+)$/.exec(line);
          if (http) answers += 1;
          if (http && (Number(http[1]) >= 400 || http[1] === '000')) {
            const code = /"code":"([A-Z_]+)"/.exec(said[n + 1] ?? '')?.[1] ?? '?';
            refusals.push(`${http[1]!} ${code}`);
            if (!step.code.includes(`# → ${http[1]!} {"code":"${code}"`)) failures.push(`${what}: ${line} ${said[n + 1] ?? ''}`);
          }
        });
      }
      await stop(server);
    } finally {
      shell.close();
    }
    expect(failures).toEqual([]);
    // Every curl of the blocks was answered (the walk-through's and the investigators' calls).
    expect(answers).toBe(steps.reduce((n, step) => n + (step.code.match(/^(?:\S+=\$\()?curl /gm)?.length ?? 0), 0));
    // Answers of 4xx or 5xx: only the refusals the README announces (`# → 422 {"code":…}`), in order.
    expect(refusals).toEqual(announced);
    expect(announced.length).toBeGreaterThan(0);
    // `npm start` with no CLOCK, then the walk-through's CLOCK (a demo store of its own: issue 18.1),
    // then the same CLOCK again, which goes on from what that store recorded.
    expect(starts).toHaveLength(3);
    expect(starts[0]).toMatch(/demo +seeded \d+ events for the system clock/);
    expect(starts[1]).toMatch(/demo +seeded 25 events for CLOCK=2024-01-20T10:00:00\+01:00/);
    expect(starts[2]).toMatch(/resumed from /);
  }, 600_000);
});
