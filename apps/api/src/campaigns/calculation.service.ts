import { Inject, Injectable } from '@nestjs/common';
import { QUEUES } from '@forfait/platform';
import type { FlowJob } from 'bullmq';
import {
  PROJECTIONS,
  ReadModelsBehindError,
  acceptJob,
  listCaissesOfYear,
  listDoctorsOfYear,
  projectionStatus,
  withdrawJob,
  type Runtime,
} from '@forfait/read-models';
import { CalculationHandler, type CommandMeta, type DoctorYearCalculation } from '@forfait/application';
import { requireJobs, withJobs } from '../core/jobs-guard';
import { RUNTIME } from '../runtime.token';

type Meta = Omit<CommandMeta, 'effectiveAt'>;

/**
 * The yearly calculation of a whole campaign (spec, "After the campaign"): fanned out as jobs, or
 * run inline, each doctor-year by the CalculationHandler of libs/application.
 */
@Injectable()
export class CalculationService {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(CalculationHandler) private readonly calculation: CalculationHandler,
  ) {}

  /**
   * Every doctor of the campaign: fanned out as one job per caisse, under a parent job that records
   * the campaign's completion (202), or run inline when Redis is not there.
   */
  async calculateAll(year: number, meta: Meta) {
    // As jobs where Redis answers now or did at start (lost since: 503); inline where it never did.
    const asJobs = Boolean(this.runtime.jobs && (this.runtime.jobs.available || this.runtime.redis.ok));
    if (asJobs) requireJobs(this.runtime);
    const head = await this.runtime.store.headPosition();
    // The read models list the doctors: they must have seen everything written so far.
    await waitForReadModels(this.runtime, head, 30_000);
    const caisses = await listCaissesOfYear(this.runtime.readDb, this.runtime.readModelSchema, year);
    if (asJobs) {
      // A calculation is a job, and while Redis is away it is refused (503 above), not run inline in
      // the request.
      const queueName = QUEUES.calculations;
      // Ids derive from the position seen: a re-run with nothing new is the same job, a no-op.
      const base = `calc-${year}-${head}`;
      const flow: FlowJob = {
        name: 'calculation-complete',
        queueName,
        data: { year, correlationId: meta.correlationId },
        opts: { jobId: base },
        children: caisses.map((c) => ({
          name: 'calculate-caisse',
          queueName,
          data: { year, caisse: c.caisse, correlationId: meta.correlationId },
          opts: { jobId: `${base}-${c.caisse}` },
        })),
      };
      const db = this.runtime.readDb;
      const schema = this.runtime.readModelSchema;
      // Recorded before the enqueue: a Redis lost before the calculation completes loses nothing (the reconciler re-enqueues it).
      const accepted = await acceptJob(db, schema, {
        jobId: base,
        request: { kind: 'flow', queue: queueName, flow },
        acceptedAt: this.runtime.clock.now().toISOString(),
        acceptedBy: meta.actor.sub,
        correlationId: meta.correlationId,
      });
      try {
        await withJobs(this.runtime, (jobs) => jobs.flowProducer().add(flow));
      } catch (error) {
        if (accepted) await withdrawJob(db, schema, base);
        throw error;
      }
      return { mode: 'jobs' as const, year, jobId: base, statusUrl: `/v1/jobs/${encodeURIComponent(base)}`, caisses };
    }
    const doctors = await listDoctorsOfYear(this.runtime.readDb, this.runtime.readModelSchema, year);
    const results: DoctorYearCalculation[] = [];
    for (const rpps of doctors) results.push(await this.calculation.calculateOne(rpps, year, meta));
    await this.calculation.complete(
      year,
      doctors.length,
      results.some((r) => r.recorded),
      meta,
    );
    return {
      mode: 'inline' as const,
      year,
      doctors: doctors.length,
      recorded: results.filter((r) => r.recorded).length,
      unchanged: results.filter((r) => !r.recorded).length,
      results,
    };
  }
}

/** Waits (bounded) until every projection's checkpoint, as the read-model database says, reaches `position`. */
export async function waitForReadModels(runtime: Runtime, position: bigint, ms: number): Promise<void> {
  if (runtime.projector) return runtime.projector.waitFor(position, ms);
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await projectionStatus(runtime.readDb, runtime.store, runtime.readModelSchema);
    const mine = status.filter((s) => PROJECTIONS.some((p) => p.name === s.name));
    if (mine.length === PROJECTIONS.length && mine.every((s) => BigInt(s.checkpoint) >= position)) return;
    if (Date.now() > deadline) throw new ReadModelsBehindError(`read models did not reach position ${position} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { ReadModelsBehindError };
