import { defaultUpcasters, type RecordedEvent } from '@forfait/events';
import { QUEUES, type Clock, type Jobs } from '@forfait/platform';
import type { Projection } from '../projection';

export const CLOSE_CAMPAIGN_JOB = 'close-campaign';

export interface CloseCampaignJob {
  year: number;
  closesAt: string;
}

/** One job per campaign deadline: a duplicate enqueue (a replayed batch) is a no-op. */
export const closeJobId = (year: number, closesAt: string) => `close-${year}-${Date.parse(closesAt)}`;

/**
 * Schedules the closing of a campaign at its deadline as a delayed job, and moves it when a
 * `CampaignDeadlineExtended` is seen. A reactor with a checkpoint like a projection's: a batch
 * replayed after a crash enqueues the same job ids again, which BullMQ ignores.
 */
export function deadlineScheduler(jobs: Jobs, clock: Clock): Projection {
  const queue = jobs.queue(QUEUES.deadlines);
  const schedule = async (year: number, closesAt: string) => {
    const delay = Math.max(0, Date.parse(closesAt) - clock.now().getTime());
    await queue.add(CLOSE_CAMPAIGN_JOB, { year, closesAt } satisfies CloseCampaignJob, { jobId: closeJobId(year, closesAt), delay });
  };
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
          await queue.remove(closeJobId(e.data.year, e.data.previousClosesAt)).catch(() => 0);
          await schedule(e.data.year, e.data.closesAt);
        }
      }
    },
  };
}
