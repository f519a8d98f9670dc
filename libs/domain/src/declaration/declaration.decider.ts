import {
  DECLARATIVE_INDICATORS,
  JUSTIFICATIF_SUBJECTS,
  LAP_CERTIFICATIONS,
  SEGUR_SOFTWARE_KINDS,
  isIndicatorCode,
  type JustificatifSubject,
  type LapCertification,
  type Channel,
  type DeclarationEvent,
  type DeclarativeIndicator,
  type SasAttestationDecisionLinked,
  type IndicatorCode,
  type Measure,
  type PrefillSource,
  type Role,
  type SegurLapValue,
  type SegurPrefillValue,
  type SegurSoftware,
} from '@forfait/events';
import type { CampaignState } from '../campaign/campaign.state';
import { lapRequired, onList, paperDated, parisDate, segurInForce, segurSubjects } from '../entitlement/segur';
import { formatDate, formatParisInstant } from '../entitlement/format';
import { refuse } from '../errors';
import { ms } from '../events';
import { maximumAmountCents, type Ruleset } from '../ruleset/ruleset';
import { assertChannel } from './channels';
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
      /** A paper form's postmark (INT-8): it dates the form when `paperDatedBy` is `postmark`. */
      postmarkedAt?: string;
      now: string;
    }
  | { type: 'Prefill'; indicator: string; source: string; value: unknown }
  | { type: 'Transmit'; effectiveAt: string }
  | { type: 'RecordMeasure'; indicator: string; source: string; measure: Measure }
  | {
      type: 'SubmitJustificatif';
      justificatifId: string;
      indicator: string;
      sha256: string;
      size: number;
      mediaType: string;
      /** When it was sent: uploaded, or received by the caisse for a postal one (rule 3). */
      effectiveAt: string;
      /** A postal one's postmark (INT-8): it dates the justificatif when `paperDatedBy` is `postmark`. */
      postmarkedAt?: string;
      channel?: Channel;
      /** INT-7: what it proves (V1_SEGUR_LAP); absent: those the doctor-year needs at that moment. */
      subjects?: string[];
    }
  | { type: 'DecideJustificatif'; justificatifId: string; decision: 'validated' | 'rejected'; reason?: string }
  | { type: 'RecordPayment'; amountCents: number; paidAt: string; reference?: string; now: string }
  /** The CPAM decided a CPTS president's SAS attestation listing this doctor (architecture.md, "Streams"). */
  | ({ type: 'LinkSasAttestationDecision' } & Omit<SasAttestationDecisionLinked['data'], 'rpps' | 'year'>);

export interface DeclarationContext {
  rpps: string;
  year: number;
  campaign: CampaignState;
  /** The campaign's ruleset (amended as known), for the allowed modalities and devices. */
  ruleset: Ruleset;
  /** The doctor's specialty in force, when the caller read it (the LAP exemption of a justificatif's default subjects). */
  specialty?: string;
}

/** decide(command, state) → events for the stream `declaration-<rpps>-<year>`. */
export function decideDeclaration(command: DeclarationCommand, state: DeclarationState, ctx: DeclarationContext): DeclarationEvent[] {
  const dy = { rpps: ctx.rpps, year: ctx.year };
  switch (command.type) {
    case 'Declare': {
      const campaign = requireCampaign(ctx);
      const indicator = declarative(command.indicator);
      if (ms(command.effectiveAt) > ms(command.now)) {
        return refuse('EFFECTIVE_AT_IN_FUTURE', `effectiveAt ${formatParisInstant(command.effectiveAt)} est dans le futur`, { now: command.now });
      }
      // Who may use which channel (api.md, "Declarations"): ./channels, the rule's one place.
      assertChannel(command.role, command.channel);
      checkPostmark(command.channel, command.postmarkedAt, command.effectiveAt);
      // Judged on effective time: when the doctor declared or the caisse received the form (spec,
      // "Campaign 2023"); a paper form by its postmark when `paperDatedBy` is `postmark` (INT-8).
      const dated = paperDated(ctx.ruleset, command.effectiveAt, command.postmarkedAt);
      if (ms(dated) < ms(campaign.opensAt) || ms(dated) > ms(campaign.closesAt)) {
        return refuse(
          'CAMPAIGN_CLOSED',
          `la campagne ${ctx.year} se déclare du ${formatParisInstant(campaign.opensAt)} au ${formatParisInstant(campaign.closesAt)} : déclaration datée du ${formatParisInstant(dated)}, hors de cette période`,
          {
            opensAt: campaign.opensAt,
            closesAt: campaign.closesAt,
          },
        );
      }
      // Rule 3 (seed 002: « jusqu'au 31 janvier 2024 pour s'équiper, déclarer leur équipement sur
      // amelipro et transmettre leur justificatif »): the window's extension does not move it.
      const segurDeadline = ctx.ruleset.parameters.segurDeadline;
      if (indicator === 'V1_SEGUR_LAP' && ms(dated) > ms(segurDeadline)) {
        return refuse(
          'SEGUR_DEADLINE_PASSED',
          `V1_SEGUR_LAP se déclare au plus tard le ${formatDate(parisDate(segurDeadline))} (date limite Ségur) : déclaration datée du ${formatParisInstant(dated)}, après cette date`,
          {
            segurDeadline,
          },
        );
      }
      const value = checkValue(indicator, command.value, ctx.ruleset);
      if (indicator === 'V1_SEGUR_LAP') checkReferenced(value as SegurLapValue, ctx.ruleset);
      // Every volet-2 declaration is an attestation sur l'honneur (guide §II.2–II.7, api.md).
      const attested = ctx.ruleset.volet2.indicators.some((r) => r.code === indicator && r.kind === 'declared');
      if (attested && !command.attestation) {
        return refuse('ATTESTATION_REQUIRED', `${indicator} is declared on honour: attestation must be true`);
      }
      const postmark = command.postmarkedAt !== undefined ? { postmarkedAt: new Date(command.postmarkedAt).toISOString() } : {};
      return [{ type: 'IndicatorDeclared', data: { ...dy, indicator, value: value as never, attestation: command.attestation, ...postmark } }];
    }
    case 'Prefill': {
      requireCampaign(ctx);
      const source = ctx.ruleset.prefillSources.find((p) => p.indicator === command.indicator)?.source as PrefillSource | undefined;
      if (!source) {
        return refuse(
          'INDICATOR_NOT_DECLARATIVE',
          `${command.indicator} is not pre-filled (only ${ctx.ruleset.prefillSources.map((p) => p.indicator).join(', ')})`,
        );
      }
      if (command.source !== source) return refuse('PREFILL_SOURCE_INVALID', `${command.indicator} is pre-filled from ${source}, not ${command.source}`);
      const indicator = command.indicator as 'V1_SEGUR_LAP' | 'V1_HORAIRES';
      const value = indicator === 'V1_SEGUR_LAP' ? checkSegurPrefill(command.value) : checkValue(indicator, command.value, ctx.ruleset);
      return [{ type: 'IndicatorPrefilled', data: { ...dy, indicator, source, value: value as never } }];
    }
    case 'Transmit': {
      const campaign = requireCampaign(ctx);
      if (ms(command.effectiveAt) < ms(campaign.opensAt) || ms(command.effectiveAt) > ms(campaign.closesAt)) {
        return refuse(
          'CAMPAIGN_CLOSED',
          `la campagne ${ctx.year} se déclare du ${formatParisInstant(campaign.opensAt)} au ${formatParisInstant(campaign.closesAt)}`,
          { closesAt: campaign.closesAt },
        );
      }
      return [{ type: 'DeclarationTransmitted', data: dy }];
    }
    case 'RecordMeasure': {
      requireCampaign(ctx);
      if (!isIndicatorCode(command.indicator)) return refuse('INDICATOR_UNKNOWN', `unknown indicator ${command.indicator}`);
      // Only the insurer's automated indicators are measured; a declarative one is the doctor's word.
      if ((DECLARATIVE_INDICATORS as readonly string[]).includes(command.indicator)) {
        return refuse('VALUE_INVALID', `${command.indicator} est déclaratif : il se déclare, il ne se mesure pas`, { indicator: command.indicator });
      }
      checkMeasure(command.indicator, command.measure, ctx.year);
      return [{ type: 'MeasureRecorded', data: { ...dy, indicator: command.indicator, source: command.source, measure: command.measure } }];
    }
    case 'SubmitJustificatif': {
      requireCampaign(ctx);
      if (!isIndicatorCode(command.indicator)) return refuse('INDICATOR_UNKNOWN', `unknown indicator ${command.indicator}`);
      if (command.postmarkedAt !== undefined) checkPostmark(command.channel ?? 'amelipro', command.postmarkedAt, command.effectiveAt);
      const file = {
        justificatifId: command.justificatifId,
        indicator: command.indicator,
        sha256: command.sha256,
        size: command.size,
        mediaType: command.mediaType,
        ...(command.postmarkedAt !== undefined ? { postmarkedAt: new Date(command.postmarkedAt).toISOString() } : {}),
      };
      if (command.indicator !== 'V1_SEGUR_LAP') {
        if (command.subjects && command.subjects.length > 0)
          return refuse('VALUE_INVALID', `subjects ne concerne que V1_SEGUR_LAP (INT-7), pas ${command.indicator}`, { indicator: command.indicator });
        return [{ type: 'JustificatifSubmitted', data: { ...dy, ...file, subjects: [], proves: null } }];
      }
      // What it proves: the declaration (or pre-fill) in force when it was sent (rule 4); a
      // declaration after the Ségur deadline does not count (rule 3).
      const deadline = ms(ctx.ruleset.parameters.segurDeadline);
      const inForce = segurInForce(
        state.segur.filter((f) => f.source === 'prefilled' || ms(paperDated(ctx.ruleset, f.effectiveAt, f.postmarkedAt)) <= deadline),
        command.effectiveAt,
      );
      const proves = { segurSoftware: inForce?.software ?? null, lap: inForce?.lap ?? null };
      let subjects: JustificatifSubject[];
      if (command.subjects && command.subjects.length > 0) {
        const unknown = command.subjects.filter((x) => !(JUSTIFICATIF_SUBJECTS as readonly string[]).includes(x));
        if (unknown.length > 0)
          return refuse('VALUE_INVALID', `subjects : ${unknown.join(', ')} inconnu(s) (sujets : ${JUSTIFICATIF_SUBJECTS.join(', ')})`, { subjects: unknown });
        subjects = [...new Set(command.subjects as JustificatifSubject[])];
      } else {
        // INT-7: those the doctor-year needs at that moment (not declared yet: a software to justify, cabinet).
        const kind = inForce?.software.kind ?? 'cabinet';
        subjects = segurSubjects({
          preFilled: inForce?.preFilled ?? false,
          kind,
          lapRequired: lapRequired(ctx.ruleset, ctx.specialty, kind),
          lap: inForce?.lap ?? null,
        });
      }
      return [{ type: 'JustificatifSubmitted', data: { ...dy, ...file, subjects, proves } }];
    }
    case 'DecideJustificatif': {
      const j = state.justificatifs[command.justificatifId];
      if (!j) return refuse('JUSTIFICATIF_NOT_FOUND', `no justificatif ${command.justificatifId} for this doctor-year`);
      if (j.status !== 'pending')
        return refuse('JUSTIFICATIF_ALREADY_DECIDED', `justificatif ${command.justificatifId} was already ${j.status}`, { status: j.status });
      if (command.decision === 'rejected') {
        const reason = command.reason?.trim();
        if (!reason) return refuse('REASON_REQUIRED', 'a rejection gives its reason to the doctor');
        return [{ type: 'JustificatifRejected', data: { ...dy, justificatifId: command.justificatifId, indicator: j.indicator, reason } }];
      }
      return [{ type: 'JustificatifValidated', data: { ...dy, justificatifId: command.justificatifId, indicator: j.indicator } }];
    }
    case 'RecordPayment': {
      // api.md: a safe integer ≥ 1 (a recovery is not a negative payment), never in the future.
      if (!Number.isSafeInteger(command.amountCents) || command.amountCents < 1) {
        return refuse('AMOUNT_INVALID', 'amountCents est un entier de centimes ≥ 1 (un indu n’est pas un paiement négatif)');
      }
      if (ms(command.paidAt) > ms(command.now)) {
        return refuse('EFFECTIVE_AT_IN_FUTURE', `paidAt ${command.paidAt} est dans le futur`, { now: command.now });
      }
      if (command.reference !== undefined && state.paymentReferences.includes(command.reference)) {
        return refuse('PAYMENT_DUPLICATE', `un paiement de référence ${command.reference} est déjà enregistré pour ${ctx.rpps} en ${ctx.year}`, {
          reference: command.reference,
        });
      }
      // guide §IV: the forfait is at most the maximum points × 7 €; more is an error of the payer.
      const maximum = maximumAmountCents(ctx.ruleset);
      if (state.paidCents + command.amountCents > maximum) {
        return refuse(
          'PAYMENT_ABOVE_MAXIMUM',
          `le total payé (${state.paidCents + command.amountCents} centimes) dépasserait le montant maximal du forfait (${maximum} centimes)`,
          {
            paidCents: state.paidCents,
            maximumCents: maximum,
          },
        );
      }
      return [
        {
          type: 'PaymentRecorded',
          data: {
            ...dy,
            amountCents: command.amountCents,
            paidAt: command.paidAt,
            ...(command.reference !== undefined ? { reference: command.reference } : {}),
          },
        },
      ];
    }
    case 'LinkSasAttestationDecision': {
      // Linked once: a retry of the decision (or its repair) appends nothing.
      if (state.sasAttestations[command.attestationId] !== undefined) return [];
      const { type: _type, ...link } = command;
      return [{ type: 'SasAttestationDecisionLinked', data: { ...dy, ...link } }];
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

/**
 * INT-8: only a paper form or a postal justificatif has a postmark, and the post stamps a letter
 * before the caisse receives it (api.md: `effectiveAt` = received, `postmarkedAt` = the postmark).
 */
function checkPostmark(channel: Channel, postmarkedAt: string | undefined, receivedAt: string): void {
  if (postmarkedAt === undefined) return;
  if (channel !== 'paper')
    refuse('VALUE_INVALID', `postmarkedAt (cachet de la poste) ne concerne qu’un envoi papier (channel « paper »), pas « ${channel} »`, {
      field: 'postmarkedAt',
    });
  if (ms(postmarkedAt) > ms(receivedAt)) {
    refuse('VALUE_INVALID', `postmarkedAt ${postmarkedAt} (cachet de la poste) est après effectiveAt ${receivedAt} (réception par la caisse)`, {
      field: 'postmarkedAt',
    });
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
      only(['segurSoftware', 'lapCertified', 'lap']);
      const software = segurSoftwareOf(value.segurSoftware, invalid);
      const s = value.segurSoftware as Record<string, unknown>;
      const extra = Object.keys(s).filter((k) => !['editor', 'name', 'version', 'acquiredOn', 'kind'].includes(k));
      if (extra.length > 0) return invalid(`segurSoftware: unexpected field(s) ${extra.join(', ')}`);
      if (s.kind !== undefined && !(SEGUR_SOFTWARE_KINDS as readonly unknown[]).includes(s.kind))
        return invalid(`segurSoftware.kind is one of ${SEGUR_SOFTWARE_KINDS.join(', ')}`);
      const kind = (s.kind ?? 'cabinet') as SegurLapValue['segurSoftware']['kind'];
      if (typeof value.lapCertified !== 'boolean') return invalid('lapCertified must be a boolean');
      // api.md: `lap` absent when lapCertified is false; `lapCertified: true` without it is a LAP declared unnamed.
      let lap: SegurLapValue['lap'] = null;
      if (value.lap !== undefined && value.lap !== null) {
        if (!value.lapCertified) return invalid('lap is given only when lapCertified is true');
        const l = value.lap;
        if (
          !isObject(l) ||
          !nonEmpty(l.editor) ||
          !nonEmpty(l.name) ||
          (l.version !== undefined && !nonEmpty(l.version)) ||
          !(LAP_CERTIFICATIONS as readonly unknown[]).includes(l.certification)
        ) {
          return invalid(`lap needs editor, name, version? and certification (${LAP_CERTIFICATIONS.join(', ')})`);
        }
        const lapExtra = Object.keys(l).filter((k) => !['editor', 'name', 'version', 'certification'].includes(k));
        if (lapExtra.length > 0) return invalid(`lap: unexpected field(s) ${lapExtra.join(', ')}`);
        lap = {
          editor: l.editor,
          name: l.name,
          ...(l.version !== undefined ? { version: l.version } : {}),
          certification: l.certification as LapCertification,
        };
      }
      const out: SegurLapValue = { segurSoftware: { ...software, kind }, lapCertified: value.lapCertified, lap };
      return out;
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
      // The campaign's list in force (amendable), as known when the declaration is received.
      const values: string[] = allowed ? ruleset.lists[allowed.list] : [];
      const bad = list.filter((x) => !values.includes(x));
      if (bad.length > 0) {
        const code = field === 'devices' ? 'DEVICE_NOT_ALLOWED' : 'MODALITY_NOT_ALLOWED';
        const refusedByGuide = bad.filter((x) => allowed?.refused.includes(x));
        return refuse(
          code,
          `${indicator} : ${bad.join(', ')} non retenu${bad.length > 1 ? 's' : ''}${refusedByGuide.length > 0 ? ' (exclu par le guide)' : ''} ; valeurs retenues : ${values.join(', ')}`,
          { indicator, refused: bad, allowed: values },
        );
      }
      if (value.answer && list.length === 0) return invalid(`a "yes" needs at least one of ${field}`);
      return { answer: value.answer, [field]: [...new Set(list)] };
    }
    default: {
      const _exhaustive: never = indicator;
      return _exhaustive;
    }
  }
}

function segurSoftwareOf(s: unknown, invalid: (why: string) => never): SegurSoftware {
  if (!isObject(s) || !nonEmpty(s.editor) || !nonEmpty(s.name) || !nonEmpty(s.version) || !isDate(s.acquiredOn)) {
    return invalid('segurSoftware needs editor, name, version and acquiredOn (YYYY-MM-DD)');
  }
  return { editor: s.editor, name: s.name, version: s.version, acquiredOn: s.acquiredOn };
}

/**
 * SONS pre-fills the software only (guide §I.1.b: « le sous indicateur LAP certifié HAS ne sera pas
 * renseigné »): a `lapCertified` sent with it is accepted and not recorded (api.md); a DPI is never pre-filled.
 */
function checkSegurPrefill(value: unknown): SegurPrefillValue {
  const invalid = (why: string): never => refuse('VALUE_INVALID', `V1_SEGUR_LAP: ${why}`, { indicator: 'V1_SEGUR_LAP' });
  if (!isObject(value)) return invalid('value must be an object');
  const extra = Object.keys(value).filter((k) => k !== 'segurSoftware' && k !== 'lapCertified');
  if (extra.length > 0) return invalid(`unexpected field(s) ${extra.join(', ')} (SONS pre-fills { segurSoftware })`);
  const s = value.segurSoftware;
  if (isObject(s) && s.kind !== undefined) return invalid('a DPI d’établissement is never pre-filled (guide §I.1.c NB)');
  return { segurSoftware: segurSoftwareOf(s, invalid) };
}

/**
 * Reference lists (spec: « a declared software not on them is refused with 422
 * SOFTWARE_NOT_REFERENCED »), as in force when the declaration is received; empty: not checked.
 */
function checkReferenced(value: SegurLapValue, ruleset: Ruleset): void {
  const { segurSolutions, hasLap } = ruleset.lists;
  const s = value.segurSoftware;
  if (!onList(segurSolutions, s)) {
    refuse('SOFTWARE_NOT_REFERENCED', `le logiciel ${s.editor} ${s.name} n’est pas sur la liste des solutions référencées Ségur (segurSolutions)`, {
      list: 'segurSolutions',
      editor: s.editor,
      name: s.name,
    });
  }
  if (value.lapCertified && hasLap.length > 0) {
    if (!value.lap)
      refuse(
        'SOFTWARE_NOT_REFERENCED',
        'la liste des LAP certifiés HAS (hasLap) est chargée : le LAP déclaré doit être nommé (lap: { editor, name, certification })',
        { list: 'hasLap' },
      );
    else if (!onList(hasLap, value.lap)) {
      refuse('SOFTWARE_NOT_REFERENCED', `le LAP ${value.lap.editor} ${value.lap.name} n’est pas sur la liste des LAP certifiés HAS (hasLap)`, {
        list: 'hasLap',
        editor: value.lap.editor,
        name: value.lap.name,
      });
    }
  }
}

/** A count the store and every projection can represent: a safe, non-negative integer (issue 11). */
const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function checkMeasure(indicator: IndicatorCode, m: Measure, year: number): void {
  const invalid = (why: string): never => refuse('VALUE_INVALID', `${indicator}: ${why}`, { indicator });
  switch (m.kind) {
    case 'rate':
      // api.md: 0 ≤ numerator ≤ denominator (0/0 accepted: not met, INT-12).
      if (!count(m.numerator) || !count(m.denominator) || m.numerator > m.denominator)
        invalid('numerator and denominator are counts with numerator ≤ denominator');
      return;
    case 'count':
      if (!count(m.numerator)) invalid('numerator is a non-negative integer');
      return;
    case 'participation':
      if (typeof m.participates !== 'boolean') invalid('participates must be a boolean');
      return;
    case 'teletransmission':
      if (m.teletransmittedPreviousYear !== undefined && typeof m.teletransmittedPreviousYear !== 'boolean')
        invalid('teletransmittedPreviousYear must be a boolean');
      if (m.months) {
        // Monthly counts: the rule picks the period's months from whether 2022 was tele-transmitted (guide §I.4).
        if (typeof m.teletransmittedPreviousYear !== 'boolean') invalid('teletransmittedPreviousYear is required with monthly counts');
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
