import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { canonicalJson } from '@forfait/events';
import { campaignFrom, computeEntitlement, findRuleset, knownAt as knownBy, refuse, type Entitlement, type Ruleset } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import { RUNTIME } from '../runtime.token';
import { StreamReader } from './stream-reader';

export function rulesetHash(ruleset: Ruleset): string {
  return createHash('sha256').update(canonicalJson(ruleset)).digest('hex');
}

/** Entitlements computed on demand from the doctor-year's streams, as known at an instant. */
@Injectable()
export class EntitlementService {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(StreamReader) private readonly reader: StreamReader,
  ) {}

  async rulesetOf(year: number, at: string): Promise<Ruleset> {
    const { events } = await this.reader.campaign(year);
    const campaign = campaignFrom(knownBy(events, at));
    if (campaign.status === 'none') return refuse('CAMPAIGN_NOT_FOUND', `no campaign ${year} was known at ${at}`);
    const ruleset = findRuleset(campaign.ruleset, campaign.rulesetVersion);
    if (!ruleset) return refuse('RULESET_UNKNOWN', `campaign ${year} uses ${campaign.ruleset} v${campaign.rulesetVersion}, unknown to this software`);
    return ruleset;
  }

  async compute(rpps: string, year: number, at?: string): Promise<{ entitlement: Entitlement; ruleset: Ruleset; lastPosition: bigint }> {
    const instant = at ?? this.runtime.clock.now().toISOString();
    const [campaign, doctor, declaration, earlier] = await Promise.all([
      this.reader.campaign(year),
      this.reader.doctor(rpps),
      this.reader.declaration(rpps, year),
      this.reader.earlier(rpps, year),
    ]);
    const ruleset = await this.rulesetOf(year, instant);
    const entitlement = computeEntitlement({
      rpps,
      year,
      ruleset,
      knownAt: instant,
      campaign: campaign.events,
      doctor: doctor.events,
      declaration: declaration.events,
      earlier,
    });
    const lastPosition = [...campaign.raw, ...doctor.raw, ...declaration.raw]
      .filter((e) => Date.parse(e.metadata.recordedAt) <= Date.parse(instant))
      .reduce((max, e) => (e.position > max ? e.position : max), 0n);
    return { entitlement, ruleset, lastPosition };
  }
}
