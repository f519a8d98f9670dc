import { Inject, Injectable } from '@nestjs/common';
import { AppError, streams, type Actor, type Channel } from '@forfait/events';
import { campaignFrom, decideCampaign, toEntitlementView } from '@forfait/domain';
import { QUEUES } from '@forfait/platform';
import { PROJECTIONS, listCaissesOfYear, listDoctorsOfYear, projectionStatus, type Runtime } from '@forfait/read-models';
import { RUNTIME } from '../runtime.token';
import { CommandExecutor } from '../core/command-executor';
import { EntitlementService, rulesetHash } from '../core/entitlement.service';

interface Meta {
  actor: Actor;
  channel: Channel;
  correlationId: string;
}

/**
 * The yearly calculation (spec, "After the campaign"): records the entitlement it computed with
 * the ruleset version and hash and the last position it saw. Re-running it records nothing for a
 * doctor-year that has not changed since its last calculation.
 */
@Injectable()
export class CalculationService {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
    @Inject(EntitlementService) private readonly entitlements: EntitlementService,
  ) {}

  async calculateOne(rpps: string, year: number, meta: Meta) {
    const now = this.runtime.clock.now().toISOString();
    const { entitlement, ruleset, lastPosition } = await this.entitlements.compute(rpps, year, now);
    const view = toEntitlementView(entitlement);
    const hash = rulesetHash(ruleset);
    const result = await this.executor.execute(
      streams.declaration(rpps, year),
      (events) => {
        const last = events[events.length - 1];
        // Nothing new since the last calculation: no second identical record.
        if (last?.type === 'EntitlementCalculated' && last.data.amountCents === view.amountCents && last.data.rulesetHash === hash) return [];
        return [
          {
            type: 'EntitlementCalculated',
            data: {
              rpps,
              year,
              ruleset: ruleset.id,
              rulesetVersion: ruleset.version,
              rulesetHash: hash,
              totalPoints: entitlement.totalPoints.toString(),
              amountCents: view.amountCents,
              indicators: [...entitlement.volet1.indicators, ...entitlement.volet2.indicators].map((i) => ({ code: i.code, met: i.met, points: i.points.toString() })),
              lastPosition: lastPosition.toString(),
            },
          },
        ];
      },
      { ...meta, effectiveAt: now },
    );
    const recorded = result.events[0];
    return { rpps, year, recorded: !!recorded, eventId: recorded?.eventId ?? null, totalPoints: view.totalPoints, amountCents: view.amountCents, rulesetVersion: ruleset.version, lastPosition: lastPosition.toString() };
  }

  /**
   * Every doctor of the campaign: fanned out as one job per caisse, under a parent job that records
   * the campaign's completion (202), or run inline when Redis is not there.
   */
  async calculateAll(year: number, meta: Meta) {
    const head = await this.runtime.store.headPosition();
    // The read models list the doctors: they must have seen everything written so far.
    await waitForReadModels(this.runtime, head, 30_000);
    const caisses = await listCaissesOfYear(this.runtime.readDb, this.runtime.readModelSchema, year);
    const jobs = this.runtime.jobs;
    if (jobs) {
      const queueName = QUEUES.calculations;
      // Ids derive from the position seen: a re-run with nothing new is the same job, a no-op.
      const base = `calc-${year}-${head}`;
      const flow = await jobs.flowProducer().add({
        name: 'calculation-complete',
        queueName,
        data: { year, correlationId: meta.correlationId },
        opts: { jobId: base },
        children: caisses.map((c) => ({ name: 'calculate-caisse', queueName, data: { year, caisse: c.caisse, correlationId: meta.correlationId }, opts: { jobId: `${base}-${c.caisse}` } })),
      });
      return { mode: 'jobs' as const, year, jobId: flow.job.id!, statusUrl: `/v1/jobs/${encodeURIComponent(flow.job.id!)}`, caisses };
    }
    const doctors = await listDoctorsOfYear(this.runtime.readDb, this.runtime.readModelSchema, year);
    const results: Awaited<ReturnType<CalculationService['calculateOne']>>[] = [];
    for (const rpps of doctors) results.push(await this.calculateOne(rpps, year, meta));
    await this.complete(year, doctors.length, results.some((r) => r.recorded), meta);
    return { mode: 'inline' as const, year, doctors: doctors.length, recorded: results.filter((r) => r.recorded).length, unchanged: results.filter((r) => !r.recorded).length, results };
  }

  /** Records that the yearly calculation ran (extensions are refused afterwards), once unless something changed. */
  async complete(year: number, doctors: number, anyRecorded: boolean, meta: Meta): Promise<void> {
    const now = this.runtime.clock.now().toISOString();
    const head = await this.runtime.store.headPosition();
    await this.executor.execute(
      streams.campaign(year),
      (events) => {
        const c = campaignFrom(events);
        if (c.status !== 'none' && c.calculated && !anyRecorded) return [];
        return decideCampaign({ type: 'CompleteCalculation', doctors, lastPosition: head.toString() }, c);
      },
      { ...meta, effectiveAt: now },
    );
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

export class ReadModelsBehindError extends AppError {
  readonly code = 'READ_MODELS_BEHIND';
}
