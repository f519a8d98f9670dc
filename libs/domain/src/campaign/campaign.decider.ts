import { isIndicatorCode, type CampaignEvent, type IndicatorCode, type IndicatorRuleChanges, type ListChanges, type ParameterChanges } from '@forfait/events';
import { refuse } from '../errors';
import { ms } from '../events';
import { amendableFields, invalidCampaignDataChange, isListChange, isParameterChange } from '../ruleset/amend';
import { findRuleset } from '../ruleset/registry';
import { ruleOf } from '../ruleset/ruleset';
import type { CampaignState } from './campaign.state';

export type CampaignCommand =
  | { type: 'OpenCampaign'; year: number; ruleset: string; rulesetVersion?: string; opensAt: string; closesAt: string }
  | { type: 'ExtendDeadline'; closesAt: string; reason: string; reference?: string }
  | { type: 'AmendRule'; indicator?: string; changes: IndicatorRuleChanges | ListChanges | ParameterChanges; reason: string; reference?: string }
  /** Sent by the deadline job: closes only if `closesAt` is still the deadline in force (idempotent). */
  | { type: 'CloseCampaign'; closesAt: string; now: string }
  | { type: 'CompleteCalculation'; doctors: number; lastPosition: string };

/** decide(command, state) → events for the stream `campaign-<year>`. */
export function decideCampaign(command: CampaignCommand, state: CampaignState): CampaignEvent[] {
  switch (command.type) {
    case 'OpenCampaign': {
      if (state.status !== 'none') return refuse('CAMPAIGN_EXISTS', `campaign ${command.year} is already open`, { year: command.year });
      const ruleset = findRuleset(command.ruleset, command.rulesetVersion);
      if (!ruleset)
        return refuse('RULESET_UNKNOWN', `ruleset ${command.ruleset}${command.rulesetVersion ? ` v${command.rulesetVersion}` : ''} is not known`, {
          ruleset: command.ruleset,
        });
      if (ruleset.year !== command.year) {
        return refuse('RULESET_YEAR_MISMATCH', `ruleset ${ruleset.id} is for ${ruleset.year}, not ${command.year}`, {
          ruleset: ruleset.id,
          year: command.year,
        });
      }
      if (ms(command.closesAt) <= ms(command.opensAt)) return refuse('INVALID_WINDOW', 'closesAt must be later than opensAt');
      return [
        {
          type: 'CampaignOpened',
          data: { year: command.year, ruleset: ruleset.id, rulesetVersion: ruleset.version, opensAt: command.opensAt, closesAt: command.closesAt },
        },
      ];
    }
    case 'ExtendDeadline': {
      const open = requireCampaign(state);
      // api.md: a reopening after the deadline is allowed until the yearly calculation has run.
      if (open.calculated) return refuse('CALCULATION_ALREADY_RUN', `the yearly calculation of ${open.year} has run: the campaign can no longer be extended`);
      if (ms(command.closesAt) <= ms(open.closesAt)) {
        return refuse('EXTENSION_NOT_LATER', `the new deadline ${command.closesAt} is not later than the current one ${open.closesAt}`, {
          current: open.closesAt,
        });
      }
      if (!command.reason.trim()) return refuse('REASON_REQUIRED', 'an extension needs a reason');
      return [
        {
          type: 'CampaignDeadlineExtended',
          data: {
            year: open.year,
            previousClosesAt: open.closesAt,
            closesAt: command.closesAt,
            reason: command.reason,
            ...(command.reference ? { reference: command.reference } : {}),
          },
        },
      ];
    }
    case 'AmendRule': {
      const open = requireCampaign(state);
      const ruleset = findRuleset(open.ruleset, open.rulesetVersion)!;
      if (!command.reason.trim()) return refuse('REASON_REQUIRED', 'un amendement a un motif');
      const event = (indicator: IndicatorCode | undefined): CampaignEvent[] => [
        {
          type: 'CampaignRuleAmended',
          data: {
            year: open.year,
            ...(indicator ? { indicator } : {}),
            changes: command.changes,
            reason: command.reason,
            ...(command.reference ? { reference: command.reference } : {}),
          },
        },
      ];
      const invalid = (message: string, details: Record<string, unknown> = {}) => refuse('AMENDMENT_INVALID', message, details);
      // A list or a parameter (spec "Parameters and lists a caisse can amend"): no indicator.
      if (isListChange(command.changes) || isParameterChange(command.changes)) {
        if (command.indicator !== undefined) return invalid('une liste ou un paramètre s’amende sans indicator');
        const why = invalidCampaignDataChange(ruleset, command.changes);
        return why ? invalid(why) : event(undefined);
      }
      if (command.indicator === undefined) return invalid('indicator est requis pour changer target, points ou neutralised');
      if (!isIndicatorCode(command.indicator)) return refuse('INDICATOR_UNKNOWN', `indicateur inconnu : ${command.indicator}`);
      const rule = ruleOf(ruleset, command.indicator);
      if (!rule) return refuse('INDICATOR_UNKNOWN', `${command.indicator} n’est pas dans le référentiel ${ruleset.id}`);
      const changes = command.changes;
      const fields = Object.entries(changes)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k);
      if (fields.length === 0) return invalid('un amendement change au moins target, points ou neutralised');
      const allowed = amendableFields(rule);
      const refused = fields.filter((f) => !(allowed as string[]).includes(f));
      if (refused.length > 0) return invalid(`${command.indicator} ne s’amende pas sur ${refused.join(', ')} (seulement ${allowed.join(', ')})`, { allowed });
      const { target, points, neutralised } = changes;
      // api.md: `excluded` on a volet-1 indicator is refused (the gate cannot lose a prerequisite).
      if (neutralised !== undefined && ![true, false, 'deemed-met', 'excluded'].includes(neutralised))
        return invalid('neutralised vaut deemed-met, excluded ou false');
      if (neutralised === 'excluded' && !('points' in rule)) return invalid(`${command.indicator} est un prérequis du volet 1 : il ne peut pas être exclu`);
      if (target !== undefined) {
        if (!('points' in rule)) {
          if (typeof target !== 'string' || !/^\s*\d{1,6}\s*\/\s*\d{1,6}\s*$/.test(target)) return invalid('target de la télétransmission s’écrit « 2/3 »');
          const [num, den] = target.split('/').map((x) => Number(x.trim())) as [number, number];
          if (!(den > 0 && num > 0 && num <= den)) return invalid('target de la télétransmission : une fraction entre 0 et 1');
        } else if (rule.kind === 'count') {
          if (!(typeof target === 'number' && Number.isInteger(target) && target >= 1 && target <= 1_000_000))
            return invalid('target de V2_APCV est un nombre entier de FSE ≥ 1');
        } else if (!(typeof target === 'number' && target > 0 && target <= 100)) {
          return invalid('target est un pourcentage dans ]0, 100] (10 pour 10 %)');
        }
      }
      if (points !== undefined && !(typeof points === 'number' && points >= 0 && points <= 10_000 && Number.isFinite(points)))
        return invalid('points est un nombre ≥ 0');
      return event(command.indicator);
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
