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
/** An indicator's rule: target (percent for rates, FSE count for ApCV, "2/3" for télétransmission), points, neutralised (`true` stored before modes existed means deemed met). */
export interface IndicatorRuleChanges {
  target?: number | string;
  points?: number;
  neutralised?: boolean | 'deemed-met' | 'excluded';
}
/** A campaign list: entries added and removed (spec "Parameters and lists a caisse can amend"). */
export interface ListChanges {
  list: string;
  add?: unknown[];
  remove?: unknown[];
}
/** A campaign parameter's new value. */
export interface ParameterChanges {
  parameter: string;
  value: unknown;
}
export interface CampaignRuleAmended {
  type: 'CampaignRuleAmended';
  data: {
    year: number;
    /** Set for an indicator's rule; absent for a list or a parameter. */
    indicator?: IndicatorCode;
    changes: IndicatorRuleChanges | ListChanges | ParameterChanges;
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

export type CampaignEvent = CampaignOpened | CampaignDeadlineExtended | CampaignRuleAmended | CampaignClosed | CampaignCalculationCompleted;
