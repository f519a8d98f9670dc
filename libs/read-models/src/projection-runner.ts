import type { RecordedEvent } from '@forfait/events';
import { SqlEventStore, assertSchemaName, migrate, quoteIdent, type EventStore, type SqlDatabase, type Subscription } from '@forfait/store';
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
  ];
}

/**
 * Runs projections over a catch-up subscription each. For every batch, one transaction applies
 * the events and moves the checkpoint from the position it expects: a crash between two batches
 * resumes at the last committed one, and a second runner cannot apply a batch again.
 */
export class ProjectionRunner {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly waiters: { position: bigint; resolve: () => void }[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly db: SqlDatabase,
    private readonly projections: readonly Projection[],
    private readonly schema = 'rm',
    /** `together`: one subscription feeds every projection, one transaction per batch (a rebuild from zero). */
    private readonly options: { batchSize?: number; together?: boolean; onError?: (name: string, error: Error) => void } = {},
  ) {}

  async setup(): Promise<void> {
    await migrate(this.db, readModelDdl(this.schema), 'forfait-read-models');
    for (const p of this.projections) {
      await this.db.transaction(async (tx) => {
        await p.setup(tx, this.schema);
        await tx.query(
          `INSERT INTO ${quoteIdent(this.schema)}.projection_checkpoints (name, version, position)
           VALUES ($1, $2, 0) ON CONFLICT (name) DO NOTHING`,
          [p.name, p.version],
        );
      });
    }
  }

  async start(): Promise<void> {
    await this.setup();
    if (this.options.together) {
      const checkpoints = await Promise.all(this.projections.map((p) => this.checkpointOf(p.name)));
      if (checkpoints.every((c) => c === checkpoints[0])) {
        // Projections the database can apply alone (copies of event columns) get a subscription and
        // a connection of their own: their statements run beside the others' instead of after them.
        const shared = this.store instanceof SqlEventStore && this.store.db === this.db;
        const alone = this.projections.filter((p) => p.serverSide?.(shared) === true);
        const rest = this.projections.filter((p) => !alone.includes(p));
        for (const group of [alone, rest]) if (group.length > 0) this.startTogether(checkpoints[0] ?? 0n, group);
        return;
      }
    }
    for (const p of this.projections) await this.startOne(p.name);
  }

  private startTogether(checkpoint: bigint, projections: readonly Projection[]): void {
    // Only the event types some projection reads come whole; the rest as headers (far less to parse).
    const shared = this.store instanceof SqlEventStore && this.store.db === this.db;
    const wanted = projections.map((p) => (p.fullTypes ? p.fullTypes(shared) : 'all'));
    const fullTypes = wanted.includes('all') ? undefined : [...new Set(wanted.flatMap((w) => w as readonly string[]))];
    const key = `${TOGETHER}:${projections.map((p) => p.name).join(',')}`;
    const subscription = this.store.subscribeAll({ after: checkpoint, batchSize: this.options.batchSize ?? 500, ...(fullTypes ? { fullTypes } : {}) }, (batch) => this.applyBatch(projections, batch, key));
    this.subscriptions.set(key, subscription);
    subscription.done.catch((error: Error) => {
      this.failure = error;
      this.options.onError?.(key, error);
    });
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
    if (this.subscriptions.has(name)) return;
    const checkpoint = await this.checkpointOf(p.name);
    const subscription = this.store.subscribeAll({ after: checkpoint, batchSize: this.options.batchSize ?? 500 }, (batch) => this.applyBatch([p], batch, p.name));
    this.subscriptions.set(p.name, subscription);
    subscription.done.catch((error: Error) => {
      this.failure = error;
      this.options.onError?.(p.name, error);
    });
  }

  /** Stops one projection after its current batch; its checkpoint stays where that batch committed it. */
  async stopOne(name: string): Promise<void> {
    const subscription = this.subscriptions.get(name);
    this.subscriptions.delete(name);
    await subscription?.stop();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.subscriptions.keys()].map((name) => this.stopOne(name)));
  }

  /** Resolves when every projection has applied the event at `position` (or fails after `ms`). */
  async waitFor(position: bigint, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const lowest = await this.lowestCheckpoint();
      if (lowest >= position) return;
      if (this.failure) throw this.failure;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`read models did not reach position ${position} within ${ms} ms (at ${lowest})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 250));
        this.waiters.push({ position, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
  }

  private async applyBatch(projections: readonly Projection[], batch: RecordedEvent[], key: string): Promise<void> {
    const from = this.subscriptions.get(key)?.position ?? 0n;
    const to = batch[batch.length - 1]!.position;
    const atHead = to >= (await this.store.headPosition());
    await this.db.transaction(async (tx) => {
      const store = this.store;
      const shared = store instanceof SqlEventStore && store.db === this.db;
      const context = {
        atHead,
        readStreams: (ids: string[]) => (shared ? store.readStreams(ids, tx) : store.readStreams(ids)),
        ...(shared ? { eventsTable: store.eventsTable } : {}),
      };
      for (const projection of projections) {
        await projection.apply(tx, this.schema, batch, context);
        const { rows } = await tx.query(
          `UPDATE ${quoteIdent(this.schema)}.projection_checkpoints SET position = $2, updated_at = now()
           WHERE name = $1 AND position = $3 RETURNING name`,
          [projection.name, to.toString(), from.toString()],
        );
        if (rows.length !== 1) {
          throw new CheckpointMovedError(`checkpoint of ${projection.name} is no longer at ${from}: another runner is applying it`);
        }
      }
    });
    for (const w of this.waiters.splice(0)) w.resolve();
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

/** The projections' state as the read-model database says, whichever process runs them. */
export async function projectionStatus(
  db: SqlDatabase,
  store: EventStore,
  schema = 'rm',
): Promise<ProjectionStatus[]> {
  const head = await store.headPosition();
  let rows: { name: string; version: number; position: string }[] = [];
  try {
    rows = (
      await db.query<{ name: string; version: number; position: string }>(
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
