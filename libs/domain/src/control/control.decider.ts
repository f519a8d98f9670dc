import { isIndicatorCode, type ControlEvent, type IndicatorCode } from '@forfait/events';
import type { DeclarationState } from '../declaration/declaration.state';
import { refuse } from '../errors';
import { ms } from '../events';
import { ruleOf, type Ruleset } from '../ruleset/ruleset';

export type ControlCommand =
  | { type: 'OpenControl'; controlId: string; indicators: string[]; reason: string; now: string; fraud?: boolean }
  | { type: 'RequestEvidence'; controlId: string; items: string[]; dueAt: string; now: string }
  | { type: 'RecordFinding'; controlId: string; indicator: string; outcome: 'confirmed' | 'invalidated'; reason: string }
  /** The handler recomputes the entitlement with the findings and passes its amount. */
  | { type: 'CloseControl'; controlId: string; recomputedAmountCents: number }
  | { type: 'FileContestation'; controlId: string; reason: string; now: string }
  | { type: 'DecideContestation'; controlId: string; outcome: 'upheld' | 'reversed'; indicators?: string[]; reason?: string };

export interface ControlContext {
  rpps: string;
  year: number;
  ruleset: Ruleset;
}

/** Adds calendar months in UTC (2 months after 31 Dec is 29 Feb or 28 Feb: JS rolls over, so clamp). */
export function addMonths(instant: string, months: number): number {
  const d = new Date(instant);
  const target = new Date(
    Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()),
  );
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target.getTime();
}

/** decide(command, state) → control events for the stream `declaration-<rpps>-<year>` (spec, "After the campaign"). */
export function decideControl(command: ControlCommand, state: DeclarationState, ctx: ControlContext): ControlEvent[] {
  const ref = { controlId: command.controlId, rpps: ctx.rpps, year: ctx.year };
  switch (command.type) {
    case 'OpenControl': {
      if (state.controls[command.controlId]) return refuse('VALUE_INVALID', `control ${command.controlId} already exists`);
      const indicators = command.indicators.map((code) => controlled(ctx.ruleset, code));
      if (indicators.length === 0) return refuse('VALUE_INVALID', 'a control names at least one indicator');
      if (!command.reason.trim()) return refuse('REASON_REQUIRED', 'a control states its reason');
      // Recovery is time-barred 3 years after payment, fraud excepted (parameter recoveryLimitationYears).
      const limits = ctx.ruleset.controls;
      const years = ctx.ruleset.parameters.recoveryLimitationYears;
      if (state.firstPaidAt && !(command.fraud && limits.fraudExempt) && ms(command.now) > addMonths(state.firstPaidAt, 12 * years)) {
        return refuse('RECOVERY_TIME_BARRED', `payment of ${state.firstPaidAt} is more than ${years} years old: recovery is time-barred (fraud excepted)`);
      }
      return [{ type: 'ControlOpened', data: { ...ref, indicators: [...new Set(indicators)], reason: command.reason } }];
    }
    case 'RequestEvidence': {
      openControl(state, command.controlId);
      if (command.items.length === 0 || command.items.some((i) => !i.trim())) return refuse('VALUE_INVALID', 'evidence requests list what is asked for');
      if (ms(command.dueAt) <= ms(command.now)) return refuse('VALUE_INVALID', 'dueAt must be in the future');
      return [{ type: 'ControlEvidenceRequested', data: { ...ref, items: command.items, dueAt: command.dueAt } }];
    }
    case 'RecordFinding': {
      const control = openControl(state, command.controlId);
      const indicator = controlled(ctx.ruleset, command.indicator);
      if (!control.indicators.includes(indicator)) {
        return refuse('INDICATOR_NOT_CONTROLLED', `${indicator} is not among the indicators of control ${command.controlId}`, {
          indicators: control.indicators,
        });
      }
      if (!command.reason.trim()) return refuse('REASON_REQUIRED', 'a finding states its reason');
      return [{ type: 'ControlFindingRecorded', data: { ...ref, indicator, outcome: command.outcome, reason: command.reason } }];
    }
    case 'CloseControl': {
      openControl(state, command.controlId);
      const balanceCents = command.recomputedAmountCents - state.paidCents;
      // A recomputed amount below what was paid is an indu to recover; above, a complement to pay.
      const notification = balanceCents < 0 ? 'recovery' : balanceCents > 0 ? 'complement' : 'none';
      return [
        {
          type: 'ControlClosed',
          data: { ...ref, paidCents: state.paidCents, recomputedAmountCents: command.recomputedAmountCents, balanceCents, notification },
        },
      ];
    }
    case 'FileContestation': {
      const control = state.controls[command.controlId];
      if (!control) return refuse('CONTROL_NOT_FOUND', `no control ${command.controlId}`);
      if (control.status !== 'closed') return refuse('CONTROL_NOT_CLOSED', 'a contestation answers a closed control’s notification');
      if (control.contestation) return refuse('CONTESTATION_EXISTS', `control ${command.controlId} is already contested`);
      if (!Object.values(control.findings).includes('invalidated')) return refuse('NOTHING_TO_CONTEST', 'the control invalidated nothing');
      const limit = addMonths(control.closedAt, ctx.ruleset.controls.contestationMonths);
      if (ms(command.now) > limit) {
        return refuse(
          'CONTESTATION_TOO_LATE',
          `the notification of ${control.closedAt} could be contested until ${new Date(limit).toISOString()} (${ctx.ruleset.controls.contestationMonths} months)`,
          {
            deadline: new Date(limit).toISOString(),
          },
        );
      }
      if (!command.reason.trim()) return refuse('REASON_REQUIRED', 'a contestation states its reason');
      return [{ type: 'ContestationFiled', data: { ...ref, reason: command.reason } }];
    }
    case 'DecideContestation': {
      const control = state.controls[command.controlId];
      if (!control) return refuse('CONTROL_NOT_FOUND', `no control ${command.controlId}`);
      if (control.status !== 'closed' || !control.contestation) return refuse('CONTESTATION_NOT_FOUND', `control ${command.controlId} is not contested`);
      if (control.contestation.status === 'decided') return refuse('CONTESTATION_ALREADY_DECIDED', 'the contestation was already decided');
      const invalidated = (Object.entries(control.findings) as [IndicatorCode, string][]).filter(([, o]) => o === 'invalidated').map(([c]) => c);
      const indicators = (command.indicators ?? []).map((c) => controlled(ctx.ruleset, c));
      const unknown = indicators.filter((c) => !invalidated.includes(c));
      if (unknown.length > 0)
        return refuse('INDICATOR_NOT_CONTROLLED', `${unknown.join(', ')} was not invalidated by control ${command.controlId}`, { invalidated });
      if (command.reason !== undefined && !command.reason.trim()) return refuse('REASON_REQUIRED', 'a decision’s reason, when given, is not blank');
      const reason = command.reason?.trim();
      return [
        {
          type: 'ContestationDecided',
          data: {
            ...ref,
            outcome: command.outcome,
            indicators: command.outcome === 'reversed' && indicators.length === 0 ? invalidated : indicators,
            ...(reason ? { reason } : {}),
          },
        },
      ];
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

function controlled(ruleset: Ruleset, code: string): IndicatorCode {
  if (!isIndicatorCode(code) || !ruleOf(ruleset, code)) return refuse('INDICATOR_UNKNOWN', `unknown indicator ${code}`);
  return code;
}

function openControl(state: DeclarationState, controlId: string) {
  const control = state.controls[controlId];
  if (!control) return refuse('CONTROL_NOT_FOUND', `no control ${controlId}`);
  if (control.status !== 'open') return refuse('CONTROL_CLOSED', `control ${controlId} is closed`);
  return control;
}
