import type { RecordedEvent } from '@forfait/events';
import { backoffDelay } from '@forfait/platform';
import {
  SqlEventStore,
  StoreUnavailableError,
  assertSchemaName,
  isConnectionError,
  quoteIdent,
  type EventStore,
  type ReadStreamsOptions,
  type SessionLocks,
  type SqlDatabase,
  type Subscription,
} from '@forfait/store';
import type { Projection } from './projection';

export interface ProjectionStatus {
  name: string;
  version: number;
  checkpoint: string;
  /** Events not yet applied; null where positions are not counts (EventStoreDB). */
  lagEvents: number | null;
  behind: boolean;
}

/** The subscription key of projections run together. */
const TOGETHER = '*together';

/** Thrown when another runner moved the checkpoint meanwhile: the batch is rolled back, not applied twice. */
export class CheckpointMovedError extends Error {
  readonly code = 'CHECKPOINT_MOVED';
}

/**
 * A projection that cannot apply an event (a bug, a read model altered by hand): the event that
 * stops it, kept in `<schema>.projection_failures` so that every process' /health names it.
 */
export class ProjectionApplyError extends Error {
  readonly code = 'PROJECTION_CANNOT_APPLY';
  constructor(
    readonly projection: string,
    readonly event: { position: bigint; eventId: string; type: string },
    readonly reason: Error,
  ) {
    super(`projection ${projection} cannot apply event ${event.type} ${event.eventId} at position ${event.position}: ${reason.message}`);
  }
}

/** A projection's apply failed inside a batch's transaction (which one, for a batch of several). */
class ApplyFailure extends Error {
  constructor(
    readonly projection: string,
    readonly reason: Error,
  ) {
    super(reason.message);
  }
}

export interface ProjectionFailure {
  name: string;
  position: string;
  eventId: string;
  type: string;
  error: string;
  failedAt: string;
}

export function readModelDdl(schema: string): string[] {
  const s = quoteIdent(assertSchemaName(schema));
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.projection_checkpoints (
       name text PRIMARY KEY,
       version integer NOT NULL,
       position numeric NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
    // The event each stopped projection cannot apply; the row goes once it has applied it.
    `CREATE TABLE IF NOT EXISTS ${s}.projection_failures (
       name text PRIMARY KEY,
       position numeric NOT NULL,
       event_id text NOT NULL,
       event_type text NOT NULL,
       error text NOT NULL,
       failed_at timestamptz NOT NULL DEFAULT now()
     )`,
  ];
}

/** The lock every process' setup takes, the same as the read models' migrations. */
const MIGRATION_LOCK = 'forfait-read-models';

/**
 * Runs projections over a catch-up subscription each. For every batch, one transaction applies
 * the events and moves the checkpoint from the position it expects: a crash between two batches
 * resumes at the last committed one, and a second runner cannot apply a batch again.
 *
 * One runner per projection across processes: a subscription runs only while its process holds the
 * projection's session-level advisory lock (PostgreSQL; on PGlite one process owns the database).
 * The others wait and try again with backoff; when the holder dies its session ends, the server
 * releases the lock and one of them takes over from the committed checkpoint. The checkpoint's
 * compare-and-set stays as the fence: a runner that finds it moved gives the projection up and waits.
 */
export class ProjectionRunner {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly waiters: { position: bigint; resolve: () => void }[] = [];
  private failure: Error | undefined;
  /** Per subscription: the event it cannot apply yet (retried with backoff, `retryApplyFailures`). */
  private readonly applyFailures = new Map<string, ProjectionApplyError>();
  /** Per subscription: consecutive resumptions after the store went away, and the pending one. */
  private readonly attempts = new Map<string, number>();
  private readonly resumeTimers = new Map<string, NodeJS.Timeout>();
  /** What this runner means to run (key: subscription), whether it holds the lock yet or not. */
  private readonly wanted = new Map<string, { projections: readonly Projection[]; fullTypes?: readonly string[]; placesOnly?: boolean }>();
  private readonly claimAttempts = new Map<string, number>();
  private locks: SessionLocks | undefined;
  /** Projections with a recorded failure (projection_failures), cleared once they apply past it. */
  private readonly failing = new Set<string>();
  /** stop() was called: a start still setting up gives up instead of trying again. */
  private stopping = false;

  constructor(
    private readonly store: EventStore,
    private readonly db: SqlDatabase,
    private readonly projections: readonly Projection[],
    private readonly schema = 'rm',
    /** `together`: one subscription feeds every projection, one transaction per batch (a rebuild from zero). */
    private readonly options: {
      batchSize?: number;
      together?: boolean;
      /**
       * Live, together while their checkpoints are equal (the embedded store: one process and one
       * thread, where every subscription's reads and transactions take turns with the API's); a
       * projection that fails or is stopped (a rebuild) is taken out and the others go on alone.
       */
      liveTogether?: boolean;
      onError?: (name: string, error: Error) => void;
      /** The store went away under a subscription; it resumes from its checkpoint in `delayMs`. */
      onStoreUnavailable?: (name: string, error: Error, delayMs: number) => void;
      /** Another process holds the projection; this runner tries again in `delayMs`. */
      onWaiting?: (name: string, delayMs: number) => void;
      /**
       * A projection that cannot apply an event is retried in-process, from its checkpoint, with
       * backoff (a read model altered by hand, a database refusing a row: once the cause is gone it
       * catches up, no restart needed). Off: it stops, `onError` hears it (a rebuild's builder).
       */
      retryApplyFailures?: { baseMs?: number; capMs?: number };
      /** A projection cannot apply the event at `error.event.position`; applied again in `delayMs`. */
      onApplyRetry?: (name: string, error: ProjectionApplyError, delayMs: number) => void;
    } = {},
  ) {}

  /** The read models' DDL and every projection's, in one transaction under the migration lock. */
  async setup(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [MIGRATION_LOCK]);
      for (const statement of readModelDdl(this.schema)) await tx.query(statement);
      for (const p of this.projections) {
        // A read model of an older shape (its version lower than the code's) is dropped and built
        // again from zero, here, by the catch-up: its queries wait (bounded) meanwhile.
        const { rows: stored } = await tx.query<{ version: number | string }>(
          `SELECT version FROM ${quoteIdent(this.schema)}.projection_checkpoints WHERE name = $1`,
          [p.name],
        );
        if (stored[0] && Number(stored[0].version) < p.version) {
          for (const table of p.tables) await tx.query(`DROP TABLE IF EXISTS ${quoteIdent(this.schema)}.${quoteIdent(table)}`);
          await tx.query(`DELETE FROM ${quoteIdent(this.schema)}.projection_checkpoints WHERE name = $1`, [p.name]);
        }
        await p.setup(tx, this.schema);
        await tx.query(
          `INSERT INTO ${quoteIdent(this.schema)}.projection_checkpoints (name, version, position)
           VALUES ($1, $2, 0) ON CONFLICT (name) DO NOTHING`,
          [p.name, p.version],
        );
      }
    });
  }

  /** Whether a subscription of this runner stopped on an error it cannot resume from, or cannot apply an event now (retried). */
  get failed(): Error | undefined {
    return this.failure ?? this.applyFailures.values().next().value;
  }

  private lockName(key: string): string {
    return `forfait-projection:${this.schema}:${key}`;
  }

  /**
   * Starts `key` once this process holds its lock: at once where no other process does, otherwise
   * after waiting (backoff) for the holder to stop or die. Resolves after the first attempt.
   */
  private async claim(key: string): Promise<void> {
    const wanted = this.wanted.get(key);
    if (!wanted || this.subscriptions.has(key) || this.resumeTimers.has(key)) return;
    if (!this.locks && this.db.sessionLocks) {
      this.locks = this.db.sessionLocks();
      this.locks.onLost(() => this.lostLocks());
    }
    let held: boolean;
    try {
      held = this.locks ? await this.locks.tryAcquire(this.lockName(key)) : true;
      if (held) {
        const checkpoint = await this.checkpointOf(wanted.projections[0]!.name);
        for (const f of await projectionFailures(this.db, this.schema)) if (wanted.projections.some((p) => p.name === f.name)) this.failing.add(f.name);
        if (this.wanted.get(key) !== wanted)
          await this.locks?.release(this.lockName(key)); // stopped meanwhile
        else if (!this.subscriptions.has(key)) this.subscribe(key, wanted.projections, checkpoint, wanted);
        this.claimAttempts.delete(key);
        return;
      }
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) {
        this.failure = error as Error;
        this.options.onError?.(key, error as Error);
        return;
      }
      this.retryClaim(key, error);
      return;
    }
    this.retryClaim(key);
  }

  /** Waits for the lock again; `unavailable`: because the store went away (said so, like a failed read). */
  private retryClaim(key: string, unavailable?: StoreUnavailableError): void {
    if (!this.wanted.has(key) || this.resumeTimers.has(key)) return;
    const attempt = this.claimAttempts.get(key) ?? 0;
    this.claimAttempts.set(key, attempt + 1);
    const delay = backoffDelay(attempt, { baseMs: 250, capMs: 3_000 });
    if (unavailable) this.options.onStoreUnavailable?.(key, unavailable, delay);
    this.options.onWaiting?.(key, delay);
    this.resumeTimers.set(
      key,
      setTimeout(() => {
        this.resumeTimers.delete(key);
        void this.claim(key);
      }, delay),
    );
  }

  /** The lock session was lost: its locks are gone, so are the subscriptions they guarded. */
  private lostLocks(): void {
    for (const [key, subscription] of [...this.subscriptions]) {
      this.subscriptions.delete(key);
      clearTimeout(this.resumeTimers.get(key));
      this.resumeTimers.delete(key);
      // The lock's session went with the store (or its connection): the projection waits for both to come back.
      void subscription.stop().finally(() => this.retryClaim(key, new StoreUnavailableError(new Error('projection lock session lost'), 'connect')));
    }
  }

  /** Gives a projection up (its checkpoint moved under it, or it failed) and lets another process have it. */
  private async relinquish(key: string): Promise<void> {
    this.subscriptions.delete(key);
    await this.locks?.release(this.lockName(key));
  }

  async start(): Promise<void> {
    // The store lost while the read models are set up (a process starting as PostgreSQL restarts or
    // its backends are terminated): set up again, with backoff, as the subscriptions resume.
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.setup();
        break;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || this.stopping) throw error;
        const delay = backoffDelay(attempt, { baseMs: 200, capMs: 5_000 });
        this.options.onStoreUnavailable?.('setup', error, delay);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (this.options.together || this.options.liveTogether) {
      const checkpoints = await Promise.all(this.projections.map((p) => this.checkpointOf(p.name)));
      if (checkpoints.every((c) => c === checkpoints[0])) {
        // Projections the database can apply alone (copies of event columns) get a subscription and
        // a connection of their own: their statements run beside the others' instead of after them.
        const shared = this.store instanceof SqlEventStore && this.store.db === this.db;
        const alone = this.projections.filter((p) => p.serverSide?.(shared) === true);
        const rest = this.projections.filter((p) => !alone.includes(p));
        for (const group of [alone, rest]) if (group.length > 0) await this.startTogether(group);
        return;
      }
    }
    for (const p of this.projections) await this.startOne(p.name);
  }

  private startTogether(projections: readonly Projection[]): Promise<void> {
    // Only the event types some projection reads come whole; the rest as headers (far less to parse).
    const shared = this.store instanceof SqlEventStore && this.store.db === this.db;
    const wanted = projections.map((p) => (p.fullTypes ? p.fullTypes(shared) : 'all'));
    const fullTypes = wanted.includes('all') ? undefined : [...new Set(wanted.flatMap((w) => w as readonly string[]))];
    const key = `${TOGETHER}:${projections.map((p) => p.name).join(',')}`;
    // Projections the database applies alone (copies of event columns) need each batch's bounds only.
    const placesOnly = projections.every((p) => p.serverSide?.(shared) === true);
    this.wanted.set(key, { projections, ...(fullTypes ? { fullTypes } : {}), ...(placesOnly ? { placesOnly } : {}) });
    return this.claim(key);
  }

  /**
   * One subscription, watched: when the store goes away (StoreUnavailableError from a read or from
   * a batch's transaction), it is started again, with backoff, from the checkpoint the database
   * holds. That checkpoint moved in the same transaction as the read models, so a batch whose
   * commit was lost is applied again only if it did not commit: never twice, never skipped.
   */
  private subscribe(key: string, projections: readonly Projection[], after: bigint, read: { fullTypes?: readonly string[]; placesOnly?: boolean } = {}): void {
    const { fullTypes, placesOnly } = read;
    const subscription = this.store.subscribeAll(
      { after, batchSize: this.options.batchSize ?? 500, ...(fullTypes ? { fullTypes } : {}), ...(placesOnly ? { placesOnly } : {}) },
      (batch) => this.applyBatch(projections, batch, key),
    );
    const startedAt = Date.now();
    this.subscriptions.set(key, subscription);
    /** Subscribes again from the checkpoint after `wait()` ms (while this subscription is still the key's). */
    const resume = (wait: () => number): void => {
      const delay = wait();
      this.resumeTimers.set(
        key,
        setTimeout(() => {
          this.resumeTimers.delete(key);
          if (this.subscriptions.get(key) !== subscription) return;
          this.checkpointOf(projections[0]!.name).then(
            (checkpoint) => {
              if (this.subscriptions.get(key) === subscription) this.subscribe(key, projections, checkpoint, read);
            },
            (e: unknown) => {
              if (this.subscriptions.get(key) !== subscription) return;
              if (e instanceof StoreUnavailableError) return resume(wait);
              this.failure = e as Error;
              this.options.onError?.(key, e as Error);
            },
          );
        }, delay),
      );
    };
    subscription.done.catch((caught: unknown) => {
      const error = caught as Error; // what the subscription's work threw: the store's errors and the projections'
      if (this.subscriptions.get(key) !== subscription) return; // stopped meanwhile
      if (error instanceof CheckpointMovedError) {
        // Another runner applied this projection meanwhile (it held the lock while this one's session
        // was being lost): wait for the lock again rather than fail.
        void this.relinquish(key).finally(() => this.retryClaim(key));
        return;
      }
      const retry = this.options.retryApplyFailures;
      if (error instanceof ProjectionApplyError && retry && key.startsWith(TOGETHER) && projections.length > 1) {
        // Live projections run together (`liveTogether`): one that cannot apply an event must not
        // hold the others back. Each goes on alone; the failing one is retried alone, with backoff.
        void this.split(key, projections).catch((e: unknown) => {
          this.failure = e as Error;
          this.options.onError?.(key, e as Error);
        });
        return;
      }
      if (error instanceof ProjectionApplyError && retry) {
        // Kept (the lock too) and applied again from its checkpoint, with backoff, until it applies.
        this.applyFailures.set(key, error);
        resume(() => {
          const delay = backoffDelay(this.nextAttempt(key), { baseMs: retry.baseMs ?? 1_000, capMs: retry.capMs ?? 60_000 });
          this.options.onApplyRetry?.(key, error, delay);
          return delay;
        });
        return;
      }
      if (!(error instanceof StoreUnavailableError)) {
        this.failure = error;
        this.options.onError?.(key, error);
        void this.relinquish(key);
        return;
      }
      // A subscription that ran a while before failing starts its backoff again from the first step.
      if (Date.now() - startedAt > 10_000) this.attempts.delete(key);
      resume(() => {
        const delay = backoffDelay(this.nextAttempt(key), { baseMs: 200, capMs: 5_000 });
        this.options.onStoreUnavailable?.(key, error, delay);
        return delay;
      });
    });
  }

  /** The number of the next consecutive resumption of `key` (0 for the first), counted. */
  private nextAttempt(key: string): number {
    const attempt = this.attempts.get(key) ?? 0;
    this.attempts.set(key, attempt + 1);
    return attempt;
  }

  get names(): string[] {
    return this.projections.map((p) => p.name);
  }

  projection(name: string): Projection {
    const p = this.projections.find((x) => x.name === name);
    if (!p) throw new Error(`unknown projection ${name}`);
    return p;
  }

  /** (Re)starts one projection's subscription from its committed checkpoint. */
  async startOne(name: string): Promise<void> {
    const p = this.projection(name);
    if (this.wanted.has(name)) return;
    this.wanted.set(name, { projections: [p] });
    await this.claim(name);
  }

  /**
   * Stops one projection after its current batch; its checkpoint stays where that batch committed
   * it. One running together with others (live on the embedded store) is taken out of its group:
   * the others go on alone.
   */
  async stopOne(name: string): Promise<void> {
    const group = [...this.wanted].find(([key, w]) => key.startsWith(TOGETHER) && w.projections.some((p) => p.name === name));
    if (group) await this.split(group[0], group[1].projections);
    const subscription = this.subscriptions.get(name);
    this.subscriptions.delete(name);
    this.wanted.delete(name);
    this.claimAttempts.delete(name);
    this.applyFailures.delete(name);
    clearTimeout(this.resumeTimers.get(name));
    this.resumeTimers.delete(name);
    await subscription?.stop();
    await this.locks?.release(this.lockName(name));
  }

  /**
   * A group run together becomes one subscription a projection, each from the checkpoint they
   * share (moved together in every batch's transaction): nothing applied twice, nothing skipped.
   */
  private async split(key: string, projections: readonly Projection[]): Promise<void> {
    await this.stopOne(key);
    for (const p of projections) await this.startOne(p.name);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...new Set([...this.subscriptions.keys(), ...this.wanted.keys()])].map((name) => this.stopOne(name)));
    const locks = this.locks;
    this.locks = undefined;
    await locks?.close();
  }

  /** Resolves when every projection has applied the event at `position` (or fails after `ms`). */
  async waitFor(position: bigint, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const lowest = await this.lowestCheckpoint();
      if (lowest >= position) return;
      const failure = this.failed;
      if (failure) throw failure;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`read models did not reach position ${position} within ${ms} ms (at ${lowest})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 250));
        this.waiters.push({
          position,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
  }

  private async applyBatch(projections: readonly Projection[], batch: RecordedEvent[], key: string): Promise<void> {
    const from = this.subscriptions.get(key)?.position ?? 0n;
    const to = batch[batch.length - 1]!.position;
    const atHead = to >= (await this.store.headPosition());
    try {
      await this.commit(projections, batch, from, atHead);
    } catch (error) {
      if (!(error instanceof ApplyFailure)) throw error;
      const failure = await this.isolate(projections, batch, from, atHead);
      if (failure) throw failure;
    }
    this.attempts.delete(key);
    this.applyFailures.delete(key);
    const cleared = projections.filter((p) => this.failing.has(p.name)).map((p) => p.name);
    if (cleared.length > 0) {
      await this.db.query(`DELETE FROM ${quoteIdent(this.schema)}.projection_failures WHERE name = ANY($1::text[]) AND position <= $2`, [
        cleared,
        to.toString(),
      ]);
      for (const name of cleared) this.failing.delete(name);
    }
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /**
   * A batch failed in a projection's apply: applied again one event at a time (each committed with
   * its checkpoint) up to the event that fails, which is recorded and named in the error.
   */
  private async isolate(projections: readonly Projection[], batch: RecordedEvent[], from: bigint, atHead: boolean): Promise<Error | undefined> {
    let previous = from;
    for (const [i, event] of batch.entries()) {
      try {
        await this.commit(projections, [event], previous, atHead && i === batch.length - 1);
        previous = event.position;
      } catch (error) {
        if (!(error instanceof ApplyFailure)) return error as Error;
        const failure = new ProjectionApplyError(error.projection, { position: event.position, eventId: event.eventId, type: event.type }, error.reason);
        await this.db
          .query(
            `INSERT INTO ${quoteIdent(this.schema)}.projection_failures (name, position, event_id, event_type, error, failed_at) VALUES ($1, $2, $3, $4, $5, now())
             ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, event_id = EXCLUDED.event_id, event_type = EXCLUDED.event_type, error = EXCLUDED.error, failed_at = EXCLUDED.failed_at`,
            [error.projection, event.position.toString(), event.eventId, event.type, error.reason.message.slice(0, 2000)],
          )
          .catch(() => undefined); // the store went away meanwhile: the error still says it, the next attempt records it
        this.failing.add(error.projection);
        return failure;
      }
    }
    // Every event applied alone (the batch failed as a whole): applied, the subscription goes on.
    return undefined;
  }

  /** One transaction: the events applied by every projection, each checkpoint moved from `from` to the last event. */
  private async commit(projections: readonly Projection[], batch: RecordedEvent[], from: bigint, atHead: boolean): Promise<void> {
    const to = batch[batch.length - 1]!.position;
    await this.db.transaction(async (tx) => {
      const store = this.store;
      const shared = store instanceof SqlEventStore && store.db === this.db;
      const context = {
        atHead,
        readStreams: (ids: string[], options?: ReadStreamsOptions) => (shared ? store.readStreams(ids, options, tx) : store.readStreams(ids, options)),
        ...(shared ? { eventsTable: store.eventsTable } : {}),
      };
      for (const projection of projections) {
        try {
          await projection.apply(tx, this.schema, batch, context);
        } catch (error) {
          // The store going away is not the projection's failure: it resumes from its checkpoint.
          if (error instanceof StoreUnavailableError || isConnectionError(error)) throw error;
          throw new ApplyFailure(projection.name, error as Error);
        }
      }
      // Every checkpoint of the batch moved in one statement (live together: one for all of them).
      const names = projections.map((p) => p.name);
      const { rows } = await tx.query<{ name: string }>(
        `UPDATE ${quoteIdent(this.schema)}.projection_checkpoints SET position = $2, updated_at = now()
         WHERE name = ANY($1::text[]) AND position = $3 RETURNING name`,
        [names, to.toString(), from.toString()],
      );
      if (rows.length !== names.length) {
        const moved = names.filter((n) => !rows.some((r) => r.name === n));
        throw new CheckpointMovedError(`checkpoint of ${moved.join(', ')} is no longer at ${from}: another runner is applying it`);
      }
    });
  }

  async checkpointOf(name: string): Promise<bigint> {
    const { rows } = await this.db.query<{ position: string }>(
      `SELECT position::text AS position FROM ${quoteIdent(this.schema)}.projection_checkpoints WHERE name = $1`,
      [name],
    );
    return BigInt(rows[0]?.position ?? '0');
  }

  private async lowestCheckpoint(): Promise<bigint> {
    let lowest: bigint | undefined;
    for (const p of this.projections) {
      const c = await this.checkpointOf(p.name);
      if (lowest === undefined || c < lowest) lowest = c;
    }
    return lowest ?? 0n;
  }
}

/** The projections stopped on an event they cannot apply, whichever process runs them. */
export async function projectionFailures(db: SqlDatabase, schema = 'rm'): Promise<ProjectionFailure[]> {
  try {
    const { rows } = await db.query<{ name: string; position: string; event_id: string; event_type: string; error: string; failed_at: Date | string }>(
      `SELECT name, position::text AS position, event_id, event_type, error, failed_at FROM ${quoteIdent(schema)}.projection_failures ORDER BY name`,
    );
    return rows.map((r) => ({
      name: r.name,
      position: r.position,
      eventId: r.event_id,
      type: r.event_type,
      error: r.error,
      failedAt: new Date(r.failed_at).toISOString(),
    }));
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    return []; // not set up yet
  }
}

/** The projections' state as the read-model database says, whichever process runs them. */
export async function projectionStatus(db: SqlDatabase, store: EventStore, schema = 'rm'): Promise<ProjectionStatus[]> {
  const head = await store.headPosition();
  let rows: { name: string; version: number | string; position: string }[] = [];
  try {
    rows = (
      await db.query<{ name: string; version: number | string; position: string }>(
        `SELECT name, version, position::text AS position FROM ${quoteIdent(schema)}.projection_checkpoints ORDER BY name`,
      )
    ).rows;
  } catch {
    return [];
  }
  return rows.map((r) => {
    const checkpoint = BigInt(r.position);
    return {
      name: r.name,
      version: Number(r.version),
      checkpoint: r.position,
      lagEvents: store.kind === 'eventstore' ? null : Number(head - checkpoint),
      behind: checkpoint < head,
    };
  });
}
