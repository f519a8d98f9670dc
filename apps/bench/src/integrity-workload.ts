import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cpus } from 'node:os';
import { SystemClock } from '@forfait/platform';
import { IncrementalIntegrity, PgDatabase, SqlEventStore, TransparencyLog, generateSignerKey, parseSignerKey, quoteIdent, verifyFully } from '@forfait/store';
import { ProjectionRunner } from '@forfait/read-models';
import { logSealer } from '../../../libs/read-models/src/log-sealer';
import { withSection } from './page-sections';
import { ourEvents } from './store-workloads';
import { median } from './stats';

/**
 * GET /v1/integrity's cost per call (issue 11, point 8): the same check the endpoint runs
 * (IncrementalIntegrity.check) on a store of N events sealed into the log, at two sizes, so that
 * the figure shows whether a call's cost grows with the store. Steady state: a call after one
 * that verified everything, then a call after 1 000 new events; beside them the full check
 * (`cli verify`, the job), which does read everything. The generated stores are kept between
 * runs (schemas `bench_integrity_<N>`), so a change can be measured against the previous code on
 * the same data.
 */

export const INTEGRITY_START = '<!-- integrity:start -->';
export const INTEGRITY_END = '<!-- integrity:end -->';
const log = (line: string) => process.stderr.write(`[bench integrity] ${line}\n`);
const EVENTS_PER_STREAM = 10;

export interface IntegritySize {
  events: number;
  streams: number;
  /** Per call, ms: the first call (everything new), calls with nothing new, calls after 1 000 new events. */
  firstMs: number;
  steadyMs: number[];
  afterAppendMs: number[];
  fullMs: number;
}

export interface IntegrityFigures {
  at: string;
  commit: string;
  machine: string;
  sizes: IntegritySize[];
}

async function measureSize(url: string, total: number, runs: number): Promise<IntegritySize> {
  const db = new PgDatabase({ connectionString: url, max: 10 });
  const es = `bench_integrity_${total}`;
  const rm = `${es}_rm`;
  const clock = new SystemClock();
  try {
    const store = await SqlEventStore.open({ db, clock, schema: es, ownsDatabase: false });
    // The log's key kept beside the generated store: checkpoints signed by a run stay valid in the next.
    const keyFile = resolve('var', 'bench', `${es}.signer-key`);
    if (!existsSync(keyFile)) {
      await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(rm)} CASCADE`);
      mkdirSync(dirname(keyFile), { recursive: true });
      writeFileSync(keyFile, generateSignerKey('bench.forfait/log'));
    }
    const signer = parseSignerKey(readFileSync(keyFile, 'utf8'));
    const tlog = new TransparencyLog(db, rm, signer, {
      checkpointEveryEvents: 10_000,
      checkpointIntervalMs: 3_600_000,
      witnessKeys: [],
      now: () => clock.now(),
    });
    const seal = async () => {
      const runner = new ProjectionRunner(store, db, [logSealer(tlog)], rm, { batchSize: 2000 });
      await runner.start();
      await runner.waitFor(await store.headPosition(), 1_800_000);
      await runner.stop();
      await tlog.signIfDue(db, true);
    };
    let head = await store.headPosition();
    if (head < BigInt(total)) {
      log(`${es}: generating ${total - Number(head)} events (${EVENTS_PER_STREAM} per stream)`);
      for (let i = Number(head); i < total; i += 50 * EVENTS_PER_STREAM) {
        await store.appendBatch(
          Array.from({ length: 50 }, (_, k) => ({
            streamId: `declaration-1${String(i / EVENTS_PER_STREAM + k).padStart(10, '0')}-2023`,
            events: ourEvents(EVENTS_PER_STREAM),
            expectedRevision: 'no_stream' as const,
          })),
        );
      }
      head = await store.headPosition();
    }
    log(`${es}: sealing up to ${head}`);
    await seal();
    // Statistics as a running database has them (autovacuum analyses a table after its inserts in time).
    for (const table of [`${quoteIdent(es)}.es_events`, `${quoteIdent(es)}.es_streams`, `${quoteIdent(rm)}.log_leaves`, `${quoteIdent(rm)}.log_nodes`])
      await db.query(`ANALYZE ${table}`);
    // Each run starts from no verified state, as a caisse's first call would.
    await db.query(`DROP TABLE IF EXISTS ${quoteIdent(rm)}.integrity_state, ${quoteIdent(rm)}.integrity_heads`);
    const integrity = new IncrementalIntegrity(store, db, rm, tlog);
    const timed = async (): Promise<number> => {
      const t = performance.now();
      const report = await integrity.check();
      const ms = performance.now() - t;
      if (!report.ok) throw new Error(`integrity reported problems on the generated store: ${JSON.stringify(report.problems.slice(0, 3))}`);
      return ms;
    };
    const firstMs = await timed();
    log(`${es}: first call ${firstMs.toFixed(0)} ms`);
    const steadyMs: number[] = [];
    const afterAppendMs: number[] = [];
    for (let r = 0; r < runs; r += 1) {
      steadyMs.push(await timed());
      await store.appendBatch(
        Array.from({ length: 100 }, (_, k) => ({
          streamId: `integrity-extra-${randomUUID()}-${k}`,
          events: ourEvents(10),
          expectedRevision: 'no_stream' as const,
        })),
      );
      await seal();
      afterAppendMs.push(await timed());
      log(`${es}: steady ${steadyMs.at(-1)!.toFixed(0)} ms, after 1 000 new events ${afterAppendMs.at(-1)!.toFixed(0)} ms`);
    }
    const t = performance.now();
    const full = await verifyFully({ store, db, schema: rm, log: tlog }, { now: () => new Date() });
    const fullMs = performance.now() - t;
    if (!full.ok) throw new Error('the full check reported problems on the generated store');
    log(`${es}: full check ${fullMs.toFixed(0)} ms`);
    const streams = Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(es)}.es_streams`)).rows[0]!.n);
    return { events: Number(await store.headPosition()), streams, firstMs, steadyMs, afterAppendMs, fullMs };
  } finally {
    await db.close();
  }
}

export async function benchIntegrity(url: string, sizes: number[], runs: number, commit: string): Promise<IntegrityFigures> {
  const out: IntegritySize[] = [];
  for (const size of sizes) out.push(await measureSize(url, size, runs));
  let load = '';
  try {
    load = execFileSync('uptime').toString().trim();
  } catch {
    load = 'uptime unavailable';
  }
  return { at: new Date().toISOString(), commit, machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${load}`, sizes: out };
}

export function integrityMarkdown(f: IntegrityFigures): string {
  const ms = (v: number) => `${Math.round(v).toLocaleString('en-US')} ms`;
  const rows = f.sizes.map(
    (s) =>
      `| ${s.events.toLocaleString('en-US')} | ${s.streams.toLocaleString('en-US')} | ${ms(s.firstMs)} | ${ms(median(s.steadyMs))} | ${ms(median(s.afterAppendMs))} | ${ms(s.fullMs)} |`,
  );
  return [
    INTEGRITY_START,
    '## GET /v1/integrity per call (issue 11, point 8)',
    '',
    `- Date: ${f.at}; commit: ${f.commit}`,
    `- Machine: ${f.machine}`,
    "- What: `IncrementalIntegrity.check()` (the endpoint's check) on a PostgreSQL store of N events (10 per stream) sealed into the log;",
    '  first call with nothing verified, then medians of calls with nothing new and of calls after 1 000 new events; the full check',
    '  (`cli verify`, the `full-verification` job) beside them. `npm run bench -- --only integrity`.',
    '',
    '| events | streams | first call | call, nothing new | call after 1 000 events | full check |',
    '|---|---|---|---|---|---|',
    ...rows,
    INTEGRITY_END,
  ].join('\n');
}

export function writeIntegritySection(path: string, section: string): void {
  const page = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  writeFileSync(path, withSection(page, section, INTEGRITY_START, INTEGRITY_END));
}
