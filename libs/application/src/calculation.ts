import { streams, type DomainEvent } from '@forfait/events';
import { campaignFrom, decideCampaign, toEntitlementView, type Entitlement, type KnownEvent, type Ruleset } from '@forfait/domain';
import type { CommandExecutor, CommandMeta, CommandResult } from './command-executor';
import type { ApplicationContext } from './context';
import { rulesetHash, type EntitlementService } from './entitlement';

/** What one doctor-year's calculation answers. */
export interface DoctorYearCalculation {
  rpps: string;
  year: number;
  recorded: boolean;
  eventId: string | null;
  totalPoints: number;
  amountCents: number;
  rulesetVersion: string;
  lastPosition: string;
}

/**
 * The yearly calculation's commands (spec, "After the campaign"): a doctor-year's entitlement
 * recorded with the ruleset version and hash and the last position it saw, then the campaign's
 * completion. Re-running records nothing for a doctor-year that has not changed since.
 */
export class CalculationHandler {
  constructor(
    private readonly context: ApplicationContext,
    private readonly executor: CommandExecutor,
    private readonly entitlements: EntitlementService,
  ) {}

  async calculateOne(rpps: string, year: number, meta: Omit<CommandMeta, 'effectiveAt'>): Promise<DoctorYearCalculation> {
    const now = this.context.clock.now().toISOString();
    const { entitlement, ruleset, lastPosition } = await this.entitlements.compute(rpps, year, now);
    const view = toEntitlementView(entitlement);
    const hash = rulesetHash(ruleset);
    const calculated = entitlementCalculated(entitlement, { rpps, year, ruleset, rulesetHash: hash, lastPosition });
    const result = await this.executor.execute(
      streams.declaration(rpps, year),
      (events) => (unchangedSince(events, view.amountCents, hash) ? [] : [calculated]),
      { ...meta, effectiveAt: now },
    );
    const recorded = result.events[0];
    return {
      rpps,
      year,
      recorded: !!recorded,
      eventId: recorded?.eventId ?? null,
      totalPoints: view.totalPoints,
      amountCents: view.amountCents,
      rulesetVersion: ruleset.version,
      lastPosition: lastPosition.toString(),
    };
  }

  /** Records that the yearly calculation ran (extensions are refused afterwards), once unless something changed. */
  async complete(year: number, doctors: number, anyRecorded: boolean, meta: Omit<CommandMeta, 'effectiveAt'>): Promise<CommandResult> {
    const now = this.context.clock.now().toISOString();
    const head = await this.context.store.headPosition();
    return this.executor.execute(
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

/**
 * The record of a doctor-year's calculation: the entitlement's amount, points and indicators, the
 * ruleset applied (id, version, hash) and the last position the calculation saw. The API's
 * calculation and the generator's datasets build it here.
 */
export function entitlementCalculated(
  entitlement: Entitlement,
  { rpps, year, ruleset, rulesetHash: hash, lastPosition }: { rpps: string; year: number; ruleset: Ruleset; rulesetHash: string; lastPosition: bigint },
): Extract<DomainEvent, { type: 'EntitlementCalculated' }> {
  return {
    type: 'EntitlementCalculated',
    data: {
      rpps,
      year,
      ruleset: ruleset.id,
      rulesetVersion: ruleset.version,
      rulesetHash: hash,
      totalPoints: entitlement.totalPoints.toString(),
      amountCents: toEntitlementView(entitlement).amountCents,
      indicators: [...entitlement.volet1.indicators, ...entitlement.volet2.indicators].map((i) => ({ code: i.code, met: i.met, points: i.points.toString() })),
      lastPosition: lastPosition.toString(),
    },
  };
}

/** Nothing new since the last calculation: the stream ends with the same amount under the same ruleset. */
function unchangedSince(events: KnownEvent[], amountCents: number, hash: string): boolean {
  const last = events[events.length - 1];
  return last?.type === 'EntitlementCalculated' && last.data.amountCents === amountCents && last.data.rulesetHash === hash;
}
