import { isIndicatorCode, type CampaignEvent, type IndicatorCode } from '@forfait/events';
import { refuse } from '../errors';
import { ms } from '../events';
import { amendableFields } from '../ruleset/amend';
import { findRuleset } from '../ruleset/registry';
import { ruleOf } from '../ruleset/ruleset';
import type { CampaignState } from './campaign.state';

export type CampaignCommand =
  | { type: 'OpenCampaign'; year: number; ruleset: string; rulesetVersion?: string; opensAt: string; closesAt: string }
  | { type: 'ExtendDeadline'; closesAt: string; reason: string; reference?: string }
  | { type: 'AmendRule'; indicator: string; changes: { target?: number; points?: number; neutralised?: boolean }; reason: string; reference?: string }
  /** Sent by the deadline job: closes only if `closesAt` is still the deadline in force (idempotent). */
  | { type: 'CloseCampaign'; closesAt: string; now: string }
  | { type: 'CompleteCalculation'; doctors: number; lastPosition: string };

/** decide(command, state) → events for the stream `campaign-<year>`. */
export function decideCampaign(command: CampaignCommand, state: CampaignState): CampaignEvent[] {
  switch (command.type) {
    case 'OpenCampaign': {
      if (state.status !== 'none') return refuse('CAMPAIGN_EXISTS', `campaign ${command.year} is already open`, { year: command.year });
      const ruleset = findRuleset(command.ruleset, command.rulesetVersion);
      if (!ruleset) return refuse('RULESET_UNKNOWN', `ruleset ${command.ruleset}${command.rulesetVersion ? ` v${command.rulesetVersion}` : ''} is not known`, { ruleset: command.ruleset });
      if (ruleset.year !== command.year) {
        return refuse('RULESET_YEAR_MISMATCH', `ruleset ${ruleset.id} is for ${ruleset.year}, not ${command.year}`, { ruleset: ruleset.id, year: command.year });
      }
      if (ms(command.closesAt) <= ms(command.opensAt)) return refuse('INVALID_WINDOW', 'closesAt must be later than opensAt');
      return [{ type: 'CampaignOpened', data: { year: command.year, ruleset: ruleset.id, rulesetVersion: ruleset.version, opensAt: command.opensAt, closesAt: command.closesAt } }];
    }
    case 'ExtendDeadline': {
      const open = requireCampaign(state);
      // api.md: a reopening after the deadline is allowed until the yearly calculation has run.
      if (open.calculated) return refuse('CALCULATION_ALREADY_RUN', `the yearly calculation of ${open.year} has run: the campaign can no longer be extended`);
      if (ms(command.closesAt) <= ms(open.closesAt)) {
        return refuse('EXTENSION_NOT_LATER', `the new deadline ${command.closesAt} is not later than the current one ${open.closesAt}`, { current: open.closesAt });
      }
      if (!command.reason.trim()) return refuse('REASON_REQUIRED', 'an extension needs a reason');
      return [
        {
          type: 'CampaignDeadlineExtended',
          data: { year: open.year, previousClosesAt: open.closesAt, closesAt: command.closesAt, reason: command.reason, ...(command.reference ? { reference: command.reference } : {}) },
        },
      ];
    }
    case 'AmendRule': {
      const open = requireCampaign(state);
      if (!isIndicatorCode(command.indicator)) return refuse('INDICATOR_UNKNOWN', `unknown indicator ${command.indicator}`);
      const ruleset = findRuleset(open.ruleset, open.rulesetVersion)!;
      const rule = ruleOf(ruleset, command.indicator);
      if (!rule) return refuse('INDICATOR_UNKNOWN', `${command.indicator} is not in ruleset ${ruleset.id}`);
      const fields = Object.entries(command.changes).filter(([, v]) => v !== undefined).map(([k]) => k);
      if (fields.length === 0) return refuse('AMENDMENT_NOT_APPLICABLE', 'an amendment changes at least one of target, points, neutralised');
      const allowed = amendableFields(rule);
      const refused = fields.filter((f) => !(allowed as string[]).includes(f));
      if (refused.length > 0) {
        return refuse('AMENDMENT_NOT_APPLICABLE', `${command.indicator} cannot be amended on ${refused.join(', ')} (only ${allowed.join(', ')})`, { allowed });
      }
      const { target, points } = command.changes;
      if (target !== undefined && !(target > 0 && target <= 100)) return refuse('VALUE_INVALID', 'target is a percentage in ]0, 100]');
      if (points !== undefined && !(points >= 0 && Number.isFinite(points))) return refuse('VALUE_INVALID', 'points must be a non-negative number');
      if (!command.reason.trim()) return refuse('REASON_REQUIRED', 'an amendment needs a reason');
      return [
        {
          type: 'CampaignRuleAmended',
          data: { year: open.year, indicator: command.indicator as IndicatorCode, changes: command.changes, reason: command.reason, ...(command.reference ? { reference: command.reference } : {}) },
        },
      ];
    }
    case 'CloseCampaign': {
      const open = requireCampaign(state);
      // A job scheduled for a deadline that has since been extended, or a second delivery: nothing to do.
      if (open.status === 'closed' || open.closesAt !== command.closesAt || ms(command.now) < ms(open.closesAt)) return [];
      return [{ type: 'CampaignClosed', data: { year: open.year, closesAt: open.closesAt } }];
    }
    case 'CompleteCalculation': {
      const open = requireCampaign(state);
      return [{ type: 'CampaignCalculationCompleted', data: { year: open.year, doctors: command.doctors, lastPosition: command.lastPosition } }];
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

function requireCampaign(state: CampaignState): Exclude<CampaignState, { status: 'none' }> {
  if (state.status === 'none') return refuse('CAMPAIGN_NOT_FOUND', 'no campaign has been opened for this year');
  return state;
}
