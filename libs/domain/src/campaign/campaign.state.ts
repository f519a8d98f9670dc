import type { CampaignRuleAmended, IndicatorCode } from '@forfait/events';
import type { KnownEvent } from '../events';

export interface DeadlineChange {
  closesAt: string;
  previousClosesAt: string | null;
  reason: string;
  reference?: string;
  eventId: string;
  recordedAt: string;
  effectiveAt: string;
}

export interface Amendment {
  eventId: string;
  /** Absent for a list or a parameter. */
  indicator?: IndicatorCode;
  changes: CampaignRuleAmended['data']['changes'];
  reason: string;
  reference?: string;
  recordedAt: string;
}

/** A campaign as its stream says: not opened yet, or opened with its window, amendments and history. */
export type CampaignState =
  | { status: 'none' }
  | {
      status: 'open' | 'closed';
      year: number;
      ruleset: string;
      rulesetVersion: string;
      opensAt: string;
      closesAt: string;
      deadlines: DeadlineChange[];
      amendments: Amendment[];
      calculated: boolean;
      openedEventId: string;
    };

export const initialCampaign: CampaignState = { status: 'none' };

/** evolve(state, event) for the campaign stream. */
export function evolveCampaign(state: CampaignState, event: KnownEvent): CampaignState {
  switch (event.type) {
    case 'CampaignOpened':
      return {
        status: 'open',
        year: event.data.year,
        ruleset: event.data.ruleset,
        rulesetVersion: event.data.rulesetVersion,
        opensAt: event.data.opensAt,
        closesAt: event.data.closesAt,
        deadlines: [
          {
            closesAt: event.data.closesAt,
            previousClosesAt: null,
            reason: 'ouverture de la campagne',
            eventId: event.eventId,
            recordedAt: event.metadata.recordedAt,
            effectiveAt: event.metadata.effectiveAt,
          },
        ],
        amendments: [],
        calculated: false,
        openedEventId: event.eventId,
      };
    case 'CampaignDeadlineExtended':
      if (state.status === 'none') return state;
      return {
        ...state,
        // An extension after the deadline reopens the campaign (api.md).
        status: 'open',
        closesAt: event.data.closesAt,
        deadlines: [
          ...state.deadlines,
          {
            closesAt: event.data.closesAt,
            previousClosesAt: event.data.previousClosesAt,
            reason: event.data.reason,
            ...(event.data.reference ? { reference: event.data.reference } : {}),
            eventId: event.eventId,
            recordedAt: event.metadata.recordedAt,
            effectiveAt: event.metadata.effectiveAt,
          },
        ],
      };
    case 'CampaignRuleAmended':
      if (state.status === 'none') return state;
      return {
        ...state,
        amendments: [
          ...state.amendments,
          {
            eventId: event.eventId,
            ...(event.data.indicator ? { indicator: event.data.indicator } : {}),
            changes: event.data.changes,
            reason: event.data.reason,
            ...(event.data.reference ? { reference: event.data.reference } : {}),
            recordedAt: event.metadata.recordedAt,
          },
        ],
      };
    case 'CampaignClosed':
      return state.status === 'none' ? state : { ...state, status: 'closed' };
    case 'CampaignCalculationCompleted':
      return state.status === 'none' ? state : { ...state, calculated: true };
    default:
      return state;
  }
}

export function campaignFrom(events: readonly KnownEvent[]): CampaignState {
  return events.reduce(evolveCampaign, initialCampaign);
}
