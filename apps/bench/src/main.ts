import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import autocannon from 'autocannon';
import { ManualClock, loadConfig, clockFromSetting, signDevToken, type AppConfig } from '@forfait/platform';
import { CSV_COLUMNS, DoctorYearReader, EntitlementService, ImportsService, importMeasuresCsv } from '@forfait/application';
import { openRuntime, type Runtime } from '@forfait/read-models';
import { openStores, type SqlDatabase } from '@forfait/store';
import { measuresOf, rngOf, rppsOf, writeGenerated } from '@forfait/generator';
import { TARGETS, storeWorkloads, type WorkloadFigures } from './store-workloads';
import { startApi } from './api-process';
import { machine, median as medianOf, percentile, stat, type Stat } from './stats';
import { benchConsoleRender, CONSOLE_END, CONSOLE_START, consoleMarkdown, writeConsoleSection } from './console-render';
import { sectionOf } from './page-sections';
import { INTEGRITY_END, INTEGRITY_START, benchIntegrity, integrityMarkdown, writeIntegritySection } from './integrity-workload';

/**
 * `npm run bench` (issue 7): the national-scale figures for PostgreSQL and the embedded store,
 * each beside the raw limit measured in the same run, written to docs/benchmarks.md.
 */

const SECRET = 'bench-secret-bench-secret-bench-secret';
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
/** Fixed ports of the API under test and the bare HTTP floor; another bench on the machine needs others. */
const API_PORT = Number(process.env.BENCH_API_PORT ?? 3997);
const FLOOR_PORT = Number(process.env.BENCH_FLOOR_PORT ?? 3996);

interface TargetResult {
  kind: 'postgres' | 'embedded';
  doctors: number;
  events: number;
  generate: { ms: number; eventsPerSec: number };
  raw: { insertRowsPerSec: Stat; selectRowsPerSec: Stat; lookupP50Ms: Stat; lookupP99Ms: Stat; insertOneP50Ms: Stat; insertOneP99Ms: Stat; rows: number };
  importRun: { lines: number; eventsPerSec: Stat };
  rebuild: { eventsPerSec: Stat; seconds: Stat; maxRssMb: Stat; heapUsedPeakMb: Stat };
  replay: { nowP50: Stat; nowP99: Stat; pastP50: Stat; pastP99: Stat; samples: number };
  http: { rate: number; seconds: number; p50: Stat; p99: Stat; achievedRps: Stat; errors: number; non2xx: number; floorP50: Stat; floorP99: Stat };
  memory?: { doctors: number; events: number; maxRssMb: Stat; heapUsedPeakMb: Stat };
}

function envFor(kind: 'postgres' | 'embedded', name: string, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = { NODE_ENV: 'development', AUTH_JWT_SECRET: SECRET, SEED_DEMO: 'false', PORT: '0', ...extra };
  return kind === 'postgres'
    ? { ...base, STORE: 'postgres', DATABASE_URL: PG_URL, DATABASE_SCHEMA: name, DATA_DIR: dataDir, RUN_PROJECTOR: 'false' }
    : { ...base, STORE: 'embedded', DATA_DIR: join(dataDir, name) };
}

async function withStores<T>(config: AppConfig, fn: (s: Awaited<ReturnType<typeof openStores>>) => Promise<T>): Promise<T> {
  const stores = await openStores({
    store: config.store,
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    databaseSchema: config.databaseSchema,
    eventstoreConnectionString: undefined,
    clock: clockFromSetting(config.clock),
  });
  try {
    return await fn(stores);
  } finally {
    await stores.store.close();
    await stores.readDb.close();
  }
}

async function generate(env: Record<string, string>, doctors: number): Promise<{ events: number; ms: number }> {
  const config = loadConfig(env);
  const clock = new ManualClock('2023-01-01T00:00:00Z');
  const { store, readDb } = await openStores({ ...config, eventstoreConnectionString: undefined, clock });
  try {
    const r = await writeGenerated(store, clock, { doctors, seed: 'bench', years: [2023] }, (p) =>
      log(`  generate: window ${p.window}/${p.windows}, ${p.events} events`),
    );
    return { events: r.events, ms: r.ms };
  } finally {
    await store.close();
    await readDb.close();
  }
}

/** The raw limit: plain SQL on a bare table (no keys, no indexes), same rows as the store holds. */
async function rawLimit(db: SqlDatabase, schema: string, runs: number) {
  const s = `"${schema}"`;
  const { rows } = await db.query(
    `SELECT position, event_id, stream_id, revision, type, schema_version, data, metadata, recorded_at, effective_at, prev_hash, hash
     FROM ${s}.es_events WHERE type = 'MeasureRecorded' ORDER BY position LIMIT 100000`,
  );
  const cols = [
    'position',
    'event_id',
    'stream_id',
    'revision',
    'type',
    'schema_version',
    'data',
    'metadata',
    'recorded_at',
    'effective_at',
    'prev_hash',
    'hash',
  ];
  const insert: number[] = [];
  const select: number[] = [];
  const lookupP50: number[] = [];
  const lookupP99: number[] = [];
  const oneP50: number[] = [];
  const oneP99: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    await db.query(`DROP TABLE IF EXISTS ${s}.raw_events`);
    await db.query(`CREATE TABLE ${s}.raw_events (position bigint, event_id uuid, stream_id text, revision bigint, type text, schema_version integer,
      data jsonb, metadata jsonb, recorded_at timestamptz, effective_at timestamptz, prev_hash text, hash text)`);
    let t = performance.now();
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      const params: unknown[] = [];
      const values = chunk.map(
        (r, k) =>
          `(${cols.map((c, j) => (params.push(c === 'data' || c === 'metadata' ? JSON.stringify(r[c]) : r[c]), `$${k * cols.length + j + 1}`)).join(', ')})`,
      );
      await db.transaction((tx) => tx.query(`INSERT INTO ${s}.raw_events (${cols.join(', ')}) VALUES ${values.join(', ')}`, params));
    }
    insert.push(rows.length / ((performance.now() - t) / 1000));
    t = performance.now();
    const back = await db.query(`SELECT ${cols.join(', ')} FROM ${s}.raw_events`);
    select.push(back.rows.length / ((performance.now() - t) / 1000));
    // A lookup by stream (the replay's access path) on the same rows with one plain index.
    await db.query(`CREATE INDEX ON ${s}.raw_events (stream_id)`);
    const streamsOf = [...new Set(rows.map((r) => r.stream_id as string))];
    const lat: number[] = [];
    for (let k = 0; k < 300; k += 1) {
      const id = streamsOf[(k * 7919) % streamsOf.length]!;
      const t0 = performance.now();
      await db.query(`SELECT ${cols.join(', ')} FROM ${s}.raw_events WHERE stream_id = $1`, [id]);
      lat.push(performance.now() - t0);
    }
    lookupP50.push(percentile(lat, 50));
    lookupP99.push(percentile(lat, 99));
    // One row per transaction, as a command writes (the HTTP figure's raw limit).
    const one: number[] = [];
    for (let k = 0; k < 300; k += 1) {
      const r = rows[k]!;
      const t0 = performance.now();
      await db.transaction((tx) =>
        tx.query(
          `INSERT INTO ${s}.raw_events (${cols.join(', ')}) VALUES (${cols.map((_, j) => `$${j + 1}`).join(', ')})`,
          cols.map((c) => (c === 'data' || c === 'metadata' ? JSON.stringify(r[c]) : r[c])),
        ),
      );
      one.push(performance.now() - t0);
    }
    oneP50.push(percentile(one, 50));
    oneP99.push(percentile(one, 99));
  }
  await db.query(`DROP TABLE IF EXISTS ${s}.raw_events`);
  return {
    insertRowsPerSec: stat(insert),
    selectRowsPerSec: stat(select),
    lookupP50Ms: stat(lookupP50),
    lookupP99Ms: stat(lookupP99),
    insertOneP50Ms: stat(oneP50),
    insertOneP99Ms: stat(oneP99),
    rows: rows.length,
  };
}

async function rebuild(env: Record<string, string>): Promise<{ events: number; ms: number; maxRssMb: number; heapUsedPeakMb: number }> {
  const child = spawn(process.execPath, [resolve(__dirname, 'rebuild-child.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`rebuild child exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as Awaited<ReturnType<typeof rebuild>>;
}

async function replay(runtime: Runtime, doctors: number, samples: number) {
  const service = new EntitlementService(runtime, new DoctorYearReader(runtime));
  const now: number[] = [];
  const past: number[] = [];
  for (let k = 0; k < samples; k += 1) {
    const rpps = rppsOf((k * 104729) % doctors);
    let t = performance.now();
    await service.compute(rpps, 2023);
    now.push(performance.now() - t);
    t = performance.now();
    // As the caisse knew it the day the extension was announced.
    await service.compute(rpps, 2023, '2024-01-31T12:00:00.000Z');
    past.push(performance.now() - t);
  }
  return { nowP50: percentile(now, 50), nowP99: percentile(now, 99), pastP50: percentile(past, 50), pastP99: percentile(past, 99) };
}

async function loadDeclarations(url: string, doctors: number, offset: number, rate: number, seconds: number) {
  const count = Math.ceil(rate * seconds * 1.2);
  const tokens: string[] = [];
  for (let k = 0; k < count; k += 1) {
    const rpps = rppsOf((offset + k) % doctors);
    tokens.push(await signDevToken(SECRET, { role: 'doctor', rpps, sub: `doctor-${rpps}` }));
  }
  let next = 0;
  const result = await autocannon({
    url,
    connections: 16,
    overallRate: rate,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req: autocannon.Request) => {
          const k = next++ % count;
          const rpps = rppsOf((offset + k) % doctors);
          return {
            ...req,
            path: `/v1/doctors/${rpps}/campaigns/2024/declarations`,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[k]}` },
            body: JSON.stringify({ indicator: 'V2_CODAGE', value: { answer: (offset + k) % 3 !== 0 }, attestation: true }),
          };
        },
      },
    ],
  });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    sent: next,
  };
}

/**
 * Declarations through HTTP at a fixed rate: each doctor declares V2_CODAGE for a 2024 campaign the
 * bench opens (the 2023 one is closed by then). One unmeasured warm-up run, then `runs` runs.
 */
/**
 * Waits until every projection and reactor of the API (the log sealer among them) has applied the
 * store's head, as its /health/metrics says: a process started on a store it has not projected yet
 * first catches up (every projection reads the history), and commands measured meanwhile would
 * measure that catch-up. Returns how long it took (ms), said beside the figures.
 */
async function caughtUp(url: string, timeoutMs = 900_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const text = await (await fetch(`${url}/health/metrics`)).text();
    const lags = [...text.matchAll(/^forfait_projection_lag_events\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
    if (lags.length > 0 && lags.every((n) => n === 0)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`the API's projections did not catch up within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function http(env: Record<string, string>, doctors: number, rate: number, seconds: number, runs: number) {
  const api = await startApi(env, API_PORT);
  try {
    const catchUpMs = await caughtUp(api.url);
    log(`  the API's projections caught up with the store in ${(catchUpMs / 1000).toFixed(1)} s`);
    const admin = await signDevToken(SECRET, { role: 'admin', sub: 'bench-admin' });
    const opened = await fetch(`${api.url}/v1/campaigns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ year: 2024, ruleset: 'FS-2024', opensAt: '2026-02-01T00:00:00+01:00', closesAt: '2026-12-31T23:59:59+01:00' }),
    });
    if (opened.status !== 201 && opened.status !== 409) throw new Error(`opening campaign 2024: ${opened.status} ${await opened.text()}`);
    await loadDeclarations(api.url, doctors, doctors - 1000, rate, 5);
    const out: Awaited<ReturnType<typeof loadDeclarations>>[] = [];
    for (let run = 0; run < runs; run += 1) {
      out.push(await loadDeclarations(api.url, doctors, run * Math.ceil(rate * seconds * 1.2), rate, seconds));
      log(`  HTTP run ${run + 1}: ${JSON.stringify(out.at(-1))}`);
    }
    return Object.assign(out, { catchUpMs });
  } finally {
    await api.stop();
  }
}

/** The floor of HTTP on this machine: a bare Node server answering at once, same tool, same rate. */
async function httpFloor(rate: number, seconds: number) {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  server.listen(FLOOR_PORT);
  await once(server, 'listening');
  try {
    const r = await autocannon({
      url: `http://127.0.0.1:${FLOOR_PORT}`,
      connections: 16,
      overallRate: rate,
      duration: seconds,
      method: 'POST',
      body: '{"indicator":"V2_CODAGE"}',
    });
    return { p50: r.latency.p50, p99: r.latency.p99 };
  } finally {
    server.close();
  }
}

/** After a bulk load, as an operator would: statistics, and no checkpoint debt left for the next phase. */
async function settle(env: Record<string, string>, kind: 'postgres' | 'embedded', schema: string): Promise<void> {
  await withStores(loadConfig(env), async ({ readDb }) => {
    await readDb.query(`VACUUM ANALYZE "${schema}".es_events`);
    await readDb.query(`VACUUM ANALYZE "${schema}".es_streams`);
    // The read models a rebuild just swapped in, too (autovacuum would otherwise do it mid-measure).
    const rm = schema === 'public' ? 'rm' : `${schema}_rm`;
    const { rows } = await readDb.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = $1`, [rm]);
    for (const { t } of rows) await readDb.query(`VACUUM ANALYZE "${rm}"."${t}"`);
    if (kind === 'postgres') await readDb.query('CHECKPOINT');
  });
}

/** The national measures extract of `lines / 13` doctors, as the CSV job reads it. */
function writeExtract(path: string, doctors: number, first: number, count: number, seed: string): number {
  const out: string[] = [CSV_COLUMNS.join(',')];
  for (let i = first; i < first + count; i += 1) {
    const index = i % doctors;
    const r = rngOf(seed, 'extract', index);
    for (const [indicator, m] of measuresOf(r)) {
      const row: Record<string, string> = { rpps: rppsOf(index), year: '2023', indicator };
      if (m.kind === 'rate') Object.assign(row, { numerator: String(m.numerator), denominator: String(m.denominator) });
      if (m.kind === 'count') row.numerator = String(m.numerator);
      if (m.kind === 'participation') row.participates = String(m.participates);
      if (m.kind === 'teletransmission')
        Object.assign(row, {
          numerator: String(m.numerator),
          denominator: String(m.denominator),
          teletransmittedPreviousYear: String(m.teletransmittedPreviousYear),
        });
      out.push(CSV_COLUMNS.map((c) => row[c] ?? '').join(','));
    }
  }
  writeFileSync(path, `${out.join('\n')}\n`);
  return out.length - 1;
}

async function importRun(env: Record<string, string>, path: string, source: string) {
  const config = loadConfig({ ...env, CLOCK: '2026-03-01T10:00:00+01:00', RUN_PROJECTOR: 'false' });
  const runtime = await openRuntime(config, { runProjector: false, projections: [] });
  try {
    const imports = new ImportsService(runtime, new DoctorYearReader(runtime));
    const t = performance.now();
    const r = await importMeasuresCsv(imports, path, source, { actor: { sub: 'bench-import', role: 'system' }, correlationId: `bench-${source}` });
    const ms = performance.now() - t;
    if (r.rejectedCount > 0) throw new Error(`import rejected ${r.rejectedCount} lines: ${JSON.stringify(r.rejected.slice(0, 3))}`);
    return { appended: r.appended, ms };
  } finally {
    await runtime.close();
  }
}

async function benchTarget(
  kind: 'postgres' | 'embedded',
  doctors: number,
  runs: number,
  work: string,
  stamp: string,
  memoryDoctors?: number,
): Promise<TargetResult> {
  const name = `bench_${stamp}_${kind === 'postgres' ? 'pg' : 'emb'}`;
  const env = envFor(kind, name, work);
  log(`${kind}: generating ${doctors} doctors`);
  const gen = await generate(env, doctors);
  log(`${kind}: ${gen.events} events in ${(gen.ms / 1000).toFixed(1)} s`);

  await settle(env, kind, kind === 'postgres' ? name : 'public');
  log(`${kind}: raw limit`);
  const raw = await withStores(loadConfig(env), ({ readDb }) => rawLimit(readDb, kind === 'postgres' ? name : 'public', runs));

  const rebuilds: Awaited<ReturnType<typeof rebuild>>[] = [];
  for (let run = 0; run < runs; run += 1) {
    log(`${kind}: rebuild ${run + 1}/${runs}`);
    rebuilds.push(await rebuild(env));
    log(`${kind}:   ${JSON.stringify(rebuilds.at(-1))}`);
  }

  log(`${kind}: replay`);
  const replays: Awaited<ReturnType<typeof replay>>[] = [];
  const samples = 300;
  const runtime = await openRuntime(loadConfig({ ...env, RUN_PROJECTOR: 'false' }), { runProjector: false, projections: [] });
  try {
    await replay(runtime, doctors, 30); // warm-up
    for (let run = 0; run < runs; run += 1) replays.push(await replay(runtime, doctors, samples));
  } finally {
    await runtime.close();
  }

  log(`${kind}: HTTP commands`);
  const rate = 300;
  const seconds = 15;
  await settle(env, kind, kind === 'postgres' ? name : 'public');
  const floors: Awaited<ReturnType<typeof httpFloor>>[] = [];
  for (let run = 0; run < runs; run += 1) floors.push(await httpFloor(rate, 5));
  const https = await http(env, doctors, rate, seconds, runs);

  log(`${kind}: import`);
  const extractDoctors = Math.min(doctors, kind === 'postgres' ? 20_000 : 5_000);
  const imports: { appended: number; ms: number }[] = [];
  let lines = 0;
  for (let run = 0; run < runs; run += 1) {
    const path = join(work, `extract-${kind}-${run}.csv`);
    lines = writeExtract(path, doctors, run * extractDoctors, extractDoctors, `run${run}`);
    imports.push(await importRun(env, path, `SNDS-BENCH-${run}`));
    log(`${kind}:   ${JSON.stringify(imports.at(-1))}`);
  }

  let memory: TargetResult['memory'];
  if (memoryDoctors) {
    const small = `${name}_small`;
    const smallEnv = envFor(kind, small, work);
    log(`${kind}: memory at ${memoryDoctors} doctors`);
    const g = await generate(smallEnv, memoryDoctors);
    const rs: Awaited<ReturnType<typeof rebuild>>[] = [];
    for (let run = 0; run < runs; run += 1) rs.push(await rebuild(smallEnv));
    memory = { doctors: memoryDoctors, events: g.events, maxRssMb: stat(rs.map((r) => r.maxRssMb)), heapUsedPeakMb: stat(rs.map((r) => r.heapUsedPeakMb)) };
    await dropTarget(kind, small, work);
  }
  await dropTarget(kind, name, work);

  return {
    kind,
    doctors,
    events: gen.events,
    generate: { ms: gen.ms, eventsPerSec: gen.events / (gen.ms / 1000) },
    raw,
    importRun: { lines, eventsPerSec: stat(imports.map((r) => r.appended / (r.ms / 1000))) },
    rebuild: {
      eventsPerSec: stat(rebuilds.map((r) => r.events / (r.ms / 1000))),
      seconds: stat(rebuilds.map((r) => r.ms / 1000)),
      maxRssMb: stat(rebuilds.map((r) => r.maxRssMb)),
      heapUsedPeakMb: stat(rebuilds.map((r) => r.heapUsedPeakMb)),
    },
    replay: {
      nowP50: stat(replays.map((r) => r.nowP50)),
      nowP99: stat(replays.map((r) => r.nowP99)),
      pastP50: stat(replays.map((r) => r.pastP50)),
      pastP99: stat(replays.map((r) => r.pastP99)),
      samples,
    },
    http: {
      rate,
      seconds,
      p50: stat(https.map((r) => r.p50)),
      p99: stat(https.map((r) => r.p99)),
      achievedRps: stat(https.map((r) => r.rps)),
      errors: https.reduce((s, r) => s + r.errors, 0),
      non2xx: https.reduce((s, r) => s + r.non2xx, 0),
      floorP50: stat(floors.map((f) => f.p50)),
      floorP99: stat(floors.map((f) => f.p99)),
    },
    memory,
  };
}

async function dropTarget(kind: 'postgres' | 'embedded', name: string, work: string): Promise<void> {
  if (kind === 'embedded') {
    rmSync(join(work, name), { recursive: true, force: true });
    return;
  }
  const { PgDatabase } = await import('@forfait/store');
  const db = new PgDatabase(PG_URL);
  await db.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  await db.query(`DROP SCHEMA IF EXISTS "${name}_rm" CASCADE`);
  await db.close();
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }).replace(/,/g, ' ');
const show = (s: Stat, digits = 0, unit = '') => `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
const ratio = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;

function markdown(results: TargetResult[], runs: number, started: Date, commit: string): string {
  const lines: string[] = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (apps/bench/src/main.ts); figures are what that run measured, nothing is edited by hand.',
    '',
    `- Date: ${started.toISOString()}`,
    `- Commit: ${commit}`,
    `- Machine: ${machine()}; PostgreSQL ${pgVersion}`,
    `- Each figure: median of ${runs} runs, (min–max) beside it. Latencies in ms.`,
    '- Dataset: `npm run cli -- generate --doctors N --seed bench` (one campaign, 2023), about 29 events per doctor-year.',
    '',
  ];
  for (const r of results) {
    const name = r.kind === 'postgres' ? 'PostgreSQL' : 'Embedded (PGlite)';
    lines.push(
      `## ${name}: ${fmt(r.doctors)} doctor-years, ${fmt(r.events)} events`,
      '',
      `Generator: ${fmt(r.events)} events written in ${fmt(r.generate.ms / 1000, 1)} s (${fmt(r.generate.eventsPerSec)} events/s), one run.`,
      '',
      '| Figure | Measured | Raw limit (same run) | Ratio to raw |',
      '|---|---|---|---|',
      `| Import of a measures extract (${fmt(r.importRun.lines)} CSV lines, events/s) | ${show(r.importRun.eventsPerSec)} | multi-row INSERT into a bare table: ${show(r.raw.insertRowsPerSec)} rows/s | ${ratio(r.importRun.eventsPerSec.median, r.raw.insertRowsPerSec.median)} |`,
      `| Full rebuild of every projection (events/s) | ${show(r.rebuild.eventsPerSec)} | plain SELECT from the bare table: ${show(r.raw.selectRowsPerSec)} rows/s | ${ratio(r.rebuild.eventsPerSec.median, r.raw.selectRowsPerSec.median)} |`,
      `| Full rebuild, wall time (s) | ${show(r.rebuild.seconds, 1)} | reading the events alone at the raw rate: ${fmt(r.events / r.raw.selectRowsPerSec.median, 1)} s | ${ratio(r.events / r.raw.selectRowsPerSec.median, r.rebuild.seconds.median)} of raw speed |`,
      `| Full rebuild, peak memory (maxRSS MB / heap used MB) | ${show(r.rebuild.maxRssMb)} / ${show(r.rebuild.heapUsedPeakMb)} | | |`,
      `| Entitlement replay, now, p50 / p99 (ms) | ${show(r.replay.nowP50, 2)} / ${show(r.replay.nowP99, 2)} | SELECT of one stream's rows by an index: ${show(r.raw.lookupP50Ms, 2)} / ${show(r.raw.lookupP99Ms, 2)} | p99 ×${(r.replay.nowP99.median / r.raw.lookupP99Ms.median).toFixed(1)} |`,
      `| Entitlement replay as known at 2024-01-31, p50 / p99 (ms) | ${show(r.replay.pastP50, 2)} / ${show(r.replay.pastP99, 2)} | (same) | p99 ×${(r.replay.pastP99.median / r.raw.lookupP99Ms.median).toFixed(1)} |`,
      `| HTTP command (declaration) at ${r.http.rate} req/s for ${r.http.seconds} s, p50 / p99 (ms) | ${show(r.http.p50, 1)} / ${show(r.http.p99, 1)}; achieved ${show(r.http.achievedRps)} req/s; ${r.http.non2xx} non-2xx, ${r.http.errors} errors | a bare Node HTTP server, same tool and rate: ${show(r.http.floorP50, 1)} / ${show(r.http.floorP99, 1)}; one-row INSERT transaction: ${show(r.raw.insertOneP50Ms, 2)} / ${show(r.raw.insertOneP99Ms, 2)} | p99 ×${(r.http.p99.median / r.http.floorP99.median).toFixed(1)} the bare server |`,
      '',
    );
    if (r.memory) {
      lines.push(
        `Memory of the rebuild against dataset size: ${fmt(r.memory.events)} events → maxRSS ${show(r.memory.maxRssMb)} MB, heap ${show(r.memory.heapUsedPeakMb)} MB; ${fmt(r.events)} events → maxRSS ${show(r.rebuild.maxRssMb)} MB, heap ${show(r.rebuild.heapUsedPeakMb)} MB.`,
        '',
      );
    }
  }
  const pg = results.find((r) => r.kind === 'postgres');
  if (pg) {
    const check = (ok: boolean) => (ok ? 'met' : '**missed**');
    const importRatio = pg.importRun.eventsPerSec.median / pg.raw.insertRowsPerSec.median;
    lines.push(
      '## Targets (PostgreSQL, this machine)',
      '',
      '| Target | Measured (median) | |',
      '|---|---|---|',
      `| Import ≥ 50 % of the raw insert rate | ${(importRatio * 100).toFixed(0)} % | ${check(importRatio >= 0.5)} |`,
      `| Rebuild of 120 000 doctor-years ≤ 90 s | ${fmt(pg.rebuild.seconds.median, 1)} s for ${fmt(pg.doctors)} doctor-years (${fmt(pg.events)} events) | ${pg.doctors >= 120_000 ? check(pg.rebuild.seconds.median <= 90) : 'not measured at 120 000'} |`,
      `| Replay p99 ≤ 20 ms (now / as known at a past instant) | ${fmt(pg.replay.nowP99.median, 1)} / ${fmt(pg.replay.pastP99.median, 1)} ms | ${check(pg.replay.nowP99.median <= 20 && pg.replay.pastP99.median <= 20)} |`,
      `| API command p99 ≤ 30 ms at 300 requests/s | ${fmt(pg.http.p99.median, 1)} ms at ${fmt(pg.http.achievedRps.median)} req/s | ${check(pg.http.p99.median <= 30 && pg.http.achievedRps.median >= 295)} |`,
      `| Memory bounded by the batch, not the dataset | rebuild maxRSS ${pg.memory ? `${fmt(pg.memory.maxRssMb.median)} MB at ${fmt(pg.memory.events)} events, ` : ''}${fmt(pg.rebuild.maxRssMb.median)} MB at ${fmt(pg.events)} events | ${pg.memory ? check(pg.rebuild.maxRssMb.median <= pg.memory.maxRssMb.median * 1.5) : 'one size only'} |`,
      '',
    );
  }
  if (storeSection) lines.push(storeSection, '');
  if (existsSync(ANALYSIS)) lines.push(readFileSync(ANALYSIS, 'utf8').trim(), '');
  return `${lines.join('\n')}\n`;
}

const STORE_START = '<!-- store-workloads:start -->';
const STORE_END = '<!-- store-workloads:end -->';

/** The write path beside its peer (issue 14) and the sealer (issue 15), between markers: `--only store` replaces just this. */
function storeMarkdown(f: WorkloadFigures, started: Date, commit: string, rounds: number): string {
  const label: Record<string, string> = { store: 'this store', emmett: 'Emmett 0.42 (PostgreSQL)', raw: 'raw limit' };
  const m = (w: string, t: string) => medianOf(f.runs[w]?.[t as 'store'] ?? [Number.NaN]);
  const cell = (w: string, t: string, digits = 0) => {
    const runs = f.runs[w]?.[t as 'store'] ?? [];
    if (runs.length === 0) return 'not measured';
    return `${fmt(medianOf(runs), digits)} (${runs.map((r) => fmt(r, digits)).join(', ')})`;
  };
  const ratioTo = (w: string, lowerIsBetter = false) => {
    const r = lowerIsBetter ? m(w, 'emmett') / m(w, 'store') : m(w, 'store') / m(w, 'emmett');
    return `×${r.toFixed(2)}`;
  };
  const check = (ok: boolean) => (ok ? 'met' : '**missed**');
  const c = (t: string) => {
    const x = f.correctness[t as 'store'];
    return x ? `${fmt(x.missed)} never delivered, ${fmt(x.duplicated)} twice, of ${fmt(x.written)} written` : 'n/a';
  };
  const lines = [
    STORE_START,
    '## Write path: this store beside Emmett and the raw limit (issue 14)',
    '',
    `Written by \`npm run bench -- --only store\` (apps/bench/src/store-workloads.ts), also part of the full run. Date ${started.toISOString()}, commit ${commit}, ${machine()}, PostgreSQL ${pgVersion}.`,
    `Load: ${f.load}. The bench itself keeps both cores of this machine busy (a load average about 2); well above that, other work shared the machine and its PostgreSQL during the run, and the figures are of a loaded machine.`,
    '',
    `Same PostgreSQL, one database of the run's own, ${rounds} rounds interleaved (each round runs every workload on each target in turn); median, then each round's figure. Events: an IndicatorDeclared-sized payload with its envelope. Writers append with the expected revision they know (one writer per stream); W1/W1b 3 000 appends, W2 300 appends of 30 events. W3: 500 reads of a W2 stream (30 events). W4: everything in the database, in global order, 1 000 a batch. Raw: the same rows into a bare table (bigserial, no key, no index, no check), one INSERT per append.`,
    '',
    `| workload | ${label.store} | ${label.emmett} | ${label.raw} | ratio to Emmett | target | |`,
    '|---|---|---|---|---|---|---|',
    `| W1 single-event appends with expected revision, 8 in flight (appends/s) | ${cell('W1', 'store')} | ${cell('W1', 'emmett')} | ${cell('W1', 'raw')} | ${ratioTo('W1')} | ≥ ×1.5 | ${check(m('W1', 'store') >= 1.5 * m('W1', 'emmett'))} |`,
    `| W1b the same, 32 in flight (appends/s) | ${cell('W1b', 'store')} | ${cell('W1b', 'emmett')} | ${cell('W1b', 'raw')} | ${ratioTo('W1b')} | ≥ ×3 | ${check(m('W1b', 'store') >= 3 * m('W1b', 'emmett'))} |`,
    `| W2 30-event appends, 4 in flight (events/s) | ${cell('W2', 'store')} | ${cell('W2', 'emmett')} | ${cell('W2', 'raw')} | ${ratioTo('W2')} | ≥ ×1.2 | ${check(m('W2', 'store') >= 1.2 * m('W2', 'emmett'))} |`,
    `| W3 read one stream, p99 (ms) | ${cell('W3', 'store', 2)} | ${cell('W3', 'emmett', 2)} | ${cell('W3', 'raw', 2)} | ${ratioTo('W3', true)} (faster) | ≤ 2.6 ms (before) | ${check(m('W3', 'store') <= 2.6)} |`,
    `| W4 read all in global order (events/s) | ${cell('W4', 'store')} | ${cell('W4', 'emmett')} | ${cell('W4', 'raw')} | ${ratioTo('W4')} | ≥ 137 000 (before) | ${check(m('W4', 'store') >= 137_000)} |`,
    `| W4 correctness: a reader resuming from the position of its last batch while 8 writers append (${rounds} × 3 000 appends) | ${c('store')} | ${c('emmett')} | ${c('raw')} | | none lost, none twice | ${check((f.correctness.store?.missed ?? 1) === 0 && (f.correctness.store?.duplicated ?? 1) === 0)} |`,
    '',
    `Refused or failed appends seen by the writers (each writer knows its streams' revisions, so any is a defect): ${TARGETS.map((t) => `${label[t]} ${f.failures[t] ?? 0}`).join(', ')}.`,
    '',
  ];
  if (f.embedded) {
    lines.push(
      `Embedded store (PGlite in memory, in process, same workloads): W1 ${fmt(medianOf(f.embedded.w1PerSec))} appends/s (${f.embedded.w1PerSec.map((r) => fmt(r)).join(', ')}), W1b ${fmt(medianOf(f.embedded.w1bPerSec))} appends/s (${f.embedded.w1bPerSec.map((r) => fmt(r)).join(', ')}); target ≥ 300 commands/s: ${check(medianOf(f.embedded.w1PerSec) >= 300)} at the store (the HTTP figure of the embedded section, when the full run is made, adds the API).`,
      '',
    );
  }
  if (f.embeddedApi) {
    const a = f.embeddedApi;
    lines.push(
      `Embedded store through the API (a process of its own, projector in it, ${fmt(a.doctors)} generated doctor-years${a.catchUpMs !== undefined ? `; measured once its projections and the log sealer had caught up with the generated history, ${fmt(a.catchUpMs / 1000, 1)} s of catch-up after /health first answered` : ''}): declarations at ${a.rate} req/s for ${a.seconds} s, ${a.p99.length} runs: achieved ${fmt(medianOf(a.rps))} req/s (${a.rps.map((r) => fmt(r)).join(', ')}), p50 ${fmt(medianOf(a.p50), 1)} ms, p99 ${fmt(medianOf(a.p99), 1)} ms (${a.p99.map((r) => fmt(r, 1)).join(', ')}); ${a.non2xx} non-2xx, ${a.errors} errors; target ≥ 300 commands/s: ${check(medianOf(a.rps) >= 295 && a.non2xx === 0 && a.errors === 0)}.`,
      '',
    );
  }
  if (f.sealer) {
    lines.push(
      `Log sealer (issue 15): ${fmt(f.sealer.events)} entries sealed into the RFC 6962 tree from an empty tree (the projector's sealer: leaves, nodes, its checkpoint in the same transaction, a signed checkpoint every 10 000 entries; latest at ${fmt(f.sealer.checkpointSize)}) in ${f.sealer.seconds.map((x) => fmt(x, 1)).join(', ')} s: ${fmt(medianOf(f.sealer.entriesPerSec))} entries/s (${f.sealer.entriesPerSec.map((r) => fmt(r)).join(', ')}), beside W2's ingest of ${fmt(m('W2', 'store'))} events/s.`,
      '',
    );
  }
  lines.push(STORE_END);
  return lines.join('\n');
}

/** Written by hand (profiles, what was changed, before and after): appended as it is. */
const ANALYSIS = resolve('docs', 'benchmarks-analysis.md');

let pgVersion = 'unknown';
let storeSection: string | undefined;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      doctors: { type: 'string', default: '120000' },
      'embedded-doctors': { type: 'string', default: '10000' },
      'memory-doctors': { type: 'string', default: '30000' },
      /** --only store, embedded-api, postgres-api: doctors of the API's dataset. */
      'api-doctors': { type: 'string', default: '4000' },
      /** --only store, embedded-api, postgres-api: the declarations asked a second (300: the target's; more shows what is left beyond it). */
      'api-rate': { type: 'string', default: '300' },
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      out: { type: 'string', default: 'docs/benchmarks.md' },
      /** Re-renders docs/benchmarks.md from a run's saved figures (var/bench/results-*.json), measuring nothing. */
      'from-results': { type: 'string' },
      /** --only integrity: the store sizes (events) GET /v1/integrity is measured on. */
      'integrity-sizes': { type: 'string', default: '100000,400000' },
    },
  });
  if (values['from-results']) {
    const raw = JSON.parse(readFileSync(values['from-results'], 'utf8')) as
      TargetResult[] | { started: string; commit: string; runs: number; pgVersion: string; results: TargetResult[] };
    // Files of the first version held the results alone: the header comes from the page that run wrote.
    const page = existsSync(values.out) ? readFileSync(values.out, 'utf8') : '';
    const saved = Array.isArray(raw)
      ? {
          results: raw,
          started: /- Date: (\S+)/.exec(page)?.[1] ?? new Date(0).toISOString(),
          commit: /- Commit: (.+)/.exec(page)?.[1] ?? 'unknown',
          runs: raw[0]?.rebuild.seconds.runs.length ?? 0,
          pgVersion: /PostgreSQL (.+)$/m.exec(/- Machine: .*/.exec(page)?.[0] ?? '')?.[1] ?? 'unknown',
        }
      : raw;
    pgVersion = saved.pgVersion;
    // The sections other runs wrote between their markers (`--only store`, `--only console`) are
    // not in the saved figures: kept from the page as they are.
    storeSection = sectionOf(page, STORE_START, STORE_END);
    const consoleSection = sectionOf(page, CONSOLE_START, CONSOLE_END);
    writeFileSync(values.out, markdown(saved.results, saved.runs, new Date(saved.started), saved.commit));
    if (consoleSection) writeConsoleSection(values.out, consoleSection);
    const integritySection = sectionOf(page, INTEGRITY_START, INTEGRITY_END);
    if (integritySection) writeIntegritySection(values.out, integritySection);
    process.stdout.write(`re-rendered ${values.out} from ${values['from-results']}\n`);
    return;
  }
  if (values.only === 'integrity') {
    // GET /v1/integrity's cost per call at two store sizes (integrity-workload.ts): its section of the page, the rest kept.
    const figures = await benchIntegrity(PG_URL, values['integrity-sizes'].split(',').map(Number), Number(values.runs), gitCommit());
    writeIntegritySection(values.out, integrityMarkdown(figures));
    process.stdout.write(`${integrityMarkdown(figures)}\n`);
    return;
  }
  if (values.only === 'console') {
    // The console's figure alone (console-render.ts): its section of the page, the rest kept.
    writeConsoleSection(values.out, consoleMarkdown(await benchConsoleRender(), gitCommit()));
    process.stdout.write(`${readFileSync(values.out, 'utf8')}\n`);
    return;
  }
  const started = new Date();
  const stamp = started.getTime().toString(36);
  const work = resolve('var', 'bench');
  mkdirSync(work, { recursive: true });
  const runs = Number(values.runs);
  const commit = gitCommit();
  const { PgDatabase } = await import('@forfait/store');
  const pg = new PgDatabase(PG_URL);
  pgVersion = (await pg.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  await pg.close();
  const uptime = () => {
    try {
      return execFileSync('uptime').toString().trim();
    } catch {
      return 'uptime unavailable';
    }
  };
  if (values.only === 'postgres-api') {
    // The HTTP figure on PostgreSQL alone (the API in its process, no projector), on a generated
    // dataset of --api-doctors: for working on it; prints the figures, writes nothing to the page.
    const name = `bench_${stamp}_pg_api`;
    const env = envFor('postgres', name, work);
    const doctors = Number(values['api-doctors']);
    log(`postgres API: generating ${doctors} doctors`);
    await generate(env, doctors);
    // The read models built, as the full run has them by then (the API waits for them to be caught up).
    await rebuild(env);
    await settle(env, 'postgres', name);
    const floors: Awaited<ReturnType<typeof httpFloor>>[] = [];
    for (let run = 0; run < runs; run += 1) floors.push(await httpFloor(300, 5));
    log(`  bare server: ${JSON.stringify(floors)}`);
    try {
      await http(env, doctors, Number(values['api-rate']), 15, runs);
    } finally {
      await dropTarget('postgres', name, work);
    }
    return;
  }
  const runStore = async () => {
    const before = uptime();
    const figures: WorkloadFigures =
      values.only === 'embedded-api' ? { runs: {}, correctness: {}, failures: {}, load: '' } : await storeWorkloads(PG_URL, stamp, runs);
    if (values.only === 'store' || values.only === 'embedded-api') {
      // The embedded store through its API (issue 14: ≥ 300 commands/s): a small generated
      // dataset, declarations at 300 req/s. The full run measures it on its embedded dataset.
      const env = envFor('embedded', `bench_${stamp}_emb_api`, work);
      const doctors = Number(values['api-doctors']);
      log(`embedded API: generating ${doctors} doctors`);
      await generate(env, doctors);
      const seconds = 10;
      const rate = Number(values['api-rate']);
      const out = await http(env, doctors, rate, seconds, runs);
      figures.embeddedApi = {
        doctors,
        rate,
        seconds,
        catchUpMs: out.catchUpMs,
        p50: out.map((r) => r.p50),
        p99: out.map((r) => r.p99),
        rps: out.map((r) => r.rps),
        non2xx: out.reduce((n, r) => n + r.non2xx, 0),
        errors: out.reduce((n, r) => n + r.errors, 0),
      };
      await dropTarget('embedded', `bench_${stamp}_emb_api`, work);
    }
    figures.load = `\`uptime\` before: ${before}; after: ${uptime()}`;
    writeFileSync(join(work, `store-${stamp}.json`), JSON.stringify({ started: started.toISOString(), commit, runs, pgVersion, figures }, null, 2));
    return storeMarkdown(figures, started, commit, runs);
  };
  if (values.only === 'store' || values.only === 'embedded-api') {
    const section = await runStore();
    if (values.only === 'embedded-api') {
      process.stdout.write(`${section}\n`);
      return;
    }
    // The other figures stay as the last full run wrote them; the store section is replaced (or
    // put before the analysis), and the analysis is the file's as it is now.
    const page = existsSync(values.out) ? readFileSync(values.out, 'utf8') : '# Benchmarks\n';
    const analysisAt = page.indexOf('## Analysis (written by hand');
    let head = analysisAt >= 0 ? page.slice(0, analysisAt) : page;
    const a = head.indexOf(STORE_START);
    const b = head.indexOf(STORE_END);
    head = a >= 0 && b > a ? `${head.slice(0, a)}${section}${head.slice(b + STORE_END.length)}` : `${head.trimEnd()}\n\n${section}\n`;
    const text = `${head.trimEnd()}\n\n${existsSync(ANALYSIS) ? `${readFileSync(ANALYSIS, 'utf8').trim()}\n` : ''}`;
    writeFileSync(values.out, text);
    process.stdout.write(`${section}\n`);
    return;
  }
  storeSection = await runStore();
  const results: TargetResult[] = [];
  if (values.only !== 'embedded') results.push(await benchTarget('postgres', Number(values.doctors), runs, work, stamp, Number(values['memory-doctors'])));
  if (values.only !== 'postgres') results.push(await benchTarget('embedded', Number(values['embedded-doctors']), runs, work, stamp));
  const text = markdown(results, runs, started, commit);
  mkdirSync(resolve(values.out, '..'), { recursive: true });
  const stream = createWriteStream(values.out);
  stream.end(text);
  await once(stream, 'finish');
  writeFileSync(join(work, `results-${stamp}.json`), JSON.stringify({ started: started.toISOString(), commit, runs, pgVersion, results }, null, 2));
  if (!values.only) writeConsoleSection(values.out, consoleMarkdown(await benchConsoleRender(), commit));
  if (!values.only)
    writeIntegritySection(values.out, integrityMarkdown(await benchIntegrity(PG_URL, values['integrity-sizes'].split(',').map(Number), runs, commit)));
  process.stdout.write(readFileSync(values.out, 'utf8'));
}

function gitCommit(): string {
  try {
    return (
      execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim() +
      (execFileSync('git', ['status', '--porcelain']).toString().trim() ? ' (with uncommitted changes)' : '')
    );
  } catch {
    return 'unknown';
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
