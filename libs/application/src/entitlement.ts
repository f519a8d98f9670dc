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

  /**
   * `known`: the store holds the doctor's profile or an event of the doctor-year (whatever the
   * instant asked for). A declaration may come before the profile import (issue 13, decided): only a
   * doctor with neither is unknown.
   */
  async compute(
    rpps: string,
    year: number,
    at?: string,
  ): Promise<{ entitlement: Entitlement; ruleset: Ruleset; lastPosition: bigint; revision: number; known: boolean }> {
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
    const known = doctor.raw.some((e) => e.type === 'DoctorProfileRecorded') || declaration.raw.length > 0;
    return { entitlement, ruleset, lastPosition, revision: declaration.revision, known };
  }
}
