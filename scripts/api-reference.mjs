// `npm run docs:api`: writes docs/api-reference.md from the OpenAPI document the built API serves at
// /docs/openapi.json (a system started on a throw-away embedded store, no demo seed, no Redis
// needed). `--check` writes nothing and exits 1 when the committed page differs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('.', import.meta.url).pathname, '..');
const require = createRequire(import.meta.url);
const { startSystem } = require(join(root, 'dist/apps/api/src/bootstrap.js'));
const { renderApiReference } = require(join(root, 'dist/apps/api/src/api-reference.js'));
const { loadConfig } = require(join(root, 'dist/libs/platform/src/index.js'));

const target = join(root, 'docs/api-reference.md');
const dataDir = mkdtempSync(join(tmpdir(), 'forfait-api-reference-'));
const system = await startSystem(
  loadConfig({
    STORE: 'embedded',
    DATA_DIR: dataDir,
    PORT: '0',
    SEED_DEMO: 'false',
    AUTH_JWT_SECRET: 'api-reference-secret-api-reference-secret',
    REDIS_URL: 'redis://127.0.0.1:1',
  }),
  { logger: false },
);
let page;
try {
  const res = await fetch(`${system.url}/docs/openapi.json`);
  if (!res.ok) throw new Error(`GET /docs/openapi.json answered ${res.status}`);
  page = renderApiReference(await res.json());
} finally {
  await system.close();
  rmSync(dataDir, { recursive: true, force: true });
}
if (process.argv.includes('--check')) {
  const committed = readFileSync(target, 'utf8');
  if (committed !== page) {
    console.error('docs/api-reference.md is stale: run npm run docs:api');
    process.exit(1);
  }
  console.log('docs/api-reference.md is up to date');
} else {
  writeFileSync(target, page);
  console.log(`wrote ${target}`);
}
