import { defaultUpcasters, type RecordedEvent } from '@forfait/events';
import { JobsUnavailableError, QUEUES, type Clock, type Jobs } from '@forfait/platform';
import type { Projection } from '../projection';

export const CLOSE_CAMPAIGN_JOB = 'close-campaign';

export interface CloseCampaignJob {
  year: number;
  closesAt: string;
}

/** One job per campaign deadline: a duplicate enqueue (a replayed batch) is a no-op. */
export const closeJobId = (year: number, closesAt: string) => `close-${year}-${Date.parse(closesAt)}`;

/** Enqueues the close job of a deadline (a no-op when Redis has it already). */
/**
 * Enqueues the close job of a deadline (a no-op when Redis has it already), due when the server's
 * clock reaches the deadline: a job already waiting is moved to the delay this clock says, so that a
 * restart with another CLOCK (a jump forward) closes at once rather than at the old real time.
 */
export async function scheduleClose(jobs: Jobs, clock: Clock, year: number, closesAt: string): Promise<void> {
  const delay = Math.max(0, Date.parse(closesAt) - clock.now().getTime());
  const queue = jobs.queue(QUEUES.deadlines);
  const jobId = closeJobId(year, closesAt);
  await queue.add(CLOSE_CAMPAIGN_JOB, { year, closesAt } satisfies CloseCampaignJob, { jobId, delay });
  // A duplicate add keeps the job Redis has, with its old due time: read it back.
  const job = await queue.getJob(jobId);
  if (job && (await job.getState()) === 'delayed' && Math.abs(job.timestamp + job.delay - (Date.now() + delay)) > 1000) await job.changeDelay(delay);
}

/**
 * Schedules the closing of a campaign at its deadline as a delayed job, and moves it when a
 * `CampaignDeadlineExtended` is seen. A reactor with a checkpoint like a projection's: a batch
 * replayed after a crash enqueues the same job ids again, which BullMQ ignores.
 */
export function deadlineScheduler(jobs: Jobs, clock: Clock): Projection {
  const queue = jobs.queue(QUEUES.deadlines);
  // Redis away: the batch goes on without it (a projection that threw would stop for good). The
  // deadline is in the campaign_deadlines read model, and the reconciler re-enqueues it when Redis
  // is back (reactors/job-reconciler.ts).
  const whileAvailable = async (call: () => Promise<unknown>) => {
    try {
      await jobs.produce(call);
    } catch (error) {
      if (!(error instanceof JobsUnavailableError)) throw error;
    }
  };
  const schedule = (year: number, closesAt: string) => whileAvailable(() => scheduleClose(jobs, clock, year, closesAt));
  return {
    name: 'deadline_scheduler',
    version: 1,
    tables: [],
    async setup() {
      // No table: the jobs are the read side.
    },
    async apply(_tx, _schema, events: RecordedEvent[]) {
      for (const raw of events) {
        const e = defaultUpcasters.upcast(raw);
        if (e.type === 'CampaignOpened') await schedule(e.data.year, e.data.closesAt);
        if (e.type === 'CampaignDeadlineExtended') {
          // The old deadline's job would find the deadline moved and do nothing; removing it keeps the queue honest.
          await whileAvailable(() => queue.remove(closeJobId(e.data.year, e.data.previousClosesAt)).catch(() => 0));
          await schedule(e.data.year, e.data.closesAt);
        }
      }
    },
  };
}
