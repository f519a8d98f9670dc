import type { IndicatorCode, Measure, SegurLapValue } from '@forfait/events';
import { Rational, sum } from '../arithmetic/rational';
import { campaignFrom } from '../campaign/campaign.state';
import { knownAt, latestEffective, latestRecorded, ms, ofType, type EventOf, type KnownEvent } from '../events';
import { amendRuleset } from '../ruleset/amend';
import type { PercentTarget, Ruleset, Volet1Rule, Volet2Rule } from '../ruleset/ruleset';
import { formatPercent, formatPoints } from './format';

/** What the entitlement of one doctor-year is computed from: the streams that concern it. */
export interface EntitlementInput {
  rpps: string;
  year: number;
  ruleset: Ruleset;
  /** The instant the replay stands at: only events recorded by then count (architecture.md, "Time"). */
  knownAt: string;
  /** `campaign-<year>` */
  campaign: readonly KnownEvent[];
  /** `doctor-<rpps>` */
  doctor: readonly KnownEvent[];
  /** `declaration-<rpps>-<year>` */
  declaration: readonly KnownEvent[];
  /** `declaration-<rpps>-<y>` for earlier years y (first year, carried-over justificatifs). */
  earlier?: readonly KnownEvent[];
}

export interface IndicatorResult {
  code: IndicatorCode;
  volet: 1 | 2;
  label: string;
  met: boolean;
  /** Points earned (volet 2); volet 1 indicators earn together, through the gate. */
  points: Rational;
  /** Base points of the rule in force (volet 2). */
  basePoints: Rational;
  reason: string;
  /** Ids of the events that decided it. */
  evidence: string[];
  /** The rule and its provenance, for "why is each euro due". */
  rule: Volet1Rule | Volet2Rule;
}

export interface Entitlement {
  rpps: string;
  year: number;
  ruleset: string;
  rulesetVersion: string;
  knownAt: string;
  campaign: { opensAt: string; closesAt: string } | null;
  profile: { specialty: string; caisse: string; department: string; eventId: string } | null;
  volet1: { met: boolean; points: Rational; indicators: IndicatorResult[] };
  volet2: { points: Rational; indicators: IndicatorResult[] };
  totalPoints: Rational;
  amountCents: number;
  paidCents: number;
  balanceCents: number;
  /** Amendments known at `knownAt` and applied. */
  amendments: string[];
  payments: { eventId: string; amountCents: number; paidAt: string }[];
}

type Outcome = { met: boolean; reason: string; evidence: string[] };

const endOfDay = (date: string) => ms(`${date}T23:59:59.999+01:00`);

/**
 * The entitlement of a doctor-year as the caisse knew it at `knownAt`: the one pure function that
 * the projector, the replay endpoint and the yearly calculation all run.
 */
export function computeEntitlement(input: EntitlementInput): Entitlement {
  const at = input.knownAt;
  const campaignEvents = knownAt(input.campaign, at);
  const declaration = knownAt(input.declaration, at);
  const doctor = knownAt(input.doctor, at);
  const earlier = knownAt(input.earlier ?? [], at);

  const campaign = campaignFrom(campaignEvents);
  const amendments = campaign.status === 'none' ? [] : campaign.amendments;
  const ruleset = amendRuleset(input.ruleset, amendments);
  const window = campaign.status === 'none' ? null : { opensAt: campaign.opensAt, closesAt: campaign.closesAt };

  // The profile in force at the assessment date (api.md, "Doctors"); failing that, the first known.
  const profiles = ofType(doctor, 'DoctorProfileRecorded');
  const assessed = endOfDay(ruleset.assessedOn);
  const profileEvent =
    latestEffective(profiles.filter((p) => ms(p.metadata.effectiveAt) <= assessed)) ?? profiles[0];
  const profile = profileEvent
    ? { specialty: profileEvent.data.specialty, caisse: profileEvent.data.caisse, department: profileEvent.data.department, eventId: profileEvent.eventId }
    : null;

  const ctx: Context = { ruleset, declaration, earlier, window, profile, profileEvent, year: input.year };
  const invalidations = controlInvalidations(declaration);

  const evaluate = <R extends Volet1Rule | Volet2Rule>(rule: R, outcome: Outcome): Outcome => {
    const invalid = invalidations.get(rule.code);
    if (outcome.met && invalid) {
      return { met: false, reason: `invalidé par le contrôle a posteriori : ${invalid.reason}`, evidence: [...outcome.evidence, ...invalid.evidence] };
    }
    return outcome;
  };

  const volet1Results: IndicatorResult[] = ruleset.volet1.indicators.map((rule) => {
    const o = evaluate(rule, volet1Outcome(rule, ctx));
    return { code: rule.code, volet: 1, label: rule.label, met: o.met, points: Rational.ZERO, basePoints: Rational.ZERO, reason: o.reason, evidence: o.evidence, rule };
  });
  const gate = volet1Results.every((r) => r.met);

  const outcomes = new Map<IndicatorCode, Outcome>();
  for (const rule of ruleset.volet2.indicators) outcomes.set(rule.code, evaluate(rule, volet2Outcome(rule, ctx)));
  applyAsaleeExclusivity(ruleset, ctx, outcomes);

  const report = mssReportFactor(ruleset, outcomes);
  const volet2Results: IndicatorResult[] = ruleset.volet2.indicators.map((rule) => {
    const o = outcomes.get(rule.code)!;
    const base = Rational.fromDecimal(rule.points);
    let points = o.met ? base : Rational.ZERO;
    let reason = o.reason;
    if (o.met && report && report.over.includes(rule.code)) {
      points = base.mul(report.factor);
      reason += ` ; report MSS (I-4) : ${formatPoints(base)} × ${report.factor.num}/${report.factor.den} = ${formatPoints(points)} points`;
    }
    if (!gate && points.compare(Rational.ZERO) > 0) {
      points = Rational.ZERO;
      reason += ' ; non rémunéré : volet 1 non atteint';
    }
    return { code: rule.code, volet: 2, label: rule.label, met: o.met, points, basePoints: base, reason, evidence: o.evidence, rule };
  });

  const volet1Points = gate ? Rational.of(ruleset.volet1.points) : Rational.ZERO;
  const volet2Points = sum(volet2Results.map((r) => r.points));
  const totalPoints = volet1Points.add(volet2Points);
  // Converted once, from the exact total (spec "Money and arithmetic").
  const amountCents = Number(totalPoints.mul(Rational.of(ruleset.pointValueCents)).roundHalfUp());
  const payments = ofType(declaration, 'PaymentRecorded').map((p) => ({ eventId: p.eventId, amountCents: p.data.amountCents, paidAt: p.data.paidAt }));
  const paidCents = payments.reduce((s, p) => s + p.amountCents, 0);

  return {
    rpps: input.rpps,
    year: input.year,
    ruleset: input.ruleset.id,
    rulesetVersion: input.ruleset.version,
    knownAt: new Date(at).toISOString(),
    campaign: window,
    profile,
    volet1: { met: gate, points: volet1Points, indicators: volet1Results },
    volet2: { points: volet2Points, indicators: volet2Results },
    totalPoints,
    amountCents,
    paidCents,
    balanceCents: amountCents - paidCents,
    amendments: amendments.map((a) => a.eventId),
    payments,
  };
}

interface Context {
  ruleset: Ruleset;
  declaration: KnownEvent[];
  earlier: KnownEvent[];
  window: { opensAt: string; closesAt: string } | null;
  profile: Entitlement['profile'];
  profileEvent: EventOf<'DoctorProfileRecorded'> | undefined;
  year: number;
}

function inWindow(ctx: Context, e: KnownEvent): boolean {
  if (!ctx.window) return false;
  const t = ms(e.metadata.effectiveAt);
  return t >= ms(ctx.window.opensAt) && t <= ms(ctx.window.closesAt);
}

/** Declarations of an indicator that count: effective inside the window as known (spec: judged on effectiveAt). */
function declarationsOf(ctx: Context, code: IndicatorCode): EventOf<'IndicatorDeclared'>[] {
  return ofType(ctx.declaration, 'IndicatorDeclared').filter((e) => e.data.indicator === code && inWindow(ctx, e));
}

function latestMeasure(ctx: Context, code: IndicatorCode): EventOf<'MeasureRecorded'> | undefined {
  return latestRecorded(ofType(ctx.declaration, 'MeasureRecorded').filter((e) => e.data.indicator === code));
}

// ---------------------------------------------------------------------------------------------
// Volet 1

function volet1Outcome(rule: Volet1Rule, ctx: Context): Outcome {
  switch (rule.kind) {
    case 'segur-lap':
      return segurLap(ctx);
    case 'automated-neutralised':
      // I-3 (SESAM-Vitale), or an amendment: neutralised means deemed met for the gate.
      return { met: true, reason: `neutralisé pour ${ctx.year} : réputé atteint (${rule.mode === 'deemed-met' ? 'I-3' : 'exclu'})`, evidence: [] };
    case 'automated-flag': {
      const m = latestMeasure(ctx, rule.code);
      if (!m) return { met: false, reason: 'aucune mesure reçue', evidence: [] };
      const met = m.data.measure.kind === 'participation' && m.data.measure.participates;
      return { met, reason: met ? 'équipement constaté par l’Assurance maladie' : 'équipement non constaté', evidence: [m.eventId] };
    }
    case 'teletransmission':
      return teletransmission(rule.target, ctx);
    case 'horaires':
      return horaires(ctx);
    default: {
      const _exhaustive: never = rule;
      return _exhaustive;
    }
  }
}

/** guide §I.4: FSE ÷ all invoices ≥ 2/3, in integers; the period starts the month after the first FSE for a newcomer. */
function teletransmission(target: { fse: number; total: number }, ctx: Context): Outcome {
  const m = latestMeasure(ctx, 'V1_TELETRANSMISSION');
  if (!m) return { met: false, reason: 'aucune mesure de télétransmission reçue', evidence: [] };
  const measure = m.data.measure;
  if (measure.kind !== 'teletransmission' && measure.kind !== 'rate') {
    return { met: false, reason: `mesure de type ${measure.kind} inattendue`, evidence: [m.eventId] };
  }
  let fse: number;
  let total: number;
  let period: string;
  if (measure.kind === 'teletransmission' && measure.months && measure.months.length > 0) {
    const months = [...measure.months].sort((a, b) => a.month.localeCompare(b.month));
    if (measure.teletransmittedPreviousYear) {
      period = `année ${ctx.year} entière (télétransmission en ${ctx.year - 1})`;
    } else {
      const firstMonth = measure.firstFseOn?.slice(0, 7) ?? months.find((x) => x.fse > 0)?.month;
      if (!firstMonth) return { met: false, reason: 'aucune FSE sur la période', evidence: [m.eventId] };
      const start = nextMonth(firstMonth);
      period = `à partir de ${start} (1re FSE en ${firstMonth})`;
      months.splice(0, months.length, ...months.filter((x) => x.month >= start));
    }
    fse = months.reduce((s, x) => s + x.fse, 0);
    total = months.reduce((s, x) => s + x.total, 0);
  } else {
    fse = measure.numerator ?? 0;
    total = measure.denominator ?? 0;
    period = 'taux annuel transmis';
  }
  if (total <= 0) return { met: false, reason: `aucun acte sur la période (${period}) : dénominateur nul`, evidence: [m.eventId] };
  const met = fse * target.total >= total * target.fse;
  const pct = formatPercent(fse, total);
  return {
    met,
    reason: `FSE ${fse} / ${total} actes = ${pct} ${met ? '≥' : '<'} ${target.fse}/${target.total} (${period})`,
    evidence: [m.eventId],
  };
}

function nextMonth(month: string): string {
  const [y, mo] = month.split('-').map(Number) as [number, number];
  return mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
}

/** guide §I.5: the hours service by 31/12, the doctor's tick in the window, or the CPAM back office by 31/01. */
function horaires(ctx: Context): Outcome {
  const d = ctx.ruleset.deadlines;
  const prefills = ofType(ctx.declaration, 'IndicatorPrefilled').filter(
    (e) => e.data.indicator === 'V1_HORAIRES' && ms(e.metadata.effectiveAt) <= ms(d.horairesServiceBy),
  );
  const declared = ofType(ctx.declaration, 'IndicatorDeclared').filter((e) => {
    if (e.data.indicator !== 'V1_HORAIRES') return false;
    if (e.metadata.channel === 'amelipro') return inWindow(ctx, e);
    if (e.metadata.channel === 'paper' || e.metadata.channel === 'back-office') {
      return ms(e.metadata.effectiveAt) <= ms(d.horairesBackOfficeBy);
    }
    return false;
  });
  const latest = latestEffective<KnownEvent>([...prefills, ...declared]);
  if (!latest) return { met: false, reason: 'horaires ni pré-remplis, ni déclarés dans les délais', evidence: [] };
  const displayed = (latest.data as { value: { displayed?: boolean } }).value.displayed === true;
  const how =
    latest.type === 'IndicatorPrefilled'
      ? 'service de saisie des horaires (pré-remplissage)'
      : latest.metadata.channel === 'amelipro'
        ? 'déclaration sur amelipro'
        : 'saisie par la caisse (back office)';
  return { met: displayed, reason: `${displayed ? 'horaires affichés' : 'horaires non affichés'} : ${how} du ${latest.metadata.effectiveAt.slice(0, 10)}`, evidence: [latest.eventId] };
}

function sameSoftware(ctx: Context, a: SegurLapValue['segurSoftware'], b: SegurLapValue['segurSoftware']): boolean {
  const norm = (s: string) => s.trim().toLowerCase();
  return ctx.ruleset.interpretations.segurJustificatif.sameSoftwareFields.every((f) => norm(a[f]) === norm(b[f]));
}

/** guide §I.1 and I-1: Ségur software acquired by 31/01/2024, LAP certified or exempt, justificatif when needed. */
function segurLap(ctx: Context): Outcome {
  const rules = ctx.ruleset.interpretations.segurJustificatif;
  const sources = ctx.ruleset.prefillSources.filter((p) => p.indicator === 'V1_SEGUR_LAP').map((p) => p.source);
  const prefill = latestEffective(
    ofType(ctx.declaration, 'IndicatorPrefilled').filter((e) => e.data.indicator === 'V1_SEGUR_LAP' && sources.includes(e.data.source)),
  );
  const declared = latestEffective(declarationsOf(ctx, 'V1_SEGUR_LAP'));
  const current = (declared ?? prefill) as KnownEvent & { data: { value: SegurLapValue } } | undefined;
  if (!current) return { met: false, reason: 'aucun logiciel Ségur pré-rempli (SONS) ni déclaré', evidence: [] };
  const evidence = [current.eventId];
  const value = current.data.value;
  const software = value.segurSoftware;
  const label = `${software.editor} ${software.name} ${software.version}`;

  const acquiredBy = ctx.ruleset.deadlines.segurAcquiredBy;
  if (endOfDay(software.acquiredOn) > ms(acquiredBy)) {
    return { met: false, reason: `logiciel ${label} acquis le ${software.acquiredOn}, après le ${acquiredBy.slice(0, 10)}`, evidence };
  }
  const exempt = ctx.profile !== null && ctx.ruleset.specialties.lapExempt.includes(ctx.profile.specialty);
  if (!value.lapCertified && !exempt) {
    return { met: false, reason: `LAP certifié HAS non déclaré (spécialité ${ctx.profile?.specialty ?? 'inconnue'} non exonérée, annexe 1)`, evidence };
  }
  if (ctx.profileEvent && exempt) evidence.push(ctx.profileEvent.eventId);

  // I-1: when is a CPAM-validated justificatif needed?
  const firstYear = isFirstYear(ctx);
  const changed =
    !!declared &&
    !!prefill &&
    !sameSoftware(ctx, (declared.data.value as SegurLapValue).segurSoftware, (prefill.data.value as SegurLapValue).segurSoftware);
  const needs: string[] = [];
  if (rules.whenNotPrefilled && !prefill) needs.push('non pré-rempli');
  if (rules.whenSoftwareChanged && changed) needs.push('logiciel modifié par rapport au pré-remplissage');
  if (rules.whenFirstYear && firstYear) needs.push('première année de déclaration');
  const lapPart = exempt ? 'spécialité exonérée de LAP (annexe 1)' : 'LAP certifié HAS';
  if (needs.length === 0) {
    return { met: true, reason: `logiciel ${label} pré-rempli (SONS), ${lapPart} ; pas de justificatif requis (I-1)`, evidence };
  }
  const validated = validatedJustificatif(ctx, 'V1_SEGUR_LAP', ctx.ruleset.deadlines.segurJustificatifBy);
  if (validated) {
    return { met: true, reason: `logiciel ${label}, ${lapPart} ; justificatif requis (${needs.join(', ')}) et validé par la CPAM`, evidence: [...evidence, ...validated] };
  }
  if (rules.carryOverEarlierValidation) {
    const carried = carriedOverJustificatif(ctx, software);
    if (carried) {
      return { met: true, reason: `logiciel ${label}, ${lapPart} ; justificatif validé lors de la campagne ${carried.year} pour ce logiciel : il fait foi (I-1)`, evidence: [...evidence, ...carried.evidence] };
    }
  }
  const pending = ofType(ctx.declaration, 'JustificatifSubmitted').some((j) => j.data.indicator === 'V1_SEGUR_LAP');
  return {
    met: false,
    reason: `justificatif requis (${needs.join(', ')}) ${pending ? 'non encore validé par la CPAM' : 'non transmis'}`,
    evidence,
  };
}

function isFirstYear(ctx: Context): boolean {
  const first = ctx.profileEvent?.data.firstDeclarationYear;
  if (first !== undefined) return first >= ctx.year;
  const earlierDeclared = ctx.earlier.some(
    (e) => (e.type === 'IndicatorDeclared' || e.type === 'DeclarationTransmitted') && e.data.year < ctx.year,
  );
  if (earlierDeclared) return false;
  return ctx.ruleset.interpretations.firstYearWithoutHistory.value;
}

/** Ids of a justificatif (submitted by the deadline) whose latest known decision is "validated", with that decision. */
function validatedJustificatif(ctx: Context, indicator: IndicatorCode, by?: string, events: KnownEvent[] = ctx.declaration): string[] | undefined {
  const submitted = ofType(events, 'JustificatifSubmitted').filter(
    (j) => j.data.indicator === indicator && (by === undefined || ms(j.metadata.effectiveAt) <= ms(by)),
  );
  for (const j of submitted) {
    const decisions = [...ofType(events, 'JustificatifValidated'), ...ofType(events, 'JustificatifRejected')].filter(
      (d) => d.data.justificatifId === j.data.justificatifId,
    );
    const last = latestRecorded<KnownEvent>(decisions);
    if (last?.type === 'JustificatifValidated') return [j.eventId, last.eventId];
  }
  return undefined;
}

/** "celle que vous avez déjà envoyée fera foi": a validation of an earlier year for the same software. */
function carriedOverJustificatif(ctx: Context, software: SegurLapValue['segurSoftware']): { year: number; evidence: string[] } | undefined {
  const years = [...new Set(ctx.earlier.map((e) => (e.data as { year?: number }).year).filter((y): y is number => typeof y === 'number' && y < ctx.year))].sort((a, b) => b - a);
  for (const year of years) {
    const ofYear = ctx.earlier.filter((e) => (e.data as { year?: number }).year === year);
    const validated = validatedJustificatif(ctx, 'V1_SEGUR_LAP', undefined, ofYear);
    if (!validated) continue;
    const inForce = latestEffective<KnownEvent>(
      [...ofType(ofYear, 'IndicatorDeclared'), ...ofType(ofYear, 'IndicatorPrefilled')].filter((e) => e.data.indicator === 'V1_SEGUR_LAP'),
    );
    const thatSoftware = (inForce?.data as { value?: SegurLapValue } | undefined)?.value?.segurSoftware;
    if (thatSoftware && sameSoftware(ctx, thatSoftware, software)) return { year, evidence: [...validated, inForce!.eventId] };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Volet 2

function volet2Outcome(rule: Volet2Rule, ctx: Context): Outcome {
  switch (rule.kind) {
    case 'rate':
      return rate(rule, ctx);
    case 'count': {
      const m = latestMeasure(ctx, rule.code);
      if (!m) return { met: false, reason: 'aucune mesure reçue', evidence: [] };
      const n = countOf(m.data.measure);
      const met = n >= rule.atLeast;
      return { met, reason: `${n} FSE avec l’appli carte Vitale ${met ? '≥' : '<'} ${rule.atLeast}`, evidence: [m.eventId] };
    }
    case 'declared':
      return declared(rule, ctx);
    case 'sas': {
      const m = latestMeasure(ctx, rule.code);
      if (m && m.data.measure.kind === 'participation' && m.data.measure.participates) {
        return { met: true, reason: 'participation au SAS transmise par la plateforme nationale SAS', evidence: [m.eventId] };
      }
      const attestation = validatedJustificatif(ctx, 'V2_SAS');
      if (attestation) return { met: true, reason: 'attestation du président de CPTS validée par la CPAM', evidence: attestation };
      return { met: false, reason: m ? 'pas de participation au SAS transmise' : 'aucune participation au SAS connue', evidence: m ? [m.eventId] : [] };
    }
    default: {
      const _exhaustive: never = rule;
      return _exhaustive;
    }
  }
}

function countOf(measure: Measure): number {
  if (measure.kind === 'count' || measure.kind === 'rate') return measure.numerator;
  return 0;
}

/** guide §II.1: rate ≥ target; a zero denominator is not met; I-2 for the DCMT of general practitioners. */
function rate(rule: Extract<Volet2Rule, { kind: 'rate' }>, ctx: Context): Outcome {
  const n = rule.neutralisedFor;
  if (n && (n.specialties.includes('*') || (ctx.profile && n.specialties.includes(ctx.profile.specialty)))) {
    const evidence = ctx.profileEvent ? [ctx.profileEvent.eventId] : [];
    if (n.mode === 'deemed-met') {
      return { met: true, reason: `neutralisé pour ${n.specialties.includes('*') ? 'tous les médecins' : ctx.profile!.specialty} : réputé atteint (${n.provenance.ref})`, evidence };
    }
    return { met: false, reason: `neutralisé pour ${ctx.profile?.specialty ?? 'tous'} : exclu du calcul (${n.provenance.ref})`, evidence };
  }
  const m = latestMeasure(ctx, rule.code);
  if (!m) return { met: false, reason: 'aucune mesure reçue', evidence: [] };
  const measure = m.data.measure;
  if (measure.kind !== 'rate') return { met: false, reason: `mesure de type ${measure.kind} inattendue`, evidence: [m.eventId] };
  if (measure.denominator <= 0) return { met: false, reason: `dénominateur nul (${measure.numerator}/0)`, evidence: [m.eventId] };
  const met = meetsTarget(measure.numerator, measure.denominator, rule.target);
  return {
    met,
    reason: `taux ${formatPercent(measure.numerator, measure.denominator)} ${met ? '≥' : '<'} objectif ${formatTarget(rule.target)} (${measure.numerator}/${measure.denominator})`,
    evidence: [m.eventId],
  };
}

/** numerator / denominator ≥ target %, in integers: 100·num·t.den ≥ t.num·den. */
function meetsTarget(numerator: number, denominator: number, target: PercentTarget): boolean {
  return Rational.of(numerator * 100, denominator).gte(Rational.fromDecimal(target.num).div(Rational.of(target.den)));
}

function formatTarget(t: PercentTarget): string {
  return `${formatPoints(Rational.fromDecimal(t.num).div(Rational.of(t.den)))} %`;
}

/** guide §II.2–II.7: declared yes, attested on honour, with an allowed modality or device where the rule lists them. */
function declared(rule: Extract<Volet2Rule, { kind: 'declared' }>, ctx: Context): Outcome {
  const d = latestEffective(declarationsOf(ctx, rule.code));
  if (!d) return { met: false, reason: 'non déclaré pendant la campagne', evidence: [] };
  const value = d.data.value as { answer?: boolean; modalities?: string[]; devices?: string[] };
  const evidence = [d.eventId];
  if (value.answer !== true) return { met: false, reason: `déclaré « non » le ${d.metadata.effectiveAt.slice(0, 10)}`, evidence };
  if (!d.data.attestation) return { met: false, reason: 'attestation sur l’honneur absente', evidence };
  if (rule.allowed) {
    const given = value[rule.allowed.field] ?? [];
    const ok = given.filter((v) => rule.allowed!.values.includes(v));
    if (ok.length === 0) {
      return { met: false, reason: `aucune ${rule.allowed.field === 'modalities' ? 'modalité' : 'équipement'} retenu(e) parmi : ${given.join(', ') || '—'}`, evidence };
    }
    return { met: true, reason: `déclaré « oui » avec attestation sur l’honneur (${ok.join(', ')})`, evidence };
  }
  return { met: true, reason: 'déclaré « oui » avec attestation sur l’honneur', evidence };
}

/** I-5: ASALEE validates coordination or services, not both. */
function applyAsaleeExclusivity(ruleset: Ruleset, ctx: Context, outcomes: Map<IndicatorCode, Outcome>): void {
  const rule = ruleset.interpretations.asaleeExclusive;
  if (!rule.enabled) return;
  const modalitiesOf = (code: IndicatorCode) => {
    const d = latestEffective(declarationsOf(ctx, code));
    return (d?.data.value as { modalities?: string[] } | undefined)?.modalities ?? [];
  };
  const onlyAsalee = (m: string[]) => m.length > 0 && m.every((x) => x === rule.modality);
  const services = outcomes.get('V2_SERVICES_PATIENTS');
  const coordination = outcomes.get('V2_COORDINATION');
  if (services?.met && coordination?.met && onlyAsalee(modalitiesOf('V2_COORDINATION')) && onlyAsalee(modalitiesOf('V2_SERVICES_PATIENTS'))) {
    outcomes.set('V2_SERVICES_PATIENTS', {
      met: false,
      reason: `ASALEE, seule modalité déclarée pour la coordination et pour les services, ne valide que la coordination (${rule.provenance.ref})`,
      evidence: services.evidence,
    });
  }
}

/** I-4: when MSS is not met, each other item of indicator 1 that is met is worth base × (pool + MSS) / pool. */
function mssReportFactor(ruleset: Ruleset, outcomes: Map<IndicatorCode, Outcome>): { factor: Rational; over: IndicatorCode[] } | undefined {
  const r = ruleset.interpretations.mssReport;
  if (!r.enabled || outcomes.get(r.from)?.met !== false) return undefined;
  const points = (code: IndicatorCode) => Rational.fromDecimal(ruleset.volet2.indicators.find((i) => i.code === code)?.points ?? 0);
  const pool = sum(r.over.map(points));
  if (pool.isZero()) return undefined;
  return { factor: pool.add(points(r.from)).div(pool), over: r.over };
}

/** Findings that invalidate an indicator, unless a contestation decision reversed them. */
function controlInvalidations(events: KnownEvent[]): Map<IndicatorCode, { reason: string; evidence: string[] }> {
  const out = new Map<IndicatorCode, { reason: string; evidence: string[] }>();
  const ordered = [...events].sort((a, b) => ms(a.metadata.recordedAt) - ms(b.metadata.recordedAt));
  for (const e of ordered) {
    if (e.type === 'ControlFindingRecorded') {
      if (e.data.outcome === 'invalidated') out.set(e.data.indicator, { reason: e.data.reason, evidence: [e.eventId] });
      else out.delete(e.data.indicator);
    } else if (e.type === 'ContestationDecided' && e.data.outcome === 'reversed') {
      const findings = ofType(events, 'ControlFindingRecorded').filter((f) => f.data.controlId === e.data.controlId && f.data.outcome === 'invalidated');
      const reversed = e.data.indicators.length > 0 ? e.data.indicators : findings.map((f) => f.data.indicator);
      for (const code of reversed) {
        if (findings.some((f) => f.data.indicator === code)) out.delete(code);
      }
    }
  }
  return out;
}
