import type { Clock, Jobs } from '@forfait/platform';
import type { SqlDatabase } from '@forfait/store';
import { listOpenDeadlines } from '../projections/campaign-deadlines.projection';
import { listUnfinishedJobs } from './accepted-jobs';
import { scheduleClose } from './deadline-scheduler';

export interface ReconcileReport {
  deadlines: number;
  jobs: string[];
}

/**
 * Re-enqueues what the database says is unfinished: every campaign deadline not closed yet (its
 * delayed close job) and every accepted job not done. Ids are the ones first used (derived from
 * the deadline, the content, the position seen), so on a Redis that kept its data this is a no-op,
 * and on one that restarted empty each piece of work is there once again; the work itself records
 * nothing twice (deciders and content-derived event ids).
 */
export async function reconcileJobs(ctx: {
  jobs: Jobs;
  readDb: SqlDatabase;
  readModelSchema: string;
  clock: Clock;
  /** Resolves once the read models have seen the events written so far (bounded). */
  caughtUp?: () => Promise<void>;
}): Promise<ReconcileReport> {
  const { jobs } = ctx;
  const enqueued: string[] = [];
  // Accepted work first: its journal is written with the request, it waits for no projection.
  for (const job of await listUnfinishedJobs(ctx.readDb, ctx.readModelSchema)) {
    const request = job.request;
    const queue = jobs.queue(request.queue);
    // A job Redis still knows (waiting, active, completed) is left alone.
    if (await jobs.produce(() => queue.getJob(job.jobId))) continue;
    if (request.kind === 'job') await jobs.produce(() => queue.add(request.name, request.data, request.opts));
    else await jobs.produce(() => jobs.flowProducer().add(request.flow));
    enqueued.push(job.jobId);
  }
  // Deadlines come from a read model: it must include every campaign event written so far.
  await ctx.caughtUp?.();
  const deadlines = await listOpenDeadlines(ctx.readDb, ctx.readModelSchema);
  for (const d of deadlines) await jobs.produce(() => scheduleClose(jobs, ctx.clock, d.year, d.closesAt));
  return { deadlines: deadlines.length, jobs: enqueued };
}

/** A sweep while Redis is up, beside the runs on reconnection: what a missed run left is caught here. */
const SWEEP_MS = 30_000;
/** A run that has not ended by then is abandoned (the next one starts afresh; everything it does is idempotent). */
const RUN_BOUND_MS = 60_000;

/**
 * Runs the reconciliation now, on every reconnection to Redis and every SWEEP_MS while Redis is up,
 * one run at a time (a reconnection during a run asks for another).
 */
export function startJobReconciler(ctx: Parameters<typeof reconcileJobs>[0] & { onReport?: (r: ReconcileReport) => void; onError?: (e: Error) => void }): {
  stop(): void;
  idle(): Promise<void>;
} {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const once = async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`reconciliation still running after ${RUN_BOUND_MS} ms`)), RUN_BOUND_MS);
      });
      // Not `onReport?.(await …)`: an optional call skips its arguments, and the run with it.
      const report = await Promise.race([reconcileJobs(ctx), bound]);
      ctx.onReport?.(report);
    } finally {
      clearTimeout(timer);
    }
  };
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        if (stopped) return;
        try {
          await once();
        } catch (error) {
          ctx.onError?.(error as Error);
          // Redis lost again: the next reconnection runs it again. Still there (a slow answer, a
          // database hiccup): again in a while.
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run while once() awaited
          if (ctx.jobs.available && !stopped) {
            clearTimeout(retry);
            retry = setTimeout(() => void run(), 2000);
            retry.unref();
          }
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- run() and stop() set them while once() awaited
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const off = ctx.jobs.onReady(() => void run());
  const sweep = setInterval(() => {
    if (ctx.jobs.available) void run();
  }, SWEEP_MS);
  sweep.unref();
  void run();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(retry);
      clearInterval(sweep);
      off();
    },
    idle: async () => {
      while (running) await running;
    },
  };
}
