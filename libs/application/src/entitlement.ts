import { createHash } from 'node:crypto';
import { canonicalJson } from '@forfait/events';
import { computeEntitlement, type Entitlement, type Ruleset } from '@forfait/domain';
import type { ApplicationContext } from './context';
import type { DoctorYearReader } from './doctor-year-reader';

/** The SHA-256 of a ruleset's canonical JSON: what a calculation and an audit bundle say they applied. */
export function rulesetHash(ruleset: Ruleset): string {
  return createHash('sha256').update(canonicalJson(ruleset)).digest('hex');
}

/** Entitlements replayed on demand from the doctor-year's streams, as known at an instant (the pure function of libs/domain). */
export class EntitlementService {
  constructor(
    private readonly context: ApplicationContext,
    private readonly reader: DoctorYearReader,
  ) {}

  async compute(rpps: string, year: number, at?: string): Promise<{ entitlement: Entitlement; ruleset: Ruleset; lastPosition: bigint; revision: number }> {
    const instant = at ?? this.context.clock.now().toISOString();
    const { campaign, doctor, declaration, earlier, earlierCampaigns } = await this.reader.doctorYear(rpps, year);
    const ruleset = this.reader.rulesetKnownAt(year, campaign.events, instant);
    const entitlement = computeEntitlement({
      rpps,
      year,
      ruleset,
      knownAt: instant,
      campaign: campaign.events,
      doctor: doctor.events,
      declaration: declaration.events,
      earlier,
      earlierCampaigns,
    });
    const lastPosition = [...campaign.raw, ...doctor.raw, ...declaration.raw]
      .filter((e) => Date.parse(e.metadata.recordedAt) <= Date.parse(instant))
      .reduce((max, e) => (e.position > max ? e.position : max), 0n);
    // The doctor-year stream's revision now (its ETag), whatever the instant asked for.
    return { entitlement, ruleset, lastPosition, revision: declaration.revision };
  }
}
