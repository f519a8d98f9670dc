// `npm start`: refuses at once when the embedded store is already held by a running process (before
// any build, so that the build cannot pull dist/ from under the running one: issue 18.3), builds
// only the part (server, console) one of whose sources is newer than its last build, one start at a
// time (a build lock: a second start waits for the first one's build instead of loading a
// half-written dist/), then runs the API.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(new URL('.', import.meta.url).pathname, '..');
const env = process.env;

// The data dir as libs/platform/src/config.ts (defaultDataDir) chooses it.
const embedded = (env.STORE ?? 'embedded') === 'embedded';
const dataDir = env.DATA_DIR || (embedded && env.CLOCK ? `./var/demo-${env.CLOCK.replace(/:/g, '')}` : './var');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** The store's own lock (libs/store): held by a live process, this start is refused, in one sentence. */
function refuseWhenStoreBusy() {
  if (!embedded) return;
  const lock = resolve(dataDir, 'pglite.lock');
  const owner = existsSync(lock) ? Number(readFileSync(lock, 'utf8').trim()) : 0;
  if (owner && owner !== process.pid && alive(owner)) {
    console.error(
      `not started: the embedded store under ${resolve(dataDir, 'pglite')} is in use by process ${owner} (another npm start?): stop it, or start with another DATA_DIR or CLOCK.`,
    );
    process.exit(1);
  }
}
refuseWhenStoreBusy();

/**
 * The newest modification time under a path (directories walked; node_modules, dist and `skip`
 * skipped). A directory's own time counts: a file removed or renamed in it is a change too.
 */
function newest(path, skip = []) {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const name of readdirSync(path)) {
    const child = join(path, name);
    if (name === 'node_modules' || name === 'dist' || skip.includes(child)) continue;
    max = Math.max(max, newest(child, skip));
  }
  return max;
}

const main = join(root, 'dist', 'apps', 'api', 'src', 'main.js');
/** The two builds, each with its sources, what it makes and its stamp (the time its last build started). */
const PARTS = [
  {
    name: 'server',
    script: 'build:server',
    sources: () =>
      Math.max(
        ...['apps', 'libs', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((p) => newest(join(root, p), [join(root, 'apps', 'console')])),
      ),
    output: main,
  },
  {
    name: 'console',
    script: 'build:console',
    sources: () => Math.max(newest(join(root, 'apps', 'console')), newest(join(root, 'package-lock.json'))),
    output: join(root, 'dist', 'console', 'index.html'),
  },
].map((part) => ({ ...part, stamp: join(root, 'dist', `.build-stamp-${part.name}`) }));
const buildLock = join(root, 'dist', '.build-lock');
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * The build lock (dist/.build-lock, the pid of its holder): taken before the stamp is read, given
 * back once dist/ is whole. Another start's lock is waited for; a dead process's is taken over.
 */
function takeBuildLock() {
  mkdirSync(join(root, 'dist'), { recursive: true });
  let told = false;
  for (;;) {
    try {
      writeFileSync(buildLock, String(process.pid), { flag: 'wx' });
      process.on('exit', giveBackBuildLock); // a failed build gives it back too
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let owner = 0;
    let age = 0;
    try {
      owner = Number(readFileSync(buildLock, 'utf8').trim());
      age = Date.now() - statSync(buildLock).mtimeMs;
    } catch {
      continue; // given back meanwhile
    }
    // No pid yet: its holder is writing it (or died doing so, long ago).
    if ((owner && !alive(owner)) || (!owner && age > 10_000)) {
      rmSync(buildLock, { force: true });
      continue;
    }
    if (!told) {
      console.log(`build          another npm start (process ${owner || '?'}) is building: waiting for it`);
      told = true;
    }
    pause(200);
  }
}

/** Removes the build lock if it is still this process's own. */
function giveBackBuildLock() {
  process.off('exit', giveBackBuildLock);
  try {
    if (readFileSync(buildLock, 'utf8').trim() === String(process.pid)) rmSync(buildLock, { force: true });
  } catch {
    // already gone
  }
}

takeBuildLock();
const builtAt = (part) => (existsSync(part.output) ? (statSync(part.stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0) : 0);
const stale = PARTS.filter((part) => part.sources() > builtAt(part));
for (const part of stale) {
  const built = builtAt(part);
  console.log(`build          ${part.name}: ${built ? 'sources changed since its last build' : 'no build yet'}: npm run ${part.script}`);
  const startedAt = Date.now();
  const build = spawnSync('npm', ['run', part.script, '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  // Stamped with the time the build started: a source saved during the build makes the next start build again.
  writeFileSync(part.stamp, `${new Date(startedAt).toISOString()}\n`);
  utimesSync(part.stamp, new Date(startedAt), new Date(startedAt));
}
if (stale.length === 0) console.log(`build          up to date (no source changed since the last build of the server and of the console)`);
giveBackBuildLock();
// Another start may have taken the store while this one waited for the build.
refuseWhenStoreBusy();

// In this process: Ctrl-C and SIGTERM reach the server itself, and the store's lock names it.
await import(pathToFileURL(main).href);
