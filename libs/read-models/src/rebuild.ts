import type { Job } from 'bullmq';
import { QUEUES, type Jobs } from '@forfait/platform';
import { assertSchemaName, quoteIdent, type EventStore, type SqlDatabase } from '@forfait/store';
import { ProjectionRunner } from './projection-runner';

export const REBUILD_JOB = 'rebuild';

export interface RebuildJob {
  /** Projection names; empty: every projection with tables. */
  projections: string[];
}

export interface RebuildProgress {
  phase: 'building' | 'swapping' | 'done';
  projections: string[];
  position: string;
  head: string;
  percent: number;
}

/**
 * Rebuilds projections from zero beside the live ones (a schema of their own), then swaps their
 * tables in, in one transaction, once caught up. Queries keep reading the old tables until the
 * swap; the live projections pause only for the last events and the swap itself.
 */
export async function rebuildProjections(
  ctx: { store: EventStore; readDb: SqlDatabase; readModelSchema: string; projector: ProjectionRunner; batchSize?: number },
  names: string[],
  onProgress: (p: RebuildProgress) => Promise<void> | void = () => undefined,
): Promise<{ projections: string[]; position: string; events: string; ms: number }> {
  const started = Date.now();
  const live = ctx.projector;
  const selected = (names.length > 0 ? names : live.names).map((n) => live.projection(n)).filter((p) => p.tables.length > 0);
  if (selected.length === 0) throw new Error(`nothing to rebuild among ${names.join(', ') || 'all'} (projections with tables: ${live.names.join(', ')})`);
  const schema = assertSchemaName(ctx.readModelSchema);
  const stamp = started.toString(36);
  const temp = assertSchemaName(`${schema}_rb_${stamp}`);
  const archive = assertSchemaName(`${schema}_old_${stamp}`);
  const label = selected.map((p) => p.name);
  const builder = new ProjectionRunner(ctx.store, ctx.readDb, selected, temp, { batchSize: ctx.batchSize ?? 5000, together: true });
  const progress = async (phase: RebuildProgress['phase']) => {
    const head = await ctx.store.headPosition();
    let position = head;
    for (const p of selected) {
      const c = await builder.checkpointOf(p.name);
      if (c < position) position = c;
    }
    const percent = head === 0n ? 100 : Math.floor(Number((position * 1000n) / head) / 10);
    await onProgress({ phase, projections: label, position: position.toString(), head: head.toString(), percent });
    return { position, head };
  };
  try {
    await builder.start();
    for (;;) {
      // A builder that failed (a projection throwing on some event) stops the rebuild, saying why.
      if (builder.failed) throw builder.failed;
      const { position, head } = await progress('building');
      if (position >= head) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await progress('swapping');
    for (const p of selected) await live.stopOne(p.name);
    try {
      await builder.waitFor(await ctx.store.headPosition(), 120_000);
      await builder.stop();
      await ctx.readDb.transaction(async (tx) => {
        await tx.query(`CREATE SCHEMA ${quoteIdent(archive)}`);
        for (const p of selected) {
          for (const table of p.tables) {
            await tx.query(`ALTER TABLE IF EXISTS ${quoteIdent(schema)}.${quoteIdent(table)} SET SCHEMA ${quoteIdent(archive)}`);
            await tx.query(`ALTER TABLE ${quoteIdent(temp)}.${quoteIdent(table)} SET SCHEMA ${quoteIdent(schema)}`);
          }
          await tx.query(
            `UPDATE ${quoteIdent(schema)}.projection_checkpoints SET version = $2, updated_at = now(),
               position = (SELECT position FROM ${quoteIdent(temp)}.projection_checkpoints WHERE name = $1)
             WHERE name = $1`,
            [p.name, p.version],
          );
        }
      });
    } finally {
      for (const p of selected) await live.startOne(p.name);
    }
    await ctx.readDb.query(`DROP SCHEMA IF EXISTS ${quoteIdent(archive)} CASCADE`);
    const { position } = await progress('done');
    return { projections: label, position: position.toString(), events: position.toString(), ms: Date.now() - started };
  } finally {
    await builder.stop();
    await ctx.readDb.query(`DROP SCHEMA IF EXISTS ${quoteIdent(temp)} CASCADE`);
  }
}

/** The rebuild worker runs where the live projections run (it pauses them for the swap). */
export function startRebuildWorker(jobs: Jobs, ctx: Parameters<typeof rebuildProjections>[0]): void {
  jobs.worker(
    QUEUES.rebuilds,
    async (job: Job<RebuildJob>) => {
      if (job.name !== REBUILD_JOB) return { skipped: job.name };
      return rebuildProjections(ctx, job.data.projections, (p) => job.updateProgress({ ...p }));
    },
    { lockDuration: 120_000 },
  );
}
