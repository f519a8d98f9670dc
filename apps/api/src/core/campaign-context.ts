import { Inject, Injectable } from '@nestjs/common';
import { amendRuleset, campaignFrom, findRuleset, refuse, type CampaignState, type Ruleset } from '@forfait/domain';
import type { RecordedEvent } from '@forfait/events';
import { StreamReader } from './stream-reader';

export type OpenCampaign = Exclude<CampaignState, { status: 'none' }>;

/** The campaign of a year as it stands, with its ruleset and the ruleset as amended: what every decider of a doctor-year needs. */
@Injectable()
export class CampaignContext {
  constructor(@Inject(StreamReader) private readonly reader: StreamReader) {}

  async load(year: number): Promise<{ campaign: OpenCampaign; base: Ruleset; ruleset: Ruleset }> {
    return this.from(year, (await this.reader.campaign(year)).raw);
  }

  /** The same, from the campaign stream as the caller read it. */
  from(year: number, raw: RecordedEvent[]): { campaign: OpenCampaign; base: Ruleset; ruleset: Ruleset } {
    const campaign = campaignFrom(this.reader.upcast(raw).events);
    if (campaign.status === 'none') return refuse('CAMPAIGN_NOT_FOUND', `no campaign ${year}`);
    const base = findRuleset(campaign.ruleset, campaign.rulesetVersion);
    if (!base) return refuse('RULESET_UNKNOWN', `campaign ${year} uses ${campaign.ruleset} v${campaign.rulesetVersion}, unknown to this software`);
    return { campaign, base, ruleset: amendRuleset(base, campaign.amendments) };
  }
}

/** An event as the API exports it (history, audit bundle): everything a verifier needs, position as a string. */
export function exportEvent(e: RecordedEvent) {
  return {
    eventId: e.eventId,
    streamId: e.streamId,
    revision: e.revision,
    position: e.position.toString(),
    type: e.type,
    schemaVersion: e.schemaVersion,
    data: e.data,
    metadata: e.metadata,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}
