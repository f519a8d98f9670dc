import {
  DECLARATIVE_INDICATORS,
  isIndicatorCode,
  type Channel,
  type DeclarationEvent,
  type DeclarativeIndicator,
  type IndicatorCode,
  type Measure,
  type PrefillSource,
  type Role,
} from '@forfait/events';
import type { CampaignState } from '../campaign/campaign.state';
import { refuse } from '../errors';
import { ms } from '../events';
import type { Ruleset } from '../ruleset/ruleset';
import type { DeclarationState } from './declaration.state';

export type DeclarationCommand =
  | {
      type: 'Declare';
      indicator: string;
      value: unknown;
      attestation: boolean;
      channel: Channel;
      role: Role;
      /** When it happened (the caisse received the paper form); `now` for the doctor on amelipro. */
      effectiveAt: string;
      now: string;
    }
  | { type: 'Prefill'; indicator: string; source: string; value: unknown }
  | { type: 'Transmit'; effectiveAt: string }
  | { type: 'RecordMeasure'; indicator: string; source: string; measure: Measure }
  | { type: 'SubmitJustificatif'; justificatifId: string; indicator: string; sha256: string; size: number; mediaType: string }
  | { type: 'DecideJustificatif'; justificatifId: string; decision: 'validated' | 'rejected'; reason?: string }
  | { type: 'RecordPayment'; amountCents: number; paidAt: string };

export interface DeclarationContext {
  rpps: string;
  year: number;
  campaign: CampaignState;
  /** The campaign's ruleset (amended as known), for the allowed modalities and devices. */
  ruleset: Ruleset;
}

/** decide(command, state) → events for the stream `declaration-<rpps>-<year>`. */
export function decideDeclaration(command: DeclarationCommand, state: DeclarationState, ctx: DeclarationContext): DeclarationEvent[] {
  const dy = { rpps: ctx.rpps, year: ctx.year };
  switch (command.type) {
    case 'Declare': {
      const campaign = requireCampaign(ctx);
      const indicator = declarative(command.indicator);
      if (ms(command.effectiveAt) > ms(command.now)) {
        return refuse('EFFECTIVE_AT_IN_FUTURE', `effectiveAt ${command.effectiveAt} is in the future`, { now: command.now });
      }
      // Who may use which channel (api.md, "Declarations").
      const channels: Partial<Record<Role, Channel[]>> = { doctor: ['amelipro'], agent: ['paper', 'back-office'], system: ['import'] };
      if (!(channels[command.role] ?? []).includes(command.channel)) {
        return refuse('CHANNEL_NOT_ALLOWED', `a ${command.role} cannot declare through ${command.channel}`, { allowed: channels[command.role] ?? [] });
      }
      // Judged on effective time: when the doctor declared or the caisse received the form (spec, "Campaign 2023").
      if (ms(command.effectiveAt) < ms(campaign.opensAt) || ms(command.effectiveAt) > ms(campaign.closesAt)) {
        return refuse('CAMPAIGN_CLOSED', `the ${ctx.year} campaign window is ${campaign.opensAt} – ${campaign.closesAt}; ${command.effectiveAt} is outside it`, {
          opensAt: campaign.opensAt,
          closesAt: campaign.closesAt,
        });
      }
      const value = checkValue(indicator, command.value, ctx.ruleset);
      // Every volet-2 declaration is an attestation sur l'honneur (guide §II.2–II.7, api.md).
      const attested = ctx.ruleset.volet2.indicators.some((r) => r.code === indicator && r.kind === 'declared');
      if (attested && command.attestation !== true) {
        return refuse('ATTESTATION_REQUIRED', `${indicator} is declared on honour: attestation must be true`);
      }
      return [{ type: 'IndicatorDeclared', data: { ...dy, indicator, value: value as never, attestation: command.attestation === true } }];
    }
    case 'Prefill': {
      requireCampaign(ctx);
      const source = ctx.ruleset.prefillSources.find((p) => p.indicator === command.indicator)?.source as PrefillSource | undefined;
      if (!source) {
        return refuse('INDICATOR_NOT_DECLARATIVE', `${command.indicator} is not pre-filled (only ${ctx.ruleset.prefillSources.map((p) => p.indicator).join(', ')})`);
      }
      if (command.source !== source) return refuse('PREFILL_SOURCE_INVALID', `${command.indicator} is pre-filled from ${source}, not ${command.source}`);
      const indicator = command.indicator as 'V1_SEGUR_LAP' | 'V1_HORAIRES';
      const value = checkValue(indicator, command.value, ctx.ruleset);
      return [{ type: 'IndicatorPrefilled', data: { ...dy, indicator, source, value: value as never } }];
    }
    case 'Transmit': {
      const campaign = requireCampaign(ctx);
      if (ms(command.effectiveAt) < ms(campaign.opensAt) || ms(command.effectiveAt) > ms(campaign.closesAt)) {
        return refuse('CAMPAIGN_CLOSED', `the ${ctx.year} campaign window is ${campaign.opensAt} – ${campaign.closesAt}`, { closesAt: campaign.closesAt });
      }
      return [{ type: 'DeclarationTransmitted', data: dy }];
    }
    case 'RecordMeasure': {
      requireCampaign(ctx);
      if (!isIndicatorCode(command.indicator)) return refuse('INDICATOR_UNKNOWN', `unknown indicator ${command.indicator}`);
      checkMeasure(command.indicator, command.measure, ctx.year);
      return [{ type: 'MeasureRecorded', data: { ...dy, indicator: command.indicator, source: command.source, measure: command.measure } }];
    }
    case 'SubmitJustificatif': {
      requireCampaign(ctx);
      if (!isIndicatorCode(command.indicator)) return refuse('INDICATOR_UNKNOWN', `unknown indicator ${command.indicator}`);
      return [
        {
          type: 'JustificatifSubmitted',
          data: { ...dy, justificatifId: command.justificatifId, indicator: command.indicator, sha256: command.sha256, size: command.size, mediaType: command.mediaType },
        },
      ];
    }
    case 'DecideJustificatif': {
      const j = state.justificatifs[command.justificatifId];
      if (!j) return refuse('JUSTIFICATIF_NOT_FOUND', `no justificatif ${command.justificatifId} for this doctor-year`);
      if (j.status !== 'pending') return refuse('JUSTIFICATIF_ALREADY_DECIDED', `justificatif ${command.justificatifId} was already ${j.status}`, { status: j.status });
      if (command.decision === 'rejected') {
        const reason = command.reason?.trim();
        if (!reason) return refuse('REASON_REQUIRED', 'a rejection gives its reason to the doctor');
        return [{ type: 'JustificatifRejected', data: { ...dy, justificatifId: command.justificatifId, indicator: j.indicator, reason } }];
      }
      return [{ type: 'JustificatifValidated', data: { ...dy, justificatifId: command.justificatifId, indicator: j.indicator } }];
    }
    case 'RecordPayment': {
      if (!Number.isInteger(command.amountCents) || command.amountCents < 0) {
        return refuse('AMOUNT_INVALID', 'amountCents is a non-negative integer (a recovery is not a negative payment)');
      }
      return [{ type: 'PaymentRecorded', data: { ...dy, amountCents: command.amountCents, paidAt: command.paidAt } }];
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

function requireCampaign(ctx: DeclarationContext): Exclude<CampaignState, { status: 'none' }> {
  if (ctx.campaign.status === 'none') return refuse('CAMPAIGN_NOT_FOUND', `no campaign has been opened for ${ctx.year}`);
  return ctx.campaign;
}

function declarative(indicator: string): DeclarativeIndicator {
  if (!isIndicatorCode(indicator)) return refuse('INDICATOR_UNKNOWN', `unknown indicator ${indicator}`);
  if (!(DECLARATIVE_INDICATORS as readonly string[]).includes(indicator)) {
    return refuse('INDICATOR_NOT_DECLARATIVE', `${indicator} is measured by the insurer, not declared`);
  }
  return indicator as DeclarativeIndicator;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isDate = (v: unknown): v is string => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v));
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;

/** The value shapes of api.md, with the allowed modalities and devices of the ruleset (spec, "Allowed modalities"). */
function checkValue(indicator: DeclarativeIndicator, value: unknown, ruleset: Ruleset): unknown {
  const invalid = (why: string): never => refuse('VALUE_INVALID', `${indicator}: ${why}`, { indicator });
  if (!isObject(value)) return invalid('value must be an object');
  const only = (keys: string[]) => {
    const extra = Object.keys(value).filter((k) => !keys.includes(k));
    if (extra.length > 0) invalid(`unexpected field(s) ${extra.join(', ')}`);
  };
  switch (indicator) {
    case 'V1_SEGUR_LAP': {
      only(['segurSoftware', 'lapCertified']);
      const s = value.segurSoftware;
      if (!isObject(s) || !nonEmpty(s.editor) || !nonEmpty(s.name) || !nonEmpty(s.version) || !isDate(s.acquiredOn)) {
        return invalid('segurSoftware needs editor, name, version and acquiredOn (YYYY-MM-DD)');
      }
      if (typeof value.lapCertified !== 'boolean') return invalid('lapCertified must be a boolean');
      return { segurSoftware: { editor: s.editor, name: s.name, version: s.version, acquiredOn: s.acquiredOn }, lapCertified: value.lapCertified };
    }
    case 'V1_HORAIRES':
      only(['displayed']);
      if (typeof value.displayed !== 'boolean') return invalid('displayed must be a boolean');
      return { displayed: value.displayed };
    case 'V2_CODAGE':
    case 'V2_MAITRE_STAGE':
    case 'V2_VIDEO':
      only(['answer']);
      if (typeof value.answer !== 'boolean') return invalid('answer must be a boolean');
      return { answer: value.answer };
    case 'V2_COORDINATION':
    case 'V2_SERVICES_PATIENTS':
    case 'V2_EQUIPEMENT_CONNECTE': {
      const field = indicator === 'V2_EQUIPEMENT_CONNECTE' ? 'devices' : 'modalities';
      only(['answer', field]);
      if (typeof value.answer !== 'boolean') return invalid('answer must be a boolean');
      const list = value[field];
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) return invalid(`${field} must be a list of codes`);
      const rule = ruleset.volet2.indicators.find((r) => r.code === indicator);
      const allowed = rule && rule.kind === 'declared' ? rule.allowed : undefined;
      const bad = (list as string[]).filter((x) => !allowed?.values.includes(x));
      if (bad.length > 0) {
        const code = field === 'devices' ? 'DEVICE_NOT_ALLOWED' : 'MODALITY_NOT_ALLOWED';
        const refusedByGuide = bad.filter((x) => allowed?.refused.includes(x));
        return refuse(
          code,
          `${indicator}: ${bad.join(', ')} ${bad.length > 1 ? 'are' : 'is'} not allowed${refusedByGuide.length > 0 ? ' (excluded by the guide)' : ''}; allowed: ${allowed?.values.join(', ')}`,
          { indicator, refused: bad, allowed: allowed?.values ?? [] },
        );
      }
      if (value.answer && list.length === 0) return invalid(`a "yes" needs at least one of ${field}`);
      return { answer: value.answer, [field]: [...new Set(list as string[])] };
    }
    default: {
      const _exhaustive: never = indicator;
      return _exhaustive;
    }
  }
}

const count = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

function checkMeasure(indicator: IndicatorCode, m: Measure, year: number): void {
  const invalid = (why: string): never => refuse('VALUE_INVALID', `${indicator}: ${why}`, { indicator });
  switch (m.kind) {
    case 'rate':
      if (!count(m.numerator) || !count(m.denominator)) invalid('numerator and denominator are non-negative integers');
      return;
    case 'count':
      if (!count(m.numerator)) invalid('numerator is a non-negative integer');
      return;
    case 'participation':
      if (typeof m.participates !== 'boolean') invalid('participates must be a boolean');
      return;
    case 'teletransmission':
      if (typeof m.teletransmittedPreviousYear !== 'boolean') invalid('teletransmittedPreviousYear must be a boolean');
      if (m.months) {
        for (const x of m.months) {
          if (!new RegExp(`^${year}-(0[1-9]|1[0-2])$`).test(x.month)) invalid(`month ${x.month} is not a month of ${year}`);
          if (!count(x.fse) || !count(x.total) || x.fse > x.total) invalid(`month ${x.month}: fse and total are counts with fse ≤ total`);
        }
        if (new Set(m.months.map((x) => x.month)).size !== m.months.length) invalid('a month appears twice');
      } else if (!count(m.numerator) || !count(m.denominator) || m.numerator > m.denominator) {
        invalid('give months, or numerator ≤ denominator as counts');
      }
      if (m.firstFseOn !== undefined && !isDate(m.firstFseOn)) invalid('firstFseOn is a date YYYY-MM-DD');
      return;
    default: {
      const _exhaustive: never = m;
      return _exhaustive;
    }
  }
}
