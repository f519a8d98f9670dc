import { GENESIS_HASH, computeEventHash, hashedRecordOf, type RecordedEvent } from '@forfait/events';
import type { EventStore } from './port';
import { migrate } from './sql/event-store.schema';
import { widenToNumeric, type SqlDatabase } from './sql/sql-client';
import { SqlEventStore } from './sql/sql-event-store';
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
  /** Verified stream heads compared with the store's event at that revision by this call. */
  checkedHeads: number;
  streams: number;
  /** Events verified in all, earlier calls included. */
  events: number;
  lastFullCheck: { at: string; ok: boolean } | null;
  /**
   * What this call re-checked of what earlier calls had verified (issue 11, point 8): a window
   * that moves on at each call and starts again at the beginning once it has reached the end,
   * so that every event, leaf and head is re-checked in turn at a bounded cost a call; it stays
   * where it found a problem. `lastCompletedAt`: when the window last went through the whole store
   * with no problem.
   */
  sweep: { afterPosition: string; upToPosition: string; fromLeaf: number; toLeaf: number; heads: number; lastCompletedAt: string | null };
  problems: IntegrityProblem[];
  firstBroken?: BrokenLink;
}

/** How many events, leaves and stream heads a call re-checks of what earlier calls verified (INTEGRITY_SWEEP). */
export const DEFAULT_INTEGRITY_SWEEP = 10_000;

/**
 * Integrity checked from the last verified position (architecture.md, "Tamper evidence"; issue
 * 11, point 8): the position and every stream's verified head are kept in
 * `<schema>.integrity_state` and `<schema>.integrity_heads`; a call reads only the events after
 * that position, chaining them onto the kept heads, and the positions, leaves, nodes and stream
 * heads they touch. On top, a sweep window re-checks a bounded slice of what was verified before
 * (the events' chains and hashes, positions and times, leaves and nodes, stream heads and the
 * verified heads), moving on at each call, so a call costs the same whatever the store's size.
 * The latest checkpoint's signature and root are checked at every call. The verified position
 * never moves past a broken event, and the sweep not past a problem, so a problem is reported by
 * every later call until it is repaired. The full recomputation of everything is `cli verify`
 * and the `full-verification` job (recordFullCheck).
 */
export class IncrementalIntegrity {
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: EventStore,
    private readonly db: SqlDatabase,
    private readonly schema: string,
    private readonly log?: TransparencyLog,
    private readonly options: { sweep?: number; now?: () => Date } = {},
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
        // The sweep's cursors (where the next call's window starts) and the tree's size at the last call.
        `ALTER TABLE ${s}.integrity_state ADD COLUMN IF NOT EXISTS sweep_position numeric NOT NULL DEFAULT 0`,
        `ALTER TABLE ${s}.integrity_state ADD COLUMN IF NOT EXISTS sweep_leaf bigint NOT NULL DEFAULT 0`,
        `ALTER TABLE ${s}.integrity_state ADD COLUMN IF NOT EXISTS sweep_stream text NOT NULL DEFAULT ''`,
        `ALTER TABLE ${s}.integrity_state ADD COLUMN IF NOT EXISTS sweep_completed_at timestamptz`,
        `ALTER TABLE ${s}.integrity_state ADD COLUMN IF NOT EXISTS leaves_checked bigint NOT NULL DEFAULT 0`,
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

  /** The store's events at these (stream, revision) pairs: one statement on the SQL stores, a read a stream (50 at a time) on the others. */
  private async eventsAt(keys: { streamId: string; revision: number }[]): Promise<Map<string, RecordedEvent>> {
    if (this.store instanceof SqlEventStore) return this.store.readAt(keys);
    const out = new Map<string, RecordedEvent>();
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(
        keys.slice(i, i + 50).map(async (k) => {
          const [event] = await this.store.readStream(k.streamId, { fromRevision: k.revision, maxCount: 1 });
          if (event && event.revision === k.revision) out.set(`${k.streamId} ${k.revision}`, event);
        }),
      );
    }
    return out;
  }

  private async checkNow(options: { batchSize?: number }): Promise<IncrementalReport> {
    await this.ensure();
    const s = this.schema;
    const sweepSize = Math.max(1, this.options.sweep ?? DEFAULT_INTEGRITY_SWEEP);
    const state = (
      await this.db.query<{
        verified_up_to: string;
        events: string;
        last_full_at: string | Date | null;
        last_full_ok: boolean | null;
        sweep_position: string;
        sweep_leaf: string;
        sweep_stream: string;
        sweep_completed_at: string | Date | null;
        leaves_checked: string;
      }>(
        `SELECT verified_up_to::text, events::text, last_full_at, last_full_ok, sweep_position::text, sweep_leaf::text, sweep_stream, sweep_completed_at, leaves_checked::text
         FROM ${s}.integrity_state WHERE id = 1`,
      )
    ).rows[0];
    const previouslyVerified = BigInt(state?.verified_up_to ?? '0');
    const problems: IntegrityProblem[] = [];

    // The sweep's window of verified heads: the next `sweepSize` streams after its cursor, each
    // head against the store's event at that revision, as it is now.
    const sweepStream = state?.sweep_stream ?? '';
    const headWindow = (
      await this.db.query<{ stream_id: string; revision: number; hash: string; position: string }>(
        `SELECT stream_id, revision, hash, position::text FROM ${s}.integrity_heads WHERE stream_id > $1 ORDER BY stream_id LIMIT $2`,
        [sweepStream, sweepSize],
      )
    ).rows;
    const headsWrapped = headWindow.length < sweepSize;
    const streamsUpTo = headsWrapped ? undefined : headWindow[headWindow.length - 1]!.stream_id;
    const atHeads = await this.eventsAt(headWindow.map((h) => ({ streamId: h.stream_id, revision: h.revision })));
    for (const h of headWindow) {
      const event = atHeads.get(`${h.stream_id} ${h.revision}`);
      if (!event) {
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
    }

    // The events since the last verified position, chained onto the verified heads of their streams.
    const verifier = new ChainVerifier();
    const seeded = new Set<string>();
    const touched = new Map<string, { revision: number; hash: string; position: bigint }>();
    let after = previouslyVerified;
    let verifiedUpTo = after;
    let checkedEvents = 0;
    let verifiedNow = 0;
    let firstBroken: BrokenLink | undefined;
    outer: for (;;) {
      const batch = await this.store.readAll({ after, maxCount: options.batchSize ?? 2000 });
      if (batch.length === 0) break;
      const unseeded = [...new Set(batch.map((e) => e.streamId))].filter((id) => !seeded.has(id));
      if (unseeded.length > 0) {
        const { rows } = await this.db.query<{ stream_id: string; revision: number; hash: string }>(
          `SELECT stream_id, revision, hash FROM ${s}.integrity_heads WHERE stream_id = ANY($1::text[])`,
          [unseeded],
        );
        for (const h of rows) verifier.seed(h.stream_id, h.revision, h.hash);
        for (const id of unseeded) seeded.add(id);
      }
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

    // The sweep's window of events verified by earlier calls: each chained onto the store's event
    // before it in its stream and hashed again.
    const sweepAfter = BigInt(state?.sweep_position ?? '0');
    const window =
      sweepAfter < previouslyVerified
        ? (await this.store.readAll({ after: sweepAfter, maxCount: sweepSize })).filter((e) => e.position <= previouslyVerified)
        : [];
    const eventsWrapped = window.length < sweepSize || window[window.length - 1]!.position >= previouslyVerified;
    const sweepUpTo = window.length > 0 ? window[window.length - 1]!.position : sweepAfter;
    if (window.length > 0) {
      const firstOf = new Map<string, number>();
      for (const e of window) if (!firstOf.has(e.streamId)) firstOf.set(e.streamId, e.revision);
      const before = await this.eventsAt([...firstOf].filter(([, r]) => r > 0).map(([streamId, r]) => ({ streamId, revision: r - 1 })));
      const sweepVerifier = new ChainVerifier();
      for (const [streamId, r] of firstOf) {
        const prev = r > 0 ? before.get(`${streamId} ${r - 1}`) : undefined;
        if (prev) sweepVerifier.seed(streamId, prev.revision, prev.hash);
        else if (r > 0) sweepVerifier.seed(streamId, r - 2, GENESIS_HASH); // the event before is gone: a revision gap at r
      }
      for (const event of window) {
        const broken = sweepVerifier.check(event);
        // A verified head found altered above is not reported twice.
        if (broken && problems.some((p) => p.position === broken.position)) break;
        if (broken) {
          firstBroken ??= broken;
          problems.push({
            kind: broken.reason,
            streamId: broken.streamId,
            position: broken.position,
            detail: `révision ${broken.revision} : attendu ${broken.expected}, trouvé ${broken.actual}`,
          });
          break;
        }
      }
    }

    // Heads against last events, positions and times, leaves and nodes: the new ones and the
    // sweep's windows; the tree's size and the latest checkpoint whatever the windows.
    const sealedBefore = Number(state?.leaves_checked ?? '0');
    const sweepLeaf = Number(state?.sweep_leaf ?? '0');
    const { size: sealedNow } = this.log ? await this.log.state() : { size: 0 };
    const leafTo = Math.min(sweepLeaf + sweepSize, sealedBefore);
    const leavesWrapped = leafTo >= sealedBefore;
    problems.push(
      ...(await checkLogStructure(this.store, this.db, this.log, {
        positions: [{ after: previouslyVerified > 0n ? previouslyVerified : 0n }, ...(window.length > 0 ? [{ after: sweepAfter, upTo: sweepUpTo }] : [])],
        leaves: [{ from: Math.max(0, sealedBefore - 1) }, ...(leafTo > sweepLeaf ? [{ from: sweepLeaf, to: leafTo }] : [])],
        streams: [{ after: sweepStream, ...(streamsUpTo !== undefined ? { upTo: streamsUpTo } : {}) }],
        streamsWrittenAfter: previouslyVerified,
      })),
    );

    const clean = problems.length === 0;
    const completed = clean && eventsWrapped && leavesWrapped && headsWrapped;
    const verifiedEvents = BigInt(state?.events ?? '0') + BigInt(verifiedNow);
    await this.db.transaction(async (tx) => {
      for (const [streamId, h] of touched) {
        await tx.query(
          `INSERT INTO ${s}.integrity_heads (stream_id, revision, hash, position) VALUES ($1, $2, $3, $4)
           ON CONFLICT (stream_id) DO UPDATE SET revision = $2, hash = $3, position = $4`,
          [streamId, h.revision, h.hash, h.position.toString()],
        );
      }
      // The sweep moves on only past a clean window, and starts again at the beginning from the end.
      const next = clean
        ? {
            position: eventsWrapped ? '0' : sweepUpTo.toString(),
            leaf: leavesWrapped ? 0 : leafTo,
            stream: headsWrapped ? '' : streamsUpTo!,
          }
        : { position: sweepAfter.toString(), leaf: sweepLeaf, stream: sweepStream };
      await tx.query(
        `INSERT INTO ${s}.integrity_state (id, verified_up_to, events, sweep_position, sweep_leaf, sweep_stream, leaves_checked, sweep_completed_at)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7::timestamptz)
         ON CONFLICT (id) DO UPDATE SET verified_up_to = $1, events = $2, sweep_position = $3, sweep_leaf = $4, sweep_stream = $5, leaves_checked = $6,
           sweep_completed_at = coalesce($7::timestamptz, ${s}.integrity_state.sweep_completed_at)`,
        [
          verifiedUpTo.toString(),
          verifiedEvents.toString(),
          next.position,
          next.leaf,
          next.stream,
          clean ? sealedNow : sealedBefore,
          completed ? (this.options.now?.() ?? new Date()).toISOString() : null,
        ],
      );
    });
    const after2 = (
      await this.db.query<{ streams: string; completed: string | Date | null }>(
        `SELECT (SELECT count(*) FROM ${s}.integrity_heads)::text AS streams, (SELECT sweep_completed_at FROM ${s}.integrity_state WHERE id = 1) AS completed`,
      )
    ).rows[0]!;
    const at = state?.last_full_at;
    return {
      ok: problems.length === 0,
      verifiedUpTo: verifiedUpTo.toString(),
      checkedEvents,
      checkedHeads: headWindow.length,
      streams: Number(after2.streams),
      events: Number(verifiedEvents),
      lastFullCheck: at ? { at: new Date(at).toISOString(), ok: state.last_full_ok === true } : null,
      sweep: {
        afterPosition: sweepAfter.toString(),
        upToPosition: sweepUpTo.toString(),
        fromLeaf: sweepLeaf,
        toLeaf: Math.max(sweepLeaf, leafTo),
        heads: headWindow.length,
        lastCompletedAt: after2.completed ? new Date(after2.completed).toISOString() : null,
      },
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
