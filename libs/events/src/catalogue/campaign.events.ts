import type { IndicatorCode } from './vocabulary';

/** Stream `campaign-<year>`. Deadlines and rule changes are events, not constants (spec, "Campaign 2023"). */
export interface CampaignOpened {
  type: 'CampaignOpened';
  data: { year: number; ruleset: string; rulesetVersion: string; opensAt: string; closesAt: string };
}
export interface CampaignDeadlineExtended {
  type: 'CampaignDeadlineExtended';
  data: { year: number; previousClosesAt: string; closesAt: string; reason: string; reference?: string };
}
export interface CampaignRuleAmended {
  type: 'CampaignRuleAmended';
  data: {
    year: number;
    indicator: IndicatorCode;
    /** target: a rate in percent; points: the new base points; neutralised: deemed met. */
    changes: { target?: number; points?: number; neutralised?: boolean };
    reason: string;
    reference?: string;
  };
}
export interface CampaignClosed {
  type: 'CampaignClosed';
  data: { year: number; closesAt: string };
}
/** The yearly calculation of the whole campaign ran; extensions are refused afterwards (api.md). */
export interface CampaignCalculationCompleted {
  type: 'CampaignCalculationCompleted';
  data: { year: number; doctors: number; lastPosition: string };
}

export type CampaignEvent =
  | CampaignOpened
  | CampaignDeadlineExtended
  | CampaignRuleAmended
  | CampaignClosed
  | CampaignCalculationCompleted;
