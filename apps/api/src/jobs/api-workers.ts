import { rm } from 'node:fs/promises';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, type Job } from 'bullmq';
import { FULL_VERIFICATION_JOB, QUEUES } from '@forfait/platform';
import { verifyFully } from '@forfait/store';
import {
  CLOSE_CAMPAIGN_JOB,
  acceptJob,
  listDoctorsOfYearInCaisse,
  markJobDone,
  readAcceptedJob,
  recordImportBatch,
  type CloseCampaignJob,
  type Runtime,
} from '@forfait/read-models';
import { CalculationHandler, CampaignHandler, ImportsService, importMeasuresCsv, type CsvImportJob } from '@forfait/application';
import { RUNTIME } from '../runtime.token';

const SYSTEM = { sub: 'jobs', role: 'system' as const };

/**
 * The workers that write through the command side: campaign closing at its deadline, the yearly
 * calculation per caisse, CSV imports of measures. Each is idempotent: a job run twice records
 * nothing twice (deciders and content-derived ids see to it).
 */
@Injectable()
export class ApiWorkers implements OnApplicationBootstrap {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(CampaignHandler) private readonly campaigns: CampaignHandler,
    @Inject(CalculationHandler) private readonly calculations: CalculationHandler,
    @Inject(ImportsService) private readonly imports: ImportsService,
  ) {}

  /** Once the application is initialised (before it listens), where Redis is configured. */
  onApplicationBootstrap(): void {
    if (this.runtime.jobs) this.start(this.runtime.jobs);
  }

  private start(jobs: NonNullable<Runtime['jobs']>): void {
    const { runtime, campaigns, calculations, imports } = this;

    jobs.worker(QUEUES.deadlines, async (job: Job<CloseCampaignJob>, token?: string) => {
      if (job.name !== CLOSE_CAMPAIGN_JOB) return { skipped: job.name };
      const now = runtime.clock.now().toISOString();
      // The deadline is judged on the server's clock, not on Redis' real time: a job that fires before
      // it (a CLOCK set back since it was scheduled) waits again for what the clock says is left.
      const left = Date.parse(job.data.closesAt) - Date.parse(now);
      if (left > 0 && token) {
        await job.moveToDelayed(Date.now() + left, token);
        throw new DelayedError();
      }
      const result = await campaigns.handle(
        job.data.year,
        { type: 'CloseCampaign', closesAt: job.data.closesAt, now },
        { meta: { actor: SYSTEM, channel: 'system', correlationId: `job-${job.id}`, effectiveAt: job.data.closesAt } },
      );
      return { closed: result.events.length > 0 };
    });

    jobs.worker(QUEUES.calculations, async (job: Job<{ year: number; caisse?: string; correlationId: string }>) => {
      const meta = { actor: SYSTEM, channel: 'system' as const, correlationId: job.data.correlationId };
      if (job.name === 'calculate-caisse') {
        const doctors = await listDoctorsOfYearInCaisse(runtime.readDb, runtime.readModelSchema, job.data.year, job.data.caisse!);
        let recorded = 0;
        for (const [i, rpps] of doctors.entries()) {
          if ((await calculations.calculateOne(rpps, job.data.year, meta)).recorded) recorded += 1;
          await job.updateProgress({ done: i + 1, of: doctors.length });
        }
        return { caisse: job.data.caisse, doctors: doctors.length, recorded };
      }
      if (job.name === 'calculation-complete') {
        const children = Object.values(await job.getChildrenValues<{ doctors: number; recorded: number }>());
        const doctors = children.reduce((s, c) => s + c.doctors, 0);
        const recorded = children.reduce((s, c) => s + c.recorded, 0);
        await calculations.complete(job.data.year, doctors, recorded > 0, meta);
        // Done, whatever Redis does next: the reconciler will not start it again.
        await markJobDone(runtime.readDb, runtime.readModelSchema, job.id!, runtime.clock.now().toISOString(), { doctors, recorded });
        return { doctors, recorded };
      }
      return { skipped: job.name };
    });

    // The full recomputation of every chain and of the tree from the events (api.md, GET /v1/integrity's lastFullCheck).
    jobs.worker(QUEUES.integrity, async (job: Job<{ everyCheckpoint?: boolean }>) => {
      if (job.name !== FULL_VERIFICATION_JOB) return { skipped: job.name };
      let last = 0;
      const report = await verifyFully(
        { store: runtime.store, db: runtime.readDb, schema: runtime.readModelSchema, log: runtime.log },
        {
          everyCheckpoint: job.data.everyCheckpoint !== false,
          now: () => runtime.clock.now(),
          onProgress: (phase, done) => {
            if (done - last < 5000) return;
            last = done;
            // Progress is a hint: Redis lost meanwhile must not become an unhandled rejection (it would end the process).
            job.updateProgress({ phase, done }).catch(() => undefined);
          },
        },
      );
      return report;
    });

    jobs.worker(QUEUES.imports, async (job: Job<CsvImportJob>) => {
      // Run again after a Redis that restarted empty (re-enqueued by the reconciler): done is done.
      const accepted = await readAcceptedJob(runtime.readDb, runtime.readModelSchema, job.id!);
      if (accepted?.doneAt) return accepted.outcome;
      // Enqueued by the CLI beside the embedded store (the API owns its database): recorded now, so
      // that a crash or a Redis lost from here on leaves it to the reconciler, like the API's.
      if (!accepted) {
        await acceptJob(runtime.readDb, runtime.readModelSchema, {
          jobId: job.id!,
          request: { kind: 'job', queue: QUEUES.imports, name: job.name, data: { ...job.data }, opts: { jobId: job.id!, attempts: job.opts.attempts ?? 3 } },
          acceptedAt: runtime.clock.now().toISOString(),
          acceptedBy: job.data.correlationId.startsWith('cli-') ? 'cli' : SYSTEM.sub,
          correlationId: job.data.correlationId,
        });
      }
      const doctors = { named: new Set<string>(), rejectedRpps: [] as (string | undefined)[] };
      const outcome = await importMeasuresCsv(
        imports,
        job.data.path,
        job.data.source,
        { actor: SYSTEM, correlationId: job.data.correlationId },
        (p) => job.updateProgress({ ...p }),
        doctors,
      );
      // The imports screen lists it with its rejected lines, bound to the caisses of the doctors its lines name.
      await recordImportBatch(
        runtime.readDb,
        runtime.readModelSchema,
        {
          id: job.id!,
          kind: 'measures-csv',
          source: job.data.source,
          receivedAt: accepted?.acceptedAt ?? runtime.clock.now().toISOString(),
          correlationId: job.data.correlationId,
          received: outcome.received,
          appended: outcome.appended,
          duplicates: outcome.duplicates,
          rejectedCount: outcome.rejectedCount,
          status: outcome.status,
          summary: outcome.summary,
          rejected: outcome.rejected,
        },
        doctors,
      );
      // The file is kept until the import is done (the journal says so), then removed.
      await markJobDone(runtime.readDb, runtime.readModelSchema, job.id!, runtime.clock.now().toISOString(), outcome);
      await rm(job.data.path, { force: true });
      return outcome;
    });
  }
}
