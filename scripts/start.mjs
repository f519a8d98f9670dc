// `npm start`: refuses at once when the embedded store is already held by a running process (before
// any build, so that the build cannot pull dist/ from under the running one: issue 18.3), builds
// only when a source is newer than the last build, then runs the API.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
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

if (embedded) {
  const lock = resolve(dataDir, 'pglite.lock');
  const owner = existsSync(lock) ? Number(readFileSync(lock, 'utf8').trim()) : 0;
  if (owner && owner !== process.pid && alive(owner)) {
    console.error(`not started: the embedded store under ${resolve(dataDir, 'pglite')} is in use by process ${owner} (another npm start?): stop it, or start with another DATA_DIR or CLOCK.`);
    process.exit(1);
  }
}

/** The newest modification time under a path (directories walked, node_modules and dist skipped). */
function newest(path) {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let max = 0;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === 'dist') continue;
    max = Math.max(max, newest(join(path, name)));
  }
  return max;
}

const stamp = join(root, 'dist', '.build-stamp');
const main = join(root, 'dist', 'apps', 'api', 'src', 'main.js');
const built = existsSync(main) ? (statSync(stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0) : 0;
const sources = Math.max(...['apps', 'libs', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((p) => newest(join(root, p))));
if (sources > built) {
  const startedAt = Date.now();
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  // Stamped with the time the build started: a source saved during the build makes the next start build again.
  writeFileSync(stamp, `${new Date(startedAt).toISOString()}\n`);
  utimesSync(stamp, new Date(startedAt), new Date(startedAt));
}

// In this process: Ctrl-C and SIGTERM reach the server itself, and the store's lock names it.
await import(pathToFileURL(main).href);
