// Which project files and functions one declaration request runs, from the HTTP request to the append
// and back (V8 precise coverage, reset just before it; the projector off). Issue 12's hop count:
//   npm run build && node scripts/declaration-hops.mjs . hops_$$
// on the shared PostgreSQL (schemas of its own: <schema> and <schema>_rm; drop both afterwards).
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
const root = process.argv[2] ?? '.';
if (!process.argv[3]) throw new Error('usage: node scripts/declaration-hops.mjs <project root> <schema>');
const require = createRequire(resolve(root, 'package.json'));
const { startSystem } = require(resolve(root, 'dist/apps/api/src/bootstrap.js'));
const { loadConfig, signDevToken } = require(resolve(root, 'dist/libs/platform/src/index.js'));
const SECRET = 'measure-secret-measure-secret-measure-0123';
const system = await startSystem(
  loadConfig({
    STORE: 'postgres',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
    DATABASE_SCHEMA: process.argv[3],
    RUN_PROJECTOR: 'false',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'measure-')),
    PORT: '0',
    SEED_DEMO: 'false',
    AUTH_JWT_SECRET: SECRET,
    CLOCK: '2024-01-15T10:00:00+01:00',
    REDIS_URL: 'redis://127.0.0.1:1',
  }),
  { logger: false },
);
const tok = async (c) => signDevToken(SECRET, c);
const admin = await tok({ role: 'admin' }),
  sys = await tok({ role: 'system' }),
  gp = await tok({ role: 'doctor', rpps: '10000000017' });
const call = async (method, path, token, body) => {
  const r = await fetch(system.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return [r.status, await r.text()];
};
console.error(
  await call('POST', '/v1/campaigns', admin, {
    year: 2023,
    ruleset: 'FS-2023',
    opensAt: '2023-12-11T00:00:00+01:00',
    closesAt: '2024-02-04T23:59:59.999+01:00',
  }),
);
console.error(await call('PUT', '/v1/doctors/10000000017', sys, { specialty: 'medecine-generale', caisse: '441', department: '44' }));
const declare = () =>
  call('POST', '/v1/doctors/10000000017/campaigns/2023/declarations', gp, { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true });
console.error(await declare()); // warm-up
const s = new Session();
s.connect();
await s.post('Profiler.enable');
await s.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
await s.post('Profiler.takePreciseCoverage');
const answer = await declare();
const { result } = await s.post('Profiler.takePreciseCoverage');
console.error(answer);
const files = new Map();
for (const script of result) {
  const m = /\/dist\/((apps|libs)\/.*)\.js$/.exec(script.url);
  if (!m || /\/index$/.test(m[1])) continue;
  const fns = script.functions.filter((f) => f.functionName && f.ranges[0].count > 0).map((f) => `${f.functionName}×${f.ranges[0].count}`);
  if (fns.length) files.set(m[1], fns);
}
let n = 0,
  calls = 0;
for (const [f, fns] of [...files].sort()) {
  n += fns.length;
  calls += fns.reduce((a, x) => a + Number(x.split('×')[1]), 0);
  console.log(`${f}: ${fns.join(', ')}`);
}
console.log(`FILES ${files.size} FUNCTIONS ${n} CALLS ${calls}`);
await system.close();
process.exit(0);
