import { GENESIS_HASH, computeEventHash, hashedRecordOf, type RecordedEvent } from '@forfait/events';
import type { EventStore } from './port';
import { migrate } from './sql/event-store.schema';
import { widenToNumeric, type SqlDatabase } from './sql/sql-client';
import type { TransparencyLog } from './tlog/log';
import { LOG_PROBLEM_KINDS, checkLogStructure, verifyTreeFromEvents, type LogProblem } from './tlog/log-integrity';

export interface BrokenLink {
  streamId: string;
  revision: number;
  eventId: string;
  position: string;
  reason: 'hash-mismatch' | 'prev-hash-mismatch' | 'revision-gap';
  expected: string;
  actual: string;
}

export interface IntegrityReport {
  ok: boolean;
  streams: number;
  events: number;
  /** The first broken link in global order: everything before it checks. */
  firstBroken?: BrokenLink;
}

/**
 * Follows every stream's hash chain event by event, in any order that keeps each stream's
 * revisions ascending (global order does). Memory: one hash per stream.
 */
export class ChainVerifier {
  private readonly heads = new Map<string, { revision: number; hash: string }>();
  events = 0;

  get streams(): number {
    return this.heads.size;
  }

  /** Starts a stream from a head already verified (incremental checks). */
  seed(streamId: string, revision: number, hash: string): void {
    this.heads.set(streamId, { revision, hash });
  }

  head(streamId: string): { revision: number; hash: string } | undefined {
    return this.heads.get(streamId);
  }

  /** Returns the broken link this event makes, or undefined when it checks. */
  check(event: RecordedEvent): BrokenLink | undefined {
    this.events += 1;
    const head = this.heads.get(event.streamId);
    const link = (reason: BrokenLink['reason'], expected: string, actual: string): BrokenLink => ({
      streamId: event.streamId,
      revision: event.revision,
      eventId: event.eventId,
      position: event.position.toString(),
      reason,
      expected,
      actual,
    });
    const expectedRevision = head ? head.revision + 1 : 0;
    const expectedPrev = head ? head.hash : GENESIS_HASH;
    this.heads.set(event.streamId, { revision: event.revision, hash: event.hash });
    if (event.revision !== expectedRevision) {
      return link('revision-gap', String(expectedRevision), String(event.revision));
    }
    if (event.prevHash !== expectedPrev) return link('prev-hash-mismatch', expectedPrev, event.prevHash);
    const recomputed = computeEventHash(hashedRecordOf(event));
    if (recomputed !== event.hash) return link('hash-mismatch', recomputed, event.hash);
    return undefined;
  }
}

export async function verifyIntegrity(
  store: EventStore,
  options: { batchSize?: number; onProgress?: (checked: number) => void } = {},
): Promise<IntegrityReport> {
  const verifier = new ChainVerifier();
  let after = 0n;
  let firstBroken: BrokenLink | undefined;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: options.batchSize ?? 2000 });
    if (batch.length === 0) break;
    for (const event of batch) {
      const broken = verifier.check(event);
      if (broken && !firstBroken) firstBroken = broken;
    }
    after = batch[batch.length - 1]!.position;
    options.onProgress?.(verifier.events);
  }
  return { ok: !firstBroken, streams: verifier.streams, events: verifier.events, ...(firstBroken ? { firstBroken } : {}) };
}

/** Verifies a list of events (one doctor's bundle, say): each stream's chain must be complete from revision 0. */
export function verifyEvents(events: RecordedEvent[]): IntegrityReport {
  const verifier = new ChainVerifier();
  const ordered = [...events].sort((a, b) => (a.streamId === b.streamId ? a.revision - b.revision : a.position < b.position ? -1 : 1));
  let firstBroken: BrokenLink | undefined;
  for (const event of ordered) {
    const broken = verifier.check(event);
    if (broken && !firstBroken) firstBroken = broken;
  }
  return { ok: !firstBroken, streams: verifier.streams, events: verifier.events, ...(firstBroken ? { firstBroken } : {}) };
}

/** Every kind of problem GET /v1/integrity reports (test/integrity-kinds.e2e-spec.ts produces each). */
export const INTEGRITY_PROBLEM_KINDS = [
  'hash-mismatch',
  'prev-hash-mismatch',
  'revision-gap',
  'head-mismatch',
  'head-missing',
  'position-order',
  ...LOG_PROBLEM_KINDS,
] as const;

export interface IntegrityProblem {
  kind: (typeof INTEGRITY_PROBLEM_KINDS)[number];
  streamId?: string;
  position?: string;
  detail: string;
}

export interface IncrementalReport {
  ok: boolean;
  /** Every event up to this position verified (chains, positions), now or in earlier calls. */
  verifiedUpTo: string;
  /** Events read and verified by this call: only those after the last verified position. */
  checkedEvents: number;
  /** Stream heads compared with the store's event at that revision by this call. */
  checkedHeads: number;
  streams: number;
  /** Events verified in all, earlier calls included. */
  events: number;
  lastFullCheck: { at: string; ok: boolean } | null;
  problems: IntegrityProblem[];
  firstBroken?: BrokenLink;
}

/**
 * Integrity checked from the last verified position (architecture.md, "Tamper evidence"): the
 * position and every stream's verified head are kept in `<schema>.integrity_state` and
 * `<schema>.integrity_heads`; a call reads only the events after that position, chaining them onto
 * the kept heads, and re-reads each stream's head event to see that it still hashes as verified.
 * The position never moves past a broken event, so a problem is reported by every later call until
 * it is repaired. The full recomputation of every chain is `cli verify` (recordFullCheck).
 */
export class IncrementalIntegrity {
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: EventStore,
    private readonly db: SqlDatabase,
    private readonly schema: string,
    private readonly log?: TransparencyLog,
  ) {}

  private async ensure(): Promise<void> {
    const s = this.schema;
    // Under a lock: two APIs checking at once would race on CREATE ... IF NOT EXISTS.
    await migrate(
      this.db,
      [
        `CREATE SCHEMA IF NOT EXISTS ${s}`,
        // Positions are numeric: EventStoreDB's (commit · 2^64 + prepare) are past a bigint.
        `CREATE TABLE IF NOT EXISTS ${s}.integrity_state (id integer PRIMARY KEY, verified_up_to numeric NOT NULL, events bigint NOT NULL, last_full_at timestamptz, last_full_ok boolean)`,
        `CREATE TABLE IF NOT EXISTS ${s}.integrity_heads (stream_id text PRIMARY KEY, revision integer NOT NULL, hash text NOT NULL, position numeric NOT NULL)`,
        ...widenToNumeric(this.schema, [
          ['integrity_state', 'verified_up_to'],
          ['integrity_heads', 'position'],
        ]),
      ],
      'forfait-integrity',
    );
  }

  /** One call at a time in this process: two would verify the same events twice. */
  check(options: { batchSize?: number } = {}): Promise<IncrementalReport> {
    const next = this.running.then(() => this.checkNow(options));
    this.running = next.catch(() => undefined);
    return next;
  }

  async recordFullCheck(report: IntegrityReport, at: string): Promise<void> {
    await this.ensure();
    await this.db.query(
      `INSERT INTO ${this.schema}.integrity_state (id, verified_up_to, events, last_full_at, last_full_ok) VALUES (1, 0, 0, $1, $2)
       ON CONFLICT (id) DO UPDATE SET last_full_at = $1, last_full_ok = $2`,
      [at, report.ok],
    );
  }

  private async checkNow(options: { batchSize?: number }): Promise<IncrementalReport> {
    await this.ensure();
    const s = this.schema;
    const state = (
      await this.db.query<{ verified_up_to: string; events: string; last_full_at: string | Date | null; last_full_ok: boolean | null }>(
        `SELECT verified_up_to::text, events::text, last_full_at, last_full_ok FROM ${s}.integrity_state WHERE id = 1`,
      )
    ).rows[0];
    const heads = (
      await this.db.query<{ stream_id: string; revision: number; hash: string; position: string }>(
        `SELECT stream_id, revision, hash, position::text FROM ${s}.integrity_heads`,
      )
    ).rows;
    const problems: IntegrityProblem[] = [];

    // Every verified head against the store's event at that revision, as it is now.
    let checkedHeads = 0;
    for (let i = 0; i < heads.length; i += 50) {
      await Promise.all(
        heads.slice(i, i + 50).map(async (h) => {
          checkedHeads += 1;
          const [event] = await this.store.readStream(h.stream_id, { fromRevision: h.revision, maxCount: 1 });
          if (!event || event.revision !== h.revision) {
            problems.push({
              kind: 'head-missing',
              streamId: h.stream_id,
              position: h.position,
              detail: `l’événement de tête vérifié (révision ${h.revision}) est introuvable`,
            });
          } else if (event.hash !== h.hash || computeEventHash(hashedRecordOf(event)) !== h.hash) {
            problems.push({
              kind: 'head-mismatch',
              streamId: h.stream_id,
              position: event.position.toString(),
              detail: `l’événement de tête (révision ${h.revision}) ne correspond plus au hachage vérifié ${h.hash}`,
            });
          }
        }),
      );
    }

    const verifier = new ChainVerifier();
    for (const h of heads) verifier.seed(h.stream_id, h.revision, h.hash);
    const touched = new Map<string, { revision: number; hash: string; position: bigint }>();
    let after = BigInt(state?.verified_up_to ?? '0');
    let verifiedUpTo = after;
    let checkedEvents = 0;
    let verifiedNow = 0;
    let firstBroken: BrokenLink | undefined;
    outer: for (;;) {
      const batch = await this.store.readAll({ after, maxCount: options.batchSize ?? 2000 });
      if (batch.length === 0) break;
      for (const event of batch) {
        checkedEvents += 1;
        if (event.position <= after) {
          problems.push({
            kind: 'position-order',
            streamId: event.streamId,
            position: event.position.toString(),
            detail: `position ${event.position} lue après ${after} : l’ordre global est rompu`,
          });
          break outer;
        }
        const broken = verifier.check(event);
        if (broken) {
          firstBroken = broken;
          problems.push({
            kind: broken.reason,
            streamId: broken.streamId,
            position: broken.position,
            detail: `révision ${broken.revision} : attendu ${broken.expected}, trouvé ${broken.actual}`,
          });
          break outer;
        }
        after = event.position;
        verifiedUpTo = event.position;
        verifiedNow += 1;
        touched.set(event.streamId, { revision: event.revision, hash: event.hash, position: event.position });
      }
    }

    // Heads against last events, positions and times, the tree against its events and the latest checkpoint.
    problems.push(...(await checkLogStructure(this.store, this.db, this.log)));

    const verifiedEvents = BigInt(state?.events ?? '0') + BigInt(verifiedNow);
    await this.db.transaction(async (tx) => {
      for (const [streamId, h] of touched) {
        await tx.query(
          `INSERT INTO ${s}.integrity_heads (stream_id, revision, hash, position) VALUES ($1, $2, $3, $4)
           ON CONFLICT (stream_id) DO UPDATE SET revision = $2, hash = $3, position = $4`,
          [streamId, h.revision, h.hash, h.position.toString()],
        );
      }
      await tx.query(
        `INSERT INTO ${s}.integrity_state (id, verified_up_to, events) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET verified_up_to = $1, events = $2`,
        [verifiedUpTo.toString(), verifiedEvents.toString()],
      );
    });
    const streams = new Set([...heads.map((h) => h.stream_id), ...touched.keys()]).size;
    const at = state?.last_full_at;
    return {
      ok: problems.length === 0,
      verifiedUpTo: verifiedUpTo.toString(),
      checkedEvents,
      checkedHeads,
      streams,
      events: Number(verifiedEvents),
      lastFullCheck: at ? { at: new Date(at).toISOString(), ok: state.last_full_ok === true } : null,
      problems,
      ...(firstBroken ? { firstBroken } : {}),
    };
  }
}

export interface FullVerificationReport extends IntegrityReport {
  problems: LogProblem[];
  /** Every signed checkpoint compared (not only the latest). */
  everyCheckpoint: boolean;
  at: string;
}

/**
 * The full recomputation (architecture.md, "Tamper evidence"; api.md's `lastFullCheck`): every
 * chain from revision 0, heads, positions and the stored tree, then the tree rebuilt from the
 * events alone against the latest signed checkpoint (or every one). Recorded as the last full
 * check that GET /v1/integrity answers. Shared by `cli verify` and the `full-verification` job.
 */
export async function verifyFully(
  target: { store: EventStore; db: SqlDatabase; schema: string; log?: TransparencyLog },
  options: { everyCheckpoint?: boolean; now: () => Date; onProgress?: (phase: 'chains' | 'tree', done: number) => void },
): Promise<FullVerificationReport> {
  const chains = await verifyIntegrity(target.store, { onProgress: (n) => options.onProgress?.('chains', n) });
  const problems = [
    ...(await checkLogStructure(target.store, target.db, target.log)),
    ...(target.log
      ? await verifyTreeFromEvents(target.store, target.log, {
          everyCheckpoint: options.everyCheckpoint === true,
          onProgress: (n) => options.onProgress?.('tree', n),
        })
      : []),
  ];
  const at = options.now().toISOString();
  const report: FullVerificationReport = { ...chains, ok: chains.ok && problems.length === 0, problems, everyCheckpoint: options.everyCheckpoint === true, at };
  await new IncrementalIntegrity(target.store, target.db, target.schema).recordFullCheck(report, at);
  return report;
}
