import { Inject, Injectable } from '@nestjs/common';
import { streams, type Actor, type Channel } from '@forfait/events';
import { campaignFrom, decideCampaign, ofType, toEntitlementView } from '@forfait/domain';
import { listDoctorsOfYear, type Runtime } from '@forfait/read-models';
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

  async calculateAll(year: number, meta: Meta) {
    // Read models must have seen everything written so far before they list the doctors.
    await this.runtime.projector?.waitFor(await this.runtime.store.headPosition(), 30_000);
    const doctors = await listDoctorsOfYear(this.runtime.readDb, this.runtime.readModelSchema, year);
    const results: Awaited<ReturnType<CalculationService['calculateOne']>>[] = [];
    for (const rpps of doctors) results.push(await this.calculateOne(rpps, year, meta));
    const now = this.runtime.clock.now().toISOString();
    const head = await this.runtime.store.headPosition();
    await this.executor.execute(
      streams.campaign(year),
      (events) => {
        const c = campaignFrom(events);
        const done = ofType(events, 'CampaignCalculationCompleted').at(-1);
        if (c.status !== 'none' && c.calculated && done && results.every((r) => !r.recorded)) return [];
        return decideCampaign({ type: 'CompleteCalculation', doctors: doctors.length, lastPosition: head.toString() }, c);
      },
      { ...meta, effectiveAt: now },
    );
    return { year, doctors: doctors.length, recorded: results.filter((r) => r.recorded).length, unchanged: results.filter((r) => !r.recorded).length, results };
  }
}
