import { randomUUID } from 'node:crypto';
import { ManualClock, SystemClock } from '@forfait/platform';
import { ConcurrencyError, type NewEvent, type RecordedEvent } from '@forfait/events';
import { PgDatabase, PGliteDatabase, SqlEventStore, TransparencyLog, generateSignerKey, parseSignerKey, quoteIdent } from '@forfait/store';
import { ProjectionRunner } from '@forfait/read-models';
import { logSealer } from '../../../libs/read-models/src/log-sealer';
import { getPostgreSQLEventStore, readMessagesBatch, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import { dumbo } from '@event-driven-io/dumbo';
import { percentile } from './stats';

/**
 * The write path beside its peer (issue 14): this store, Emmett's PostgreSQL store (the
 * TypeScript peer a user would pick) and the raw limit (the same rows into a bare table), on the
 * same PostgreSQL, in one run, interleaved (each round runs every workload on each target in
 * turn), medians of the rounds. Plus the embedded store and the log sealer's throughput.
 */

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export type TargetName = 'store' | 'emmett' | 'raw';
export const TARGETS: TargetName[] = ['store', 'emmett', 'raw'];

export interface WorkloadFigures {
  /** Per workload, per target: one figure per round. */
  runs: Record<string, Partial<Record<TargetName, number[]>>>;
  /** W4 under concurrent appends: events never delivered / delivered twice by each target's reader, summed over the rounds. */
  correctness: Partial<Record<TargetName, { delivered: number; missed: number; duplicated: number; written: number }>>;
  /** Refusals and failures seen by the writers (this store: ConcurrencyError retries must be 0 with known revisions). */
  failures: Partial<Record<TargetName, number>>;
  embedded?: { w1PerSec: number[]; w1bPerSec: number[] };
  embeddedApi?: {
    doctors: number;
    rate: number;
    seconds: number;
    /** How long the API took to project the generated history before the first measure. */ catchUpMs?: number;
    p50: number[];
    p99: number[];
    rps: number[];
    non2xx: number;
    errors: number;
  };
  sealer?: { events: number; seconds: number[]; entriesPerSec: number[]; checkpointSize: number };
  load: string;
}

interface Target {
  name: TargetName;
  /** Appends `events` to `stream`, whose last revision the writer knows (-1: no stream). */
  append(stream: string, events: number, revision: number): Promise<void>;
  readStream(stream: string): Promise<number>;
  /** Reads everything after `after`, a batch of `max`; answers the ids and the position to resume from. */
  readBatch(after: bigint, max: number): Promise<{ ids: string[]; next: bigint }>;
  close(): Promise<void>;
}

const payload = (i: number) => ({ rpps: '10000000008', year: 2023, indicator: 'V2_CODAGE', value: { answer: i % 3 !== 0 }, attestation: true });
const metadataOf = () => ({
  effectiveAt: '2024-01-15T10:30:00.000Z',
  actor: { sub: 'doctor-10000000008', role: 'doctor' as const, rpps: '10000000008' },
  channel: 'amelipro' as const,
  correlationId: randomUUID(),
  causationId: null,
});

/** `count` declaration events of the shape every bench workload appends. */
export function ourEvents(count: number): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    eventId: randomUUID(),
    type: 'IndicatorDeclared',
    schemaVersion: 1,
    data: payload(i),
    metadata: metadataOf(),
  }));
}

async function openOurs(url: string, schema: string): Promise<Target & { store: SqlEventStore }> {
  const db = new PgDatabase({ connectionString: url, max: 10 });
  const store = await SqlEventStore.open({ db, clock: new SystemClock(), schema });
  return {
    name: 'store',
    store,
    append: async (stream, events, revision) => {
      await store.append(stream, ourEvents(events), { expectedRevision: revision < 0 ? 'no_stream' : revision });
    },
    readStream: async (stream) => (await store.readStream(stream)).length,
    readBatch: async (after, max) => {
      const batch = await store.readAll({ after, maxCount: max });
      return { ids: batch.map((e) => e.eventId), next: batch.at(-1)?.position ?? after };
    },
    close: () => store.close(),
  };
}

async function openEmmett(url: string): Promise<Target> {
  const store: PostgresEventStore = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true } } as never);
  await store.schema.migrate();
  const pool = dumbo({ connectionString: url });
  return {
    name: 'emmett',
    append: async (stream, events, revision) => {
      await store.appendToStream(
        stream,
        Array.from({ length: events }, (_, i) => ({ type: 'IndicatorDeclared', data: payload(i), metadata: metadataOf() })),
        // Emmett counts versions from 1 (0n: no stream).
        { expectedStreamVersion: BigInt(revision + 1) },
      );
    },
    readStream: async (stream) => (await store.readStream(stream)).events.length,
    readBatch: async (after, max) => {
      // Emmett's own reader, resumed by global position as its consumers do.
      const r = await readMessagesBatch(pool.execute, { after, batchSize: max });
      return { ids: r.messages.map((m) => (m.metadata as { messageId: string }).messageId), next: r.currentGlobalPosition };
    },
    close: async () => {
      await store.close();
      await pool.close();
    },
  };
}

async function openRaw(url: string, schema: string): Promise<Target> {
  const db = new PgDatabase({ connectionString: url, max: 10 });
  const s = quoteIdent(schema);
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
  await db.query(`CREATE TABLE ${s}.raw_events (position bigserial, event_id uuid, stream_id text, revision bigint, type text, schema_version integer,
    data jsonb, metadata jsonb, recorded_at timestamptz, effective_at timestamptz, prev_hash text, hash text)`);
  const hash = 'a'.repeat(64);
  return {
    name: 'raw',
    append: async (stream, events, revision) => {
      const params: unknown[] = [];
      const values = Array.from({ length: events }, (_, i) => {
        params.push(randomUUID(), stream, revision + 1 + i, JSON.stringify(payload(i)), JSON.stringify(metadataOf()));
        const b = params.length - 5;
        return `($${b + 1}, $${b + 2}, $${b + 3}, 'IndicatorDeclared', 1, $${b + 4}, $${b + 5}, now(), now(), '${hash}', '${hash}')`;
      });
      await db.query(
        `INSERT INTO ${s}.raw_events (event_id, stream_id, revision, type, schema_version, data, metadata, recorded_at, effective_at, prev_hash, hash) VALUES ${values.join(', ')}`,
        params,
      );
    },
    readStream: async (stream) => (await db.query(`SELECT * FROM ${s}.raw_events WHERE stream_id = $1`, [stream])).rows.length,
    readBatch: async (after, max) => {
      const { rows } = await db.query<{ position: string; event_id: string }>(`SELECT * FROM ${s}.raw_events WHERE position > $1 ORDER BY position LIMIT $2`, [
        after.toString(),
        max,
      ]);
      return { ids: rows.map((r) => r.event_id), next: rows.length > 0 ? BigInt(rows.at(-1)!.position) : after };
    },
    close: () => db.close(),
  };
}

/** `inFlight` writers, each on its own streams with known revisions, until `total` appends are done. */
async function appendLoad(
  target: Target,
  tag: string,
  total: number,
  inFlight: number,
  eventsPerAppend: number,
  failures: Partial<Record<TargetName, number>>,
): Promise<{ perSec: number; streams: string[] }> {
  const streamsPerWriter = 20;
  const streams: string[] = [];
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      const mine = Array.from({ length: streamsPerWriter }, (_, k) => `declaration-${tag}w${w}s${k}-2023`);
      streams.push(...mine);
      const revisions = mine.map(() => -1);
      for (let i = 0; next < total; i += 1) {
        next += 1;
        const k = i % streamsPerWriter;
        for (;;) {
          try {
            await target.append(mine[k]!, eventsPerAppend, revisions[k]!);
            revisions[k]! += eventsPerAppend;
            break;
          } catch (error) {
            // With known revisions and one writer per stream nothing may be refused; count it if it is.
            failures[target.name] = (failures[target.name] ?? 0) + 1;
            if (!(error instanceof ConcurrencyError) && !/version|concurrency/i.test(String(error))) throw error;
            revisions[k] = -2;
            break;
          }
        }
      }
    }),
  );
  return { perSec: (total * eventsPerAppend) / ((performance.now() - t) / 1000), streams };
}

/**
 * W4's correctness: a reader follows the log from the start while 8 writers append, resuming from
 * the position each batch answered; afterwards, every written id is looked for among the ids read.
 */
async function readerUnderLoad(
  target: Target,
  tag: string,
  failures: Partial<Record<TargetName, number>>,
): Promise<{ delivered: number; missed: number; duplicated: number; written: number }> {
  const start = await target.readBatch(0n, 1_000_000_000);
  const before = new Set(start.ids);
  let after = start.next;
  const seen: string[] = [];
  let writing = true;
  const reader = (async () => {
    for (;;) {
      const wasWriting = writing;
      const batch = await target.readBatch(after, 100);
      seen.push(...batch.ids);
      after = batch.next;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- `writing` is cleared by the writer while the reader awaits
      if (batch.ids.length === 0 && !wasWriting) return;
    }
  })();
  await appendLoad(target, tag, 3000, 8, 1, failures);
  writing = false;
  await reader;
  const all = await target.readBatch(0n, 1_000_000_000);
  const written = all.ids.filter((id) => !before.has(id));
  const counts = new Map<string, number>();
  for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
  let missed = 0;
  for (const id of written) if (!counts.has(id)) missed += 1;
  let duplicated = 0;
  for (const n of counts.values()) if (n > 1) duplicated += n - 1;
  return { delivered: seen.length, missed, duplicated, written: written.length };
}

export async function storeWorkloads(adminUrl: string, stamp: string, rounds: number): Promise<WorkloadFigures> {
  // A database of its own: Emmett's tables live in `public`, and every target shares the server.
  const dbName = `bench_store_${stamp}`;
  const admin = new PgDatabase(adminUrl);
  await admin.query(`CREATE DATABASE ${quoteIdent(dbName)}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const figures: WorkloadFigures = { runs: {}, correctness: {}, failures: {}, load: '' };
  const record = (workload: string, target: TargetName, value: number) => {
    const w = (figures.runs[workload] ??= {});
    (w[target] ??= []).push(value);
  };
  try {
    const targets: Target[] = [await openOurs(url.toString(), 'store'), await openEmmett(url.toString()), await openRaw(url.toString(), 'raw')];
    try {
      for (let round = 0; round < rounds; round += 1) {
        for (const target of targets) {
          const tag = `r${round}${target.name}`;
          const w1 = await appendLoad(target, `${tag}a`, 3000, 8, 1, figures.failures);
          record('W1', target.name, w1.perSec);
          const w1b = await appendLoad(target, `${tag}b`, 3000, 32, 1, figures.failures);
          record('W1b', target.name, w1b.perSec);
          const w2 = await appendLoad(target, `${tag}c`, 300, 4, 30, figures.failures);
          record('W2', target.name, w2.perSec);
          const latencies: number[] = [];
          for (let k = 0; k < 500; k += 1) {
            const stream = w2.streams[(k * 7919) % w2.streams.length]!;
            const t = performance.now();
            await target.readStream(stream);
            latencies.push(performance.now() - t);
          }
          record('W3', target.name, percentile(latencies, 99));
          let after = 0n;
          let read = 0;
          const t = performance.now();
          for (;;) {
            const batch = await target.readBatch(after, 1000);
            if (batch.ids.length === 0) break;
            read += batch.ids.length;
            after = batch.next;
          }
          record('W4', target.name, read / ((performance.now() - t) / 1000));
          const c = await readerUnderLoad(target, `${tag}d`, figures.failures);
          const sum = (figures.correctness[target.name] ??= { delivered: 0, missed: 0, duplicated: 0, written: 0 });
          sum.delivered += c.delivered;
          sum.missed += c.missed;
          sum.duplicated += c.duplicated;
          sum.written += c.written;
          log(
            `store workloads round ${round + 1}/${rounds}, ${target.name}: W1 ${w1.perSec.toFixed(0)}/s, W1b ${w1b.perSec.toFixed(0)}/s, W2 ${w2.perSec.toFixed(0)} ev/s, W3 p99 ${figures.runs.W3![target.name]!.at(-1)!.toFixed(2)} ms, W4 ${figures.runs.W4![target.name]!.at(-1)!.toFixed(0)} ev/s, reader missed ${c.missed} twice ${c.duplicated} of ${c.written}`,
          );
        }
      }
    } finally {
      for (const t of targets) await t.close().catch(() => undefined);
    }
    figures.sealer = await sealerThroughput(url.toString(), rounds);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`).catch(() => undefined);
    await admin.close();
  }
  figures.embedded = await embeddedAppends(rounds);
  return figures;
}

/** The embedded store (PGlite, in memory, in process): W1 and W1b, appends per second. */
async function embeddedAppends(rounds: number): Promise<{ w1PerSec: number[]; w1bPerSec: number[] }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGliteDatabase(await PGlite.create());
  const store = await SqlEventStore.open({ db, clock: new SystemClock() });
  const target: Target = {
    name: 'store',
    append: async (stream, events, revision) => {
      await store.append(stream, ourEvents(events), { expectedRevision: revision < 0 ? 'no_stream' : revision });
    },
    readStream: () => Promise.resolve(0),
    readBatch: () => Promise.resolve({ ids: [], next: 0n }),
    close: () => store.close(),
  };
  const out = { w1PerSec: [] as number[], w1bPerSec: [] as number[] };
  try {
    for (let round = 0; round < rounds; round += 1) {
      out.w1PerSec.push((await appendLoad(target, `e${round}a`, 2000, 8, 1, {})).perSec);
      out.w1bPerSec.push((await appendLoad(target, `e${round}b`, 2000, 32, 1, {})).perSec);
      log(`embedded round ${round + 1}: W1 ${out.w1PerSec.at(-1)!.toFixed(0)}/s, W1b ${out.w1bPerSec.at(-1)!.toFixed(0)}/s`);
    }
  } finally {
    await store.close();
  }
  return out;
}

/**
 * The log sealer (issue 15) following a log written beforehand: entries sealed into the RFC 6962
 * tree per second, from an empty tree to the head, a checkpoint signed every 10 000 entries.
 */
async function sealerThroughput(url: string, rounds: number): Promise<WorkloadFigures['sealer']> {
  const db = new PgDatabase({ connectionString: url, max: 6 });
  const clock = new ManualClock('2024-01-15T09:00:00Z');
  const store = await SqlEventStore.open({ db, clock, schema: 'sealer_es', ownsDatabase: false });
  const events = 60_000;
  try {
    for (let i = 0; i < events; i += 1000) {
      await store.appendBatch(
        Array.from({ length: 50 }, (_, k) => ({
          streamId: `declaration-1${String(i + k).padStart(10, '0')}-2023`,
          events: ourEvents(20),
          expectedRevision: 'no_stream' as const,
        })),
      );
    }
    const head = await store.headPosition();
    const signer = parseSignerKey(generateSignerKey('bench.forfait/log'));
    const seconds: number[] = [];
    let checkpointSize = 0;
    for (let round = 0; round < rounds; round += 1) {
      const schema = `sealer_rm_${round}`;
      const tlog = new TransparencyLog(db, schema, signer, {
        checkpointEveryEvents: 10_000,
        checkpointIntervalMs: 3_600_000,
        witnessKeys: [],
        now: () => clock.now(),
      });
      const runner = new ProjectionRunner(store, db, [logSealer(tlog)], schema, { batchSize: 1000 });
      const t = performance.now();
      await runner.start();
      await runner.waitFor(head, 600_000);
      await runner.stop();
      seconds.push((performance.now() - t) / 1000);
      const state = await tlog.state();
      if (state.size !== Number(head)) throw new Error(`the sealer sealed ${state.size} entries of ${head}`);
      checkpointSize = (await tlog.latestCheckpoint())?.size ?? 0;
      log(`sealer round ${round + 1}: ${events} entries in ${seconds.at(-1)!.toFixed(1)} s, latest checkpoint at ${checkpointSize}`);
    }
    return { events, seconds, entriesPerSec: seconds.map((s) => events / s), checkpointSize };
  } finally {
    await store.close();
    await db.close();
  }
}

export type { RecordedEvent };
