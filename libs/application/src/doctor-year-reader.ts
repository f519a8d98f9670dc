import { defaultUpcasters, streams, type RecordedEvent } from '@forfait/events';
import {
  FIRST_CAMPAIGN_YEAR,
  amendRuleset,
  campaignFrom,
  findRuleset,
  knownAt as knownBy,
  refuse,
  yearsBefore,
  type CampaignState,
  type KnownEvent,
  type Ruleset,
} from '@forfait/domain';
import type { ApplicationContext } from './context';

export type OpenCampaign = Exclude<CampaignState, { status: 'none' }>;

/** A stream as read: the events upcast to the current schema, the recorded ones, its revision (-1: none). */
export interface ReadStream {
  events: KnownEvent[];
  raw: RecordedEvent[];
  revision: number;
}

/** The campaign of a year as it stands: its state, its ruleset as published and as amended. */
export interface CampaignRules {
  campaign: OpenCampaign;
  base: Ruleset;
  ruleset: Ruleset;
}

/** Everything a doctor-year's entitlement is computed from. */
export interface DoctorYearStreams {
  campaign: ReadStream;
  doctor: ReadStream;
  declaration: ReadStream;
  /** The declaration streams of the earlier years, upcast, oldest first. */
  earlier: KnownEvent[];
  /** The campaign streams of the earlier years (INT-6). */
  earlierCampaigns: KnownEvent[];
}

export function upcastStream(raw: RecordedEvent[]): ReadStream {
  return { events: raw.map((e) => defaultUpcasters.upcast(e) as KnownEvent), raw, revision: raw.length - 1 };
}

/**
 * A campaign's ruleset and amendments, resolved in this one place from its events (as they stand,
 * or as known at an instant when the caller filtered them): refused when there is no campaign or
 * when this software does not know its ruleset.
 */
export function campaignRules(year: number, events: KnownEvent[], knownAt?: string): CampaignRules {
  const { campaign, base, ruleset } = resolveCampaign(events);
  if (!campaign) return refuse('CAMPAIGN_NOT_FOUND', knownAt ? `no campaign ${year} was known at ${knownAt}` : `no campaign ${year}`);
  if (!base || !ruleset) return refuse('RULESET_UNKNOWN', `campaign ${year} uses ${campaign.ruleset} v${campaign.rulesetVersion}, unknown to this software`);
  return { campaign, base, ruleset };
}

/** The same without refusing: what is known of the campaign, its ruleset and amendments (a view, an audit bundle). */
export function resolveCampaign(events: KnownEvent[]): Partial<CampaignRules> {
  const campaign = campaignFrom(events);
  if (campaign.status === 'none') return {};
  const base = findRuleset(campaign.ruleset, campaign.rulesetVersion);
  return base ? { campaign, base, ruleset: amendRuleset(base, campaign.amendments) } : { campaign };
}

/**
 * Reads the streams of a doctor-year and upcasts them: a handful of streams, never a scan. The one
 * reader of the application layer (commands, entitlements, history, audit bundles, the CLI).
 */
export class DoctorYearReader {
  constructor(private readonly context: ApplicationContext) {}

  async stream(streamId: string): Promise<ReadStream> {
    return upcastStream(await this.context.store.readStream(streamId));
  }

  upcast(raw: RecordedEvent[]): ReadStream {
    return upcastStream(raw);
  }

  /** Several streams in one query (a command's campaign and doctor-year), each in revision order. */
  async streams(streamIds: string[]): Promise<RecordedEvent[][]> {
    const read = await this.context.store.readStreams(streamIds);
    return streamIds.map((id) => read.get(id) ?? []);
  }

  campaign(year: number): Promise<ReadStream> {
    return this.stream(streams.campaign(year));
  }

  doctor(rpps: string): Promise<ReadStream> {
    return this.stream(streams.doctor(rpps));
  }

  declaration(rpps: string, year: number): Promise<ReadStream> {
    return this.stream(streams.declaration(rpps, year));
  }

  /** The campaign of `year` with its ruleset and amendments, read now. */
  async campaignRules(year: number): Promise<CampaignRules> {
    return campaignRules(year, (await this.campaign(year)).events);
  }

  /** The declaration streams of the years before `year` (first year, carried-over justificatifs). */
  async earlier(rpps: string, year: number): Promise<KnownEvent[]> {
    const all = await Promise.all(yearsBefore(year).map((y) => this.declaration(rpps, y)));
    return all.flatMap((s) => s.events);
  }

  /** The campaign streams of the years before `year` (INT-6: an earlier campaign recorded here). */
  async earlierCampaigns(year: number): Promise<KnownEvent[]> {
    const read = await this.streams(yearsBefore(year).map((y) => streams.campaign(y)));
    return read.flatMap((raw) => upcastStream(raw).events);
  }

  /** The campaign, the doctor's profile, the doctor-year, the earlier years and their campaigns, read together. */
  async doctorYear(rpps: string, year: number): Promise<DoctorYearStreams> {
    const [campaign, doctor, declaration, earlier, earlierCampaigns] = await Promise.all([
      this.campaign(year),
      this.doctor(rpps),
      this.declaration(rpps, year),
      this.earlier(rpps, year),
      this.earlierCampaigns(year),
    ]);
    return { campaign, doctor, declaration, earlier, earlierCampaigns };
  }

  /** The published ruleset of a campaign as known at `at` (amendments are the entitlement's to apply, each from its instant). */
  rulesetKnownAt(year: number, campaign: KnownEvent[], at: string): Ruleset {
    return campaignRules(year, knownBy(campaign, at), at).base;
  }

  /** Every stream of a doctor (profile and each year), raw, in global order. */
  async doctorHistory(rpps: string, year?: number): Promise<RecordedEvent[]> {
    const last = this.context.clock.now().getUTCFullYear() + 1;
    const years = year !== undefined ? [year] : Array.from({ length: last - FIRST_CAMPAIGN_YEAR + 1 }, (_, i) => FIRST_CAMPAIGN_YEAR + i);
    const lists = await Promise.all([
      this.context.store.readStream(streams.doctor(rpps)),
      ...years.map((y) => this.context.store.readStream(streams.declaration(rpps, y))),
    ]);
    return lists.flat().sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  }
}
