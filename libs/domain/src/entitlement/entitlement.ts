import type {
  DeclaredLap,
  DomainEventType,
  IndicatorCode,
  JustificatifSubject,
  Measure,
  SegurLapValue,
  SegurPrefillValue,
  SegurSoftware,
  SegurSoftwareKind,
} from '@forfait/events';
import { Rational, sum } from '../arithmetic/rational';
import { campaignFrom } from '../campaign/campaign.state';
import { knownAt, latestEffective, latestRecorded, ms, ofType, type EventOf, type KnownEvent } from '../events';
import { amendRuleset, normalise } from '../ruleset/amend';
import { mssReportItems, type PercentTarget, type Ruleset, type Volet1Rule, type Volet2Rule } from '../ruleset/ruleset';
import { certificationLabel, formatDate, formatParisDay, formatPercent, formatPoints, specialtyLabel } from './format';
import { lapRequired, onList, paperDated, parisDate, sameProduct, segurInForce, segurSubjects, type SegurFact } from './segur';

/**
 * What a doctor-year's entitlement reads of the doctor's earlier years: the saisies that make it not
 * the first year (INT-6, guide §I.1.d; `firstYear`), the Ségur LAP justificatifs sent in those years,
 * the CPAM's decisions on them and the declarations and pre-fills they prove (guide §I.1 rule 4,
 * INT-7; `segurJustificatifs`). computeEntitlement leaves the other events of those years aside
 * (measures, calculations, payments, controls: ~two thirds of a year's bytes), so the projector reads
 * only these (issue 14). A rule that comes to read another type of an earlier year adds it here.
 */
export const EARLIER_YEARS_TYPES: readonly DomainEventType[] = [
  'IndicatorDeclared',
  'DeclarationTransmitted',
  'IndicatorPrefilled',
  'JustificatifSubmitted',
  'JustificatifValidated',
  'JustificatifRejected',
];
const EARLIER_YEARS_TYPE_SET: ReadonlySet<string> = new Set(EARLIER_YEARS_TYPES);

/**
 * What computeEntitlement (and resolveCampaign before it) read of an event beyond its type, schema
 * version, id, stream and times: of the metadata, the channel (the paper route, INT-8; the route of
 * the hours, guide §I.1 rule 2); the data of every type but EntitlementCalculated (a calculation's
 * own result, a third of a doctor-year's bytes, is never an input). A reader that only computes an
 * entitlement may ask the store for no more (issue 14, the rebuild's second read); a rule that comes
 * to read another metadata key or a calculation's data adds it here, and the equality test of the
 * projection against the whole streams (generated histories) tells when it was forgotten.
 */
export const ENTITLEMENT_READS: { readonly metadataKeys: readonly string[]; readonly withoutDataOf: readonly DomainEventType[] } = {
  metadataKeys: ['channel'],
  withoutDataOf: ['EntitlementCalculated'],
};

/** Whether an event of an earlier year counts in a later year's entitlement (its type is one of EARLIER_YEARS_TYPES). */
export function countsInEarlierYears(e: { type: string }): boolean {
  return EARLIER_YEARS_TYPE_SET.has(e.type);
}

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
  /**
   * `declaration-<rpps>-<y>` for earlier years y (first year, carried-over justificatifs): of them
   * only the events of EARLIER_YEARS_TYPES count, so a reader may pass those alone.
   */
  earlier?: readonly KnownEvent[];
  /** `campaign-<y>` for earlier years y: an earlier campaign recorded here with none of the doctor's declarations is a year the doctor was not there (INT-6). */
  earlierCampaigns?: readonly KnownEvent[];
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
  /** Under the convention (rules spec "Eligibility", INT-9); `reason` in French when not eligible. */
  eligibility: { eligible: boolean; reason?: string; evidence: string[] };
  totalPoints: Rational;
  amountCents: number;
  paidCents: number;
  balanceCents: number;
  /** Amendments known at `knownAt` and applied. */
  amendments: string[];
  payments: { eventId: string; amountCents: number; paidAt: string }[];
}

/** `excluded`: out of the forfait (a neutralisation in `excluded` mode): not paid, not spread, not required. */
type Outcome = { met: boolean; reason: string; evidence: string[]; excluded?: boolean };

type ProfileEvent = EventOf<'DoctorProfileRecorded'>;
interface ProfileInForce {
  event: ProfileEvent;
  /** First day it holds (YYYY-MM-DD; '0000-01-01' when it gives none). */
  from: string;
  /** Last day it holds, the day before the next one's `from` ('9999-12-31' for the last). */
  to: string;
}

/**
 * The profiles in the order they hold (rules spec, "Eligibility"): by `effectiveFrom` (none given:
 * from the beginning); on equal `effectiveFrom`, the latest recorded wins.
 */
function profilesInForce(events: ProfileEvent[]): ProfileInForce[] {
  const byFrom = new Map<string, ProfileEvent>();
  for (const e of [...events].sort((a, b) => ms(a.metadata.recordedAt) - ms(b.metadata.recordedAt))) byFrom.set(e.data.effectiveFrom ?? '0000-01-01', e);
  const ordered = [...byFrom.entries()].sort(([a], [b]) => a.localeCompare(b));
  return ordered.map(([from, event], i) => ({ event, from, to: i + 1 < ordered.length ? dayBefore(ordered[i + 1]![0]) : '9999-12-31' }));
}

/** The specialty of the profile in force on `date` (rules spec, "Eligibility"); failing that, the first known. */
export function specialtyInForce(doctor: readonly KnownEvent[], date: string): string | undefined {
  const profiles = profilesInForce(ofType(doctor, 'DoctorProfileRecorded'));
  return ([...profiles].reverse().find((p) => p.from <= date) ?? profiles[0])?.event.data.specialty;
}

function dayBefore(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/**
 * Only doctors under the convention are paid (rules spec "Eligibility"; INT-9, guide §IV: « appréciée
 * au 31/12/2023 … aucune proratisation en cas de cessation d'activité en cours d'année »):
 * `any-day-of-year`, a profile in force during the year shows the convention on a day of the year;
 * `at-assessment-date`, the profile in force on the assessment date shows it on that date.
 */
function eligibilityOf(ruleset: Ruleset, year: number, profiles: ProfileInForce[]): { eligible: boolean; reason?: string; evidence: string[] } {
  if (profiles.length === 0) return { eligible: true, evidence: [] }; // no profile known: nothing says otherwise
  const under = (p: ProfileInForce, first: string, last: string): boolean => {
    const c = p.event.data.convention;
    if (c && c.status !== 'conventionne') return false;
    const start = [first, p.from, c?.since ?? '0000-01-01'].sort().at(-1)!;
    const end = [last, p.to, c?.until ?? '9999-12-31'].sort()[0]!;
    return start <= end;
  };
  const assessed = ruleset.assessedOn;
  const describe = (p: ProfileInForce) => {
    const c = p.event.data.convention;
    if (!c || c.status === 'conventionne')
      return `conventionné${c?.since ? ` depuis le ${formatDate(c.since)}` : ''}${c?.until ? ` jusqu’au ${formatDate(c.until)}` : ''}`;
    return 'non conventionné';
  };
  if (ruleset.parameters.eligibility === 'at-assessment-date') {
    const p = [...profiles].reverse().find((x) => x.from <= assessed) ?? profiles[0]!;
    if (under(p, assessed, assessed)) return { eligible: true, evidence: [p.event.eventId] };
    return {
      eligible: false,
      reason: `non éligible : médecin ${describe(p)}, hors convention au ${formatDate(assessed)} (INT-9, appréciée à la date d’appréciation)`,
      evidence: [p.event.eventId],
    };
  }
  const first = `${year}-01-01`;
  const last = `${year}-12-31`;
  const during = profiles.filter((p) => p.from <= last && p.to >= first);
  const conventionne = during.find((p) => under(p, first, last));
  if (conventionne) return { eligible: true, evidence: [conventionne.event.eventId] };
  const shown = during.at(-1) ?? profiles.at(-1)!;
  return {
    eligible: false,
    reason: `non éligible : médecin ${describe(shown)}, hors convention toute l’année ${year} (rules spec « Eligibility », INT-9)`,
    evidence: during.map((p) => p.event.eventId),
  };
}

/**
 * The entitlement of a doctor-year as the caisse knew it at `knownAt`: the one pure function that
 * the projector, the replay endpoint and the yearly calculation all run.
 */
export function computeEntitlement(input: EntitlementInput): Entitlement {
  const at = input.knownAt;
  const campaignEvents = knownAt(input.campaign, at);
  const declaration = knownAt(input.declaration, at);
  const doctor = knownAt(input.doctor, at);
  // Whatever the reader passed, only these: a whole read and a partial one compute the same.
  const earlier = knownAt(input.earlier ?? [], at).filter(countsInEarlierYears);
  const earlierCampaigns = ofType(knownAt(input.earlierCampaigns ?? [], at), 'CampaignOpened').filter((e) => e.data.year < input.year);

  const campaign = campaignFrom(campaignEvents);
  const amendments = campaign.status === 'none' ? [] : campaign.amendments;
  const ruleset = amendRuleset(input.ruleset, amendments);
  const window = campaign.status === 'none' ? null : { opensAt: campaign.opensAt, closesAt: campaign.closesAt };

  // The profile in force at the assessment date (rules spec, "Eligibility"); failing that, the first known.
  const profiles = profilesInForce(ofType(doctor, 'DoctorProfileRecorded'));
  const profileEvent = [...profiles].reverse().find((p) => p.from <= ruleset.assessedOn)?.event ?? profiles[0]?.event;
  const profile = profileEvent
    ? { specialty: profileEvent.data.specialty, caisse: profileEvent.data.caisse, department: profileEvent.data.department, eventId: profileEvent.eventId }
    : null;

  const ctx: Context = { ruleset, declaration, earlier, earlierCampaigns, window, profile, profileEvent, year: input.year };
  const invalidations = controlInvalidations(declaration);

  const evaluate = (rule: Volet1Rule | Volet2Rule, outcome: Outcome): Outcome => {
    const invalid = invalidations.get(rule.code);
    if (outcome.met && invalid) {
      return { met: false, reason: `invalidé par le contrôle a posteriori : ${invalid.reason}`, evidence: [...outcome.evidence, ...invalid.evidence] };
    }
    return outcome;
  };

  const volet1Results: IndicatorResult[] = ruleset.volet1.indicators.map((rule) => {
    const o = evaluate(rule, volet1Outcome(rule, ctx));
    return {
      code: rule.code,
      volet: 1,
      label: rule.label,
      met: o.met,
      points: Rational.ZERO,
      basePoints: Rational.ZERO,
      reason: o.reason,
      evidence: o.evidence,
      rule,
    };
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
      reason += ` ; report MSS (INT-4) : ${formatPoints(base)} × ${report.factor.num}/${report.factor.den} = ${formatPoints(points)} points`;
    }
    if (!gate && points.compare(Rational.ZERO) > 0) {
      points = Rational.ZERO;
      reason += ' ; non rémunéré : volet 1 non atteint';
    }
    return { code: rule.code, volet: 2, label: rule.label, met: o.met, points, basePoints: base, reason, evidence: o.evidence, rule };
  });

  const volet1Points = gate ? Rational.of(ruleset.volet1.points) : Rational.ZERO;
  const volet2Points = sum(volet2Results.map((r) => r.points));
  // Not eligible: nothing is due, the volets keep their points and reasons (api.md).
  const eligibility = eligibilityOf(ruleset, input.year, profiles);
  const totalPoints = eligibility.eligible ? volet1Points.add(volet2Points) : Rational.ZERO;
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
    eligibility: { eligible: eligibility.eligible, ...(eligibility.reason ? { reason: eligibility.reason } : {}), evidence: eligibility.evidence },
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
  earlierCampaigns: EventOf<'CampaignOpened'>[];
  window: { opensAt: string; closesAt: string } | null;
  profile: Entitlement['profile'];
  profileEvent: EventOf<'DoctorProfileRecorded'> | undefined;
  year: number;
}

function inWindow(ctx: Context, e: KnownEvent): boolean {
  if (!ctx.window) return false;
  const t = ms(datedAt(ctx, e));
  return t >= ms(ctx.window.opensAt) && t <= ms(ctx.window.closesAt);
}

/**
 * The instant the deadlines judge (INT-8): a paper form or a postal justificatif by the caisse's
 * receipt (`effectiveAt`), or by its postmark when `paperDatedBy` is `postmark`; anything else by
 * its `effectiveAt`. The parameter as known at `knownAt`: an amendment re-dates what it covers.
 */
function datedAt(ctx: Context, e: KnownEvent): string {
  const postmarkedAt = e.type === 'IndicatorDeclared' || e.type === 'JustificatifSubmitted' ? e.data.postmarkedAt : undefined;
  return paperDated(ctx.ruleset, e.metadata.effectiveAt, postmarkedAt);
}

/** « formulaire papier reçu le …, cachet de la poste du … » when a postmark was keyed (INT-8), for the reasons. */
function paperNote(ctx: Context, e: KnownEvent): string {
  const postmarkedAt = e.type === 'IndicatorDeclared' || e.type === 'JustificatifSubmitted' ? e.data.postmarkedAt : undefined;
  if (postmarkedAt === undefined) return '';
  const by = ctx.ruleset.parameters.paperDatedBy === 'postmark' ? 'daté par le cachet de la poste' : 'daté par sa réception';
  return ` (envoi papier reçu le ${formatParisDay(e.metadata.effectiveAt)}, cachet de la poste du ${formatParisDay(postmarkedAt)} : ${by}, INT-8)`;
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
      // INT-3 (SESAM-Vitale), or an amendment: neutralised means deemed met for the gate; the reason cites which.
      return { met: true, reason: `neutralisé pour ${ctx.year} : réputé atteint (${neutralisedBy(rule)})`, evidence: [] };
    case 'automated-flag': {
      // FS-2024's SESAM-Vitale gate (addendum 8 and its riders by 31/12/2024): a measure; the reason
      // says when the rule comes from secondary sources (rules spec « Other years »).
      const secondary = rule.provenance.find((p) => p.source === 'secondary');
      const source = secondary ? ` (${secondary.note} ; règle issue de sources secondaires)` : '';
      const m = latestMeasure(ctx, rule.code);
      if (!m) return { met: false, reason: `aucune mesure reçue${source}`, evidence: [] };
      const met = m.data.measure.kind === 'participation' && m.data.measure.participates;
      return { met, reason: `${met ? 'équipement constaté par l’Assurance maladie' : 'équipement non constaté'}${source}`, evidence: [m.eventId] };
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

/** What neutralised a volet-1 indicator: the latest amendment, else the ruleset's interpretation (INT-3). */
function neutralisedBy(rule: Volet1Rule): string {
  const refs = rule.provenance.map((p) => p.ref);
  return [...refs].reverse().find((r) => r.startsWith('amendement ')) ?? refs.find((r) => /^INT-\d+$/.test(r)) ?? 'amendement';
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
      if (!firstMonth) return { met: false, reason: 'aucune FSE sur la période : aucun acte télétransmis (INT-10)', evidence: [m.eventId] };
      const start = nextMonth(firstMonth);
      period = `à partir de ${monthLabel(start)} (1re FSE en ${monthLabel(firstMonth)})`;
      months.splice(0, months.length, ...months.filter((x) => x.month >= start));
    }
    fse = months.reduce((s, x) => s + x.fse, 0);
    total = months.reduce((s, x) => s + x.total, 0);
  } else {
    fse = measure.numerator ?? 0;
    total = measure.denominator ?? 0;
    period = 'taux annuel transmis';
  }
  // INT-10: no act at all, or a measured period left empty (first FSE in December), is not met.
  if (total <= 0) return { met: false, reason: `aucun acte sur la période (${period}) : dénominateur nul, non atteint (INT-10)`, evidence: [m.eventId] };
  // In integers (INT-12): the counts of a year may pass 2^53 once multiplied, where a float rounds.
  const met = BigInt(fse) * BigInt(target.total) >= BigInt(total) * BigInt(target.fse);
  const pct = formatPercent(fse, total);
  return {
    met,
    reason: `FSE ${fse} / ${total} actes = ${pct} ${met ? '≥' : '<'} ${target.fse}/${target.total} (${period})`,
    evidence: [m.eventId],
  };
}

const MONTHS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];
/** « juin 2023 » for `2023-06`, in the reasons. */
function monthLabel(month: string): string {
  const [y, mo] = month.split('-').map(Number) as [number, number];
  return `${MONTHS[mo - 1] ?? month} ${y}`;
}

function nextMonth(month: string): string {
  const [y, mo] = month.split('-').map(Number) as [number, number];
  return mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
}

/**
 * guide §I.5 « Trois possibilités pour déclarer ses horaires »: the hours service « au plus tard le
 * 31/12/2023 » (`hoursServiceDeadline`), the doctor's tick « en période de saisie » (amelipro, or a
 * paper form dated by INT-8), the CPAM back office « au plus tard le 31/01/2024 »
 * (`hoursBackOfficeDeadline`). The latest value by effective time among those inside their route's
 * deadline decides; a value outside it is recorded, ignored, and the reason says so.
 */
function horaires(ctx: Context): Outcome {
  const d = ctx.ruleset.parameters;
  const counted: KnownEvent[] = [];
  const ignored: string[] = [];
  for (const e of ctx.declaration) {
    if (e.type === 'IndicatorPrefilled' && e.data.indicator === 'V1_HORAIRES') {
      if (ms(e.metadata.effectiveAt) <= ms(d.hoursServiceDeadline)) counted.push(e);
      else
        ignored.push(
          `${horairesRoute(e)} du ${formatParisDay(e.metadata.effectiveAt)} après le ${formatParisDay(d.hoursServiceDeadline)} (date limite du service de saisie des horaires)`,
        );
    } else if (e.type === 'IndicatorDeclared' && e.data.indicator === 'V1_HORAIRES') {
      const channel = e.metadata.channel;
      if (channel === 'amelipro' || channel === 'paper') {
        if (inWindow(ctx, e)) counted.push(e);
        else ignored.push(`${horairesRoute(e)} du ${formatParisDay(datedAt(ctx, e))} hors de la période de saisie`);
      } else if (channel === 'back-office') {
        if (ms(e.metadata.effectiveAt) <= ms(d.hoursBackOfficeDeadline)) counted.push(e);
        else
          ignored.push(
            `${horairesRoute(e)} du ${formatParisDay(e.metadata.effectiveAt)} après le ${formatParisDay(d.hoursBackOfficeDeadline)} (date limite du back office de la caisse)`,
          );
      }
    }
  }
  const ignoredNote = ignored.length > 0 ? ` ; ignoré${ignored.length > 1 ? 's' : ''} (guide §I.5) : ${ignored.join(' ; ')}` : '';
  const latest = latestEffective<KnownEvent>(counted);
  if (!latest) return { met: false, reason: `horaires ni pré-remplis, ni déclarés dans les délais${ignoredNote}`, evidence: [] };
  const displayed = (latest.data as { value: { displayed?: boolean } }).value.displayed === true;
  return {
    met: displayed,
    reason: `${displayed ? 'horaires affichés' : 'horaires non affichés'} : ${horairesRoute(latest)} du ${formatParisDay(latest.metadata.effectiveAt)}${paperNote(ctx, latest)}${ignoredNote}`,
    evidence: [latest.eventId],
  };
}

/** Which of the guide's three routes (§I.5) a value of V1_HORAIRES came by, in the reasons' words. */
function horairesRoute(e: KnownEvent): string {
  if (e.type === 'IndicatorPrefilled') return 'service de saisie des horaires (pré-remplissage)';
  if (e.metadata.channel === 'amelipro') return 'déclaration sur amelipro';
  if (e.metadata.channel === 'paper') return 'formulaire papier';
  return 'saisie par la caisse (back office)';
}

/** A justificatif of V1_SEGUR_LAP as the rules read it: when it was sent, what it proves, its decision as known. */
interface SegurJustificatif {
  year: number;
  /** When it was sent (uploaded, or received by the caisse), or its postmark (INT-8). */
  sentAt: string;
  /** The postal justificatif's receipt and postmark, for the reasons (INT-8). */
  paper: string;
  /** null: sent before subjects existed, it stands for the whole indicator as then declared. */
  subjects: JustificatifSubject[] | null;
  software: (SegurSoftware & { kind: SegurSoftwareKind }) | null;
  lap: DeclaredLap | null;
  status: 'pending' | 'validated' | 'rejected';
  evidence: string[];
}

/** The Ségur facts of a stream (declarations inside the window and by `segurDeadline`, pre-fills from the ruleset's source). */
function segurFacts(ctx: Context, events: KnownEvent[], judgeWindow: boolean): SegurFact[] {
  const sources = ctx.ruleset.prefillSources.filter((p) => p.indicator === 'V1_SEGUR_LAP').map((p) => p.source);
  const deadline = ms(ctx.ruleset.parameters.segurDeadline);
  const facts: SegurFact[] = [];
  for (const e of events) {
    if (e.type === 'IndicatorPrefilled' && e.data.indicator === 'V1_SEGUR_LAP' && sources.includes(e.data.source)) {
      facts.push({
        source: 'prefilled',
        value: e.data.value as SegurPrefillValue,
        effectiveAt: e.metadata.effectiveAt,
        recordedAt: e.metadata.recordedAt,
        eventId: e.eventId,
      });
    } else if (
      e.type === 'IndicatorDeclared' &&
      e.data.indicator === 'V1_SEGUR_LAP' &&
      (!judgeWindow || (inWindow(ctx, e) && ms(datedAt(ctx, e)) <= deadline))
    ) {
      facts.push({
        source: 'declared',
        value: e.data.value as SegurLapValue,
        effectiveAt: e.metadata.effectiveAt,
        recordedAt: e.metadata.recordedAt,
        eventId: e.eventId,
      });
    }
  }
  return facts;
}

/** The doctor's V1_SEGUR_LAP justificatifs, this campaign's and earlier ones, with what each proves (rule 4). */
function segurJustificatifs(ctx: Context, currentFacts: SegurFact[]): SegurJustificatif[] {
  const years = new Set<number>();
  for (const e of ctx.earlier) if (e.type === 'JustificatifSubmitted' && e.data.indicator === 'V1_SEGUR_LAP' && e.data.year < ctx.year) years.add(e.data.year);
  const byYear = new Map<number, KnownEvent[]>([[ctx.year, ctx.declaration]]);
  for (const y of years) byYear.set(y, []);
  for (const e of ctx.earlier) {
    const y = (e.data as { year?: number }).year;
    if (typeof y === 'number' && years.has(y)) byYear.get(y)!.push(e);
  }
  const out: SegurJustificatif[] = [];
  for (const [year, events] of byYear) {
    if (!events.some((e) => e.type === 'JustificatifSubmitted' && e.data.indicator === 'V1_SEGUR_LAP')) continue;
    const facts = year === ctx.year ? currentFacts : segurFacts(ctx, events, false);
    for (const j of ofType(events, 'JustificatifSubmitted')) {
      if (j.data.indicator !== 'V1_SEGUR_LAP') continue;
      const decisions = [...ofType(events, 'JustificatifValidated'), ...ofType(events, 'JustificatifRejected')].filter(
        (d) => d.data.justificatifId === j.data.justificatifId,
      );
      const last = latestRecorded<KnownEvent>(decisions);
      // Recorded since INT-7; before, the declaration (or pre-fill) in force when it was sent, read from its stream.
      const proves =
        j.data.proves ??
        (() => {
          const f = segurInForce(facts, j.metadata.effectiveAt) ?? segurInForce(facts);
          return { segurSoftware: f?.software ?? null, lap: f?.lap ?? null };
        })();
      out.push({
        year,
        sentAt: datedAt(ctx, j),
        paper: paperNote(ctx, j),
        subjects: j.data.subjects ?? null,
        software: proves.segurSoftware,
        lap: proves.lap,
        status: last?.type === 'JustificatifValidated' ? 'validated' : last?.type === 'JustificatifRejected' ? 'rejected' : 'pending',
        evidence: last ? [j.eventId, last.eventId] : [j.eventId],
      });
    }
  }
  return out.sort((a, b) => ms(a.sentAt) - ms(b.sentAt));
}

const productLabel = (p: { editor: string; name: string }) => `${p.editor} ${p.name}`;
const SUBJECT_LABELS: Record<JustificatifSubject, string> = {
  SEGUR: 'SEGUR (logiciel référencé Ségur)',
  LAP: 'LAP (LAP certifié HAS)',
  LAP_CERTIFICATION_EN_COURS: 'LAP_CERTIFICATION_EN_COURS (démarche de certification engagée)',
  DPI_USAGE: 'DPI_USAGE (attestation d’utilisation du DPI par l’établissement)',
};

/**
 * guide §I.1, rules 1–5, INT-1, INT-7: a Ségur-referenced software acquired by `segurDeadline`, a LAP
 * declared by the doctor (or an exempt specialty), a CPAM-validated justificatif with the needed
 * subjects when one is needed, the reference lists as known at `knownAt`.
 */
function segurLap(ctx: Context): Outcome {
  const rules = ctx.ruleset.interpretations.segurJustificatif;
  const { segurDeadline } = ctx.ruleset.parameters;
  const deadlineDay = parisDate(segurDeadline);
  const limit = `la date limite Ségur du ${formatDate(deadlineDay)}`;
  const facts = segurFacts(ctx, ctx.declaration, true);
  const current = segurInForce(facts);
  // Rule 3 (seed 002: « jusqu'au 31 janvier 2024 pour s'équiper, déclarer … et transmettre leur justificatif »).
  const late = latestEffective(declarationsOf(ctx, 'V1_SEGUR_LAP').filter((e) => ms(datedAt(ctx, e)) > ms(segurDeadline)));
  const lateNote =
    late && (!current?.declared || ms(late.metadata.effectiveAt) > ms(current.declared.effectiveAt))
      ? `déclaration du ${formatDate(parisDate(datedAt(ctx, late)))} ignorée : déclaré après ${limit}${paperNote(ctx, late)}`
      : undefined;
  const withLate = (reason: string) => (lateNote ? `${reason} ; ${lateNote}` : reason);
  const lateEvidence = lateNote && late ? [late.eventId] : [];
  if (!current) {
    return {
      met: false,
      reason: lateNote ? `${lateNote} ; aucun logiciel Ségur pré-rempli (SONS)` : 'aucun logiciel Ségur pré-rempli (SONS) ni déclaré',
      evidence: lateEvidence,
    };
  }
  const evidence = [...[current.declared?.eventId, current.prefilled?.eventId].filter((id): id is string => !!id), ...lateEvidence];
  const software = current.software;
  const dpi = software.kind === 'DPI_ETABLISSEMENT';
  const label = `${software.editor} ${software.name} ${software.version}${dpi ? ' (DPI de l’établissement)' : ''}`;

  // Rule 1: acquired on or before the Paris date of segurDeadline.
  if (software.acquiredOn > deadlineDay) {
    return { met: false, reason: withLate(`logiciel ${label} acquis le ${formatDate(software.acquiredOn)}, après ${limit}`), evidence };
  }
  const lists = ctx.ruleset.lists;
  // Reference lists as known at knownAt: a later load can un-meet an accepted declaration.
  if (current.declared && !onList(lists.segurSolutions, software)) {
    return { met: false, reason: withLate(`logiciel ${productLabel(software)} absent de la liste segurSolutions`), evidence };
  }
  // Rule 2 (guide §I.1.b: « le sous indicateur LAP certifié HAS ne sera pas renseigné »): the doctor declares the LAP.
  const specialty = ctx.profile?.specialty;
  const exempt = specialty !== undefined && lists.lapExemptSpecialties.includes(specialty);
  const needsLap = lapRequired(ctx.ruleset, specialty, software.kind);
  if (needsLap && !current.lapDeclared) {
    const why = current.declared ? '' : ' : le pré-remplissage SONS ne renseigne pas le LAP, le médecin le déclare (guide §I.1.b)';
    return {
      met: false,
      reason: withLate(`LAP non déclaré${why} (spécialité ${specialty ? specialtyLabel(specialty) : 'inconnue'} non exonérée, annexe 1)`),
      evidence,
    };
  }
  if (exempt && ctx.profileEvent) evidence.push(ctx.profileEvent.eventId);
  const lap = needsLap ? current.lap : null;
  if (needsLap && lists.hasLap.length > 0) {
    if (!lap) return { met: false, reason: withLate('LAP déclaré sans nom : absent de la liste hasLap'), evidence };
    if (!onList(lists.hasLap, lap)) return { met: false, reason: withLate(`LAP ${productLabel(lap)} absent de la liste hasLap`), evidence };
  }
  const lapPart = exempt
    ? 'spécialité exonérée de LAP (annexe 1)'
    : !needsLap
      ? 'LAP non exigé pour le DPI de l’établissement (dpiRequiresLap)'
      : lap
        ? `LAP ${productLabel(lap)} (certification ${certificationLabel(lap.certification)})`
        : 'LAP certifié HAS déclaré sans nom';
  const unchecked = [
    ...(current.declared && lists.segurSolutions.length === 0 ? ['segurSolutions'] : []),
    ...(needsLap && lists.hasLap.length === 0 ? ['hasLap'] : []),
  ];
  const listsPart = unchecked.length > 0 ? ` ; ${unchecked.map((l) => `liste ${l} non chargée`).join(', ')}` : '';
  const what = `logiciel ${label} ${current.preFilled ? 'pré-rempli (SONS)' : 'déclaré'}, ${lapPart}`;

  // INT-1: is a CPAM-validated justificatif needed? « la 1ère année ou si modification » (guide §I.1.c–d).
  const justificatifs = segurJustificatifs(ctx, facts);
  const lastValidated = [...justificatifs].reverse().find((j) => j.status === 'validated');
  const modified =
    !!lastValidated &&
    ((lastValidated.software !== null && !sameProduct(lastValidated.software, software)) ||
      (lastValidated.lap !== null && lap !== null && !sameProduct(lastValidated.lap, lap)));
  const needs: string[] = [];
  if (rules.whenNotPrefilled && !current.preFilled) needs.push('non pré-rempli');
  const first = rules.whenFirstYear ? firstYear(ctx) : { first: false, why: '' };
  if (first.first) needs.push(first.why);
  if (rules.whenSoftwareChanged && modified)
    needs.push(`logiciel ou LAP modifié depuis le justificatif validé envoyé le ${formatDate(parisDate(lastValidated.sentAt))}`);
  const subjects = segurSubjects({ preFilled: current.preFilled, kind: software.kind, lapRequired: needsLap, lap });
  if (needs.length === 0 || subjects.length === 0) {
    const none = needs.length === 0 ? 'pas de justificatif requis (INT-1)' : `pas de justificatif requis : aucun sujet à justifier (INT-7)`;
    return { met: true, reason: withLate(`${what} ; ${none}${listsPart}`), evidence };
  }

  // INT-7: each needed subject proved by a validated justificatif: this campaign's, sent by segurDeadline,
  // proving what is declared now; or an earlier campaign's that « fera foi » (seed 000): the LAP
  // subject when it names the same LAP, the Ségur subject only from campaign `segurCarryOverFrom` on (2023, seed 002).
  const covers = (j: SegurJustificatif, s: JustificatifSubject) => j.subjects === null || j.subjects.includes(s);
  const sameSoftware = (j: SegurJustificatif) => j.software !== null && sameProduct(j.software, software) && j.software.kind === software.kind;
  const provesNow = (j: SegurJustificatif, s: JustificatifSubject) =>
    s === 'SEGUR' || s === 'DPI_USAGE' ? sameSoftware(j) : j.lap !== null && lap !== null ? sameProduct(j.lap, lap) : sameSoftware(j);
  const onTime = (j: SegurJustificatif) => ms(j.sentAt) <= ms(segurDeadline);
  const carried = (j: SegurJustificatif, s: JustificatifSubject) =>
    rules.carryOverEarlierValidation &&
    j.year < ctx.year &&
    ((s === 'LAP' && j.lap !== null && lap !== null && sameProduct(j.lap, lap)) ||
      ((s === 'SEGUR' || s === 'DPI_USAGE') && j.year >= ctx.ruleset.parameters.segurCarryOverFrom && sameSoftware(j)));
  const proof = new Map<JustificatifSubject, SegurJustificatif>();
  for (const s of subjects) {
    const found =
      justificatifs.find((j) => j.year === ctx.year && j.status === 'validated' && onTime(j) && covers(j, s) && provesNow(j, s)) ??
      [...justificatifs].reverse().find((j) => j.status === 'validated' && covers(j, s) && carried(j, s));
    if (found) proof.set(s, found);
  }
  const missing = subjects.filter((s) => !proof.has(s));
  const proofEvidence = [...new Set([...proof.values()].flatMap((j) => j.evidence))];
  const carriedPart = [...proof.entries()]
    .filter(([, j]) => j.year < ctx.year)
    .map(([s, j]) => ` ; ${s} : justificatif validé lors de la campagne ${j.year}, il fait foi (INT-1)`)
    .join('');
  if (missing.length === 0) {
    const paperPart = [...new Set([...proof.values()].map((j) => j.paper))].join('');
    return {
      met: true,
      reason: withLate(
        `${what} ; justificatif requis (${needs.join(', ')}) validé par la CPAM pour ${subjects.join(', ')}${paperPart}${carriedPart}${listsPart}`,
      ),
      evidence: [...evidence, ...proofEvidence],
    };
  }
  // Why the missing subjects are not proved: late, pending, rejected, proving something else, or none sent.
  const thisYear = justificatifs.filter((j) => j.year === ctx.year && missing.some((s) => covers(j, s)));
  const lateOne = thisYear.find((j) => !onTime(j) && missing.some((s) => provesNow(j, s)));
  let status: string;
  if (thisYear.some((j) => onTime(j) && j.status === 'pending' && missing.some((s) => provesNow(j, s)))) status = 'non encore validé par la CPAM';
  else if (lateOne) status = `justificatif envoyé après ${limit} (le ${formatDate(parisDate(lateOne.sentAt))}${lateOne.paper}) : il ne compte pas`;
  else if (thisYear.some((j) => onTime(j) && j.status === 'rejected')) status = 'rejeté par la CPAM';
  else if (thisYear.some((j) => onTime(j) && j.status === 'validated')) status = 'le justificatif validé prouve un autre logiciel ou LAP que celui déclaré';
  else status = 'non transmis';
  return {
    met: false,
    reason: withLate(`justificatif requis (${needs.join(', ')}) pour ${missing.map((s) => SUBJECT_LABELS[s]).join(', ')} : ${status}`),
    evidence: [...evidence, ...proofEvidence],
  };
}

/**
 * INT-6 (guide §I.1.d: « Première année de saisie des indicateurs par le médecin »), in this order:
 * the profile's `firstDeclarationYear`; the doctor's declarations in an earlier campaign recorded here
 * (not the first year); an earlier campaign recorded here with none of them (the first year: the
 * doctor was not there); a convention starting on or after the campaign's 1 January (the first
 * year); the parameter `firstYearWithoutHistory`. Answers why, in French, for the reason.
 */
function firstYear(ctx: Context): { first: boolean; why: string } {
  const declared = firstDeclarationYear(ctx);
  if (declared !== undefined) {
    return declared >= ctx.year ? { first: true, why: 'première année de déclaration selon la fiche du médecin' } : { first: false, why: '' };
  }
  const saisies = ctx.earlier.filter((e) => (e.type === 'IndicatorDeclared' || e.type === 'DeclarationTransmitted') && e.data.year < ctx.year);
  if (saisies.length > 0) return { first: false, why: '' };
  const campaigns = [...new Set(ctx.earlierCampaigns.map((c) => c.data.year))].sort();
  if (campaigns.length > 0) {
    return {
      first: true,
      why: `première année de déclaration : aucune déclaration du médecin lors ${campaigns.length > 1 ? 'des campagnes' : 'de la campagne'} ${campaigns.join(' et ')} enregistrée${campaigns.length > 1 ? 's' : ''} ici`,
    };
  }
  const since = ctx.profileEvent?.data.convention?.since;
  if (since !== undefined && since >= `${ctx.year}-01-01`)
    return { first: true, why: `première année de déclaration : conventionné depuis le ${formatDate(since)}` };
  return ctx.ruleset.parameters.firstYearWithoutHistory
    ? { first: true, why: 'première année de déclaration faute d’historique ici, selon firstYearWithoutHistory' }
    : { first: false, why: '' };
}

function firstDeclarationYear(ctx: Context): number | undefined {
  return ctx.profileEvent?.data.firstDeclarationYear;
}

// ---------------------------------------------------------------------------------------------
// Volet 2

function volet2Outcome(rule: Volet2Rule, ctx: Context): Outcome {
  // Neutralised by an amendment (spec: per indicator `neutralised`).
  if (rule.neutralised?.mode === 'deemed-met')
    return { met: true, reason: `neutralisé par amendement : réputé atteint (${rule.neutralised.provenance.ref})`, evidence: [] };
  if (rule.neutralised?.mode === 'excluded')
    return {
      met: false,
      excluded: true,
      reason: `neutralisé par amendement : exclu du forfait, ses points ne sont ni payés ni reportés (${rule.neutralised.provenance.ref})`,
      evidence: [],
    };
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
    case 'sas':
      return sas(ctx);
    default: {
      const _exhaustive: never = rule;
      return _exhaustive;
    }
  }
}

/**
 * guide §II.2 indicator 8 (rules spec "SAS"): « Seuls les médecins exerçant dans un département dans
 * lequel le SAS est déployé peuvent prétendre à cette rémunération » — the profile's département on
 * `sasDepartements` (empty: not checked) — then either route:
 * (a) « calculé automatiquement … au regard des informations transmises par la plateforme nationale
 * SAS »: a `participates` measure;
 * (b) « le président de la CPTS devra attester de la liste des médecins … »: an attestation linked to
 * this doctor-year, for software on `sasSoftware` (empty: not checked), received by
 * `sasAttestationDeadline` (null: the window's close in force), validated by the CPAM. Everything as
 * known at `knownAt`: the link is recorded when the CPAM decided.
 * A per-doctor justificatif is not the CPTS's attestation and proves nothing here.
 */
function sas(ctx: Context): Outcome {
  const { lists } = ctx.ruleset;
  const notes: string[] = [];
  const profileEvidence = ctx.profileEvent ? [ctx.profileEvent.eventId] : [];
  let departement: string;
  if (lists.sasDepartements.length === 0) {
    departement = 'département non vérifié : sasDepartements, liste non chargée';
  } else if (!ctx.profile) {
    return {
      met: false,
      reason: 'département du médecin inconnu (aucun profil) : le SAS n’est rémunéré que dans un département où il est déployé (guide §II.2 indicateur 8)',
      evidence: [],
    };
  } else if (!lists.sasDepartements.includes(ctx.profile.department)) {
    return {
      met: false,
      reason: `département ${ctx.profile.department} hors liste des départements où le SAS est déployé (guide §II.2 indicateur 8 : « Seuls les médecins exerçant dans un département dans lequel le SAS est déployé peuvent prétendre à cette rémunération »)`,
      evidence: profileEvidence,
    };
  } else {
    departement = `département ${ctx.profile.department} sur la liste des départements où le SAS est déployé`;
  }
  const individual = ofType(ctx.declaration, 'JustificatifSubmitted').filter((j) => j.data.indicator === 'V2_SAS');
  const individualNote =
    individual.length > 0
      ? ' ; un justificatif individuel transmis pour le SAS n’est pas une attestation du président de CPTS : il ne vaut pas pour cet indicateur'
      : '';

  // Route (a): the national SAS platform.
  const m = latestMeasure(ctx, 'V2_SAS');
  if (m && m.data.measure.kind === 'participation' && m.data.measure.participates) {
    return {
      met: true,
      reason: `route (a) : participation au SAS transmise par la plateforme nationale SAS ; ${departement}`,
      evidence: [m.eventId, ...profileEvidence],
    };
  }
  if (m) notes.push('route (a) : la plateforme nationale SAS ne transmet pas de participation');

  // Route (b): a CPTS president's attestation, decided by the CPAM and linked here.
  const deadline = ctx.ruleset.parameters.sasAttestationDeadline ?? ctx.window?.closesAt;
  const deadlineText = ctx.ruleset.parameters.sasAttestationDeadline ? 'date limite des attestations SAS' : 'clôture de la campagne en vigueur';
  const links = ofType(ctx.declaration, 'SasAttestationDecisionLinked').sort((a, b) => ms(a.metadata.recordedAt) - ms(b.metadata.recordedAt));
  for (const link of links) {
    const a = link.data;
    const what = `attestation du président de la CPTS « ${a.cpts} »`;
    const received = formatParisDay(a.receivedAt);
    if (a.decision === 'rejected') {
      notes.push(`route (b) : ${what} rejetée par la CPAM${a.reason ? ` (${a.reason})` : ''}`);
      continue;
    }
    if (!deadline) {
      notes.push(`route (b) : ${what} validée, mais aucune campagne connue pour juger de son délai`);
      continue;
    }
    if (ms(a.receivedAt) > ms(deadline)) {
      notes.push(`route (b) : ${what} validée, mais attestation reçue après le ${formatParisDay(deadline)} (${deadlineText}) : reçue le ${received}`);
      continue;
    }
    let software: string;
    if (lists.sasSoftware.length === 0) software = `logiciel « ${a.software} » non vérifié : sasSoftware, liste non chargée`;
    else if (lists.sasSoftware.some((x) => normalise(x) === normalise(a.software))) software = `logiciel « ${a.software} » sur la liste des logiciels SAS`;
    else {
      notes.push(`route (b) : ${what} validée, mais logiciel « ${a.software} » hors liste des logiciels SAS interfacés avec la plateforme nationale`);
      continue;
    }
    return {
      met: true,
      reason: `route (b) : ${what} reçue le ${received}, validée par la CPAM ; ${software} ; ${departement}`,
      evidence: [link.eventId, ...profileEvidence],
    };
  }
  if (links.length === 0) notes.push('route (b) : aucune attestation de président de CPTS validée par la CPAM');
  if (!m) notes.unshift('route (a) : aucune participation transmise par la plateforme nationale SAS');
  return {
    met: false,
    reason: `${notes.join(' ; ')} ; ${departement}${individualNote}`,
    evidence: [...(m ? [m.eventId] : []), ...links.map((l) => l.eventId), ...individual.map((j) => j.eventId)],
  };
}

function countOf(measure: Measure): number {
  if (measure.kind === 'count' || measure.kind === 'rate') return measure.numerator;
  return 0;
}

/** guide §II.1: rate ≥ target; a zero denominator is not met; INT-2 for the DCMT of general practitioners. */
function rate(rule: Extract<Volet2Rule, { kind: 'rate' }>, ctx: Context): Outcome {
  // INT-2: neutralised for the specialties of `dcmtNeutralisedSpecialties`, in the mode `dcmtNeutralisation`.
  const n = rule.neutralisedForSpecialties;
  if (n && ctx.profile && ctx.ruleset.lists.dcmtNeutralisedSpecialties.includes(ctx.profile.specialty)) {
    const evidence = ctx.profileEvent ? [ctx.profileEvent.eventId] : [];
    const specialty = specialtyLabel(ctx.profile.specialty);
    if (ctx.ruleset.parameters.dcmtNeutralisation === 'deemed-met') {
      return { met: true, reason: `neutralisé pour la spécialité ${specialty} : réputé atteint (${n.provenance.ref})`, evidence };
    }
    return { met: false, excluded: true, reason: `neutralisé pour la spécialité ${specialty} : exclu du forfait (${n.provenance.ref})`, evidence };
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

/**
 * INT-12 (rules spec « Rates »): numerator / denominator ≥ target %, compared exactly in integers by
 * cross-multiplication, `numerator × 100 × t.den ≥ t.num × denominator` on bigint, never a float nor a
 * rounding first: a safe-integer numerator times 100 is past 2^53, where a float rounds.
 */
function meetsTarget(numerator: number, denominator: number, target: PercentTarget): boolean {
  const t = Rational.fromDecimal(target.num).div(Rational.of(target.den));
  return BigInt(numerator) * 100n * t.den >= t.num * BigInt(denominator);
}

function formatTarget(t: PercentTarget): string {
  return `${formatPoints(Rational.fromDecimal(t.num).div(Rational.of(t.den)))} %`;
}

/** guide §II.2–II.7: declared yes, attested on honour, with an allowed modality or device where the rule lists them. */
function declared(rule: Extract<Volet2Rule, { kind: 'declared' }>, ctx: Context): Outcome {
  const d = latestEffective(declarationsOf(ctx, rule.code));
  if (!d) {
    // A paper form outside the window, dated as INT-8 says: say when it was dated.
    const outside = latestEffective(
      ofType(ctx.declaration, 'IndicatorDeclared').filter((e) => e.data.indicator === rule.code && e.metadata.channel === 'paper'),
    );
    if (outside)
      return {
        met: false,
        reason: `non déclaré pendant la campagne : formulaire papier daté du ${formatParisDay(datedAt(ctx, outside))}, hors de la fenêtre de déclaration${paperNote(ctx, outside)}`,
        evidence: [outside.eventId],
      };
    return { met: false, reason: 'non déclaré pendant la campagne', evidence: [] };
  }
  const value = d.data.value as { answer?: boolean; modalities?: string[]; devices?: string[] };
  const evidence = [d.eventId];
  const what = rule.declares ? ` (${rule.declares})` : '';
  if (value.answer !== true) return { met: false, reason: `déclaré « non »${what} le ${formatParisDay(datedAt(ctx, d))}`, evidence };
  if (!d.data.attestation) return { met: false, reason: 'attestation sur l’honneur absente', evidence };
  if (rule.allowed) {
    const given = value[rule.allowed.field] ?? [];
    // The campaign's list as known at knownAt: a later removal un-meets an accepted declaration.
    const values = ctx.ruleset.lists[rule.allowed.list];
    const ok = given.filter((v) => values.includes(v));
    if (ok.length === 0) {
      const kind = rule.allowed.field === 'modalities' ? 'aucune modalité retenue' : 'aucun équipement retenu';
      return {
        met: false,
        reason: `${kind} parmi : ${given.join(', ') || '—'} (absent${given.length > 1 ? 's' : ''} de la liste ${rule.allowed.list} en vigueur)`,
        evidence,
      };
    }
    return { met: true, reason: `déclaré « oui » avec attestation sur l’honneur (${ok.join(', ')})${paperNote(ctx, d)}`, evidence };
  }
  return { met: true, reason: `déclaré « oui »${what} avec attestation sur l’honneur${paperNote(ctx, d)}`, evidence };
}

/**
 * INT-5 (guide §II.4: « au dispositif ASALEE (si pas déclaré pour l'indicateur « prise en charge
 * coordonnée ») »): ASALEE counts for services only when it is not among the modalities declared for
 * coordination; services is then met only through another allowed modality.
 */
function applyAsaleeExclusivity(ruleset: Ruleset, ctx: Context, outcomes: Map<IndicatorCode, Outcome>): void {
  const rule = ruleset.interpretations.asaleeExclusive;
  if (!rule.enabled) return;
  const declaredModalities = (code: IndicatorCode) => {
    const d = latestEffective(declarationsOf(ctx, code));
    const value = d?.data.value as { answer?: boolean; modalities?: string[] } | undefined;
    return value?.answer === true ? (value.modalities ?? []) : [];
  };
  const services = outcomes.get('V2_SERVICES_PATIENTS');
  if (!services?.met || !declaredModalities('V2_COORDINATION').includes(rule.modality)) return;
  const others = declaredModalities('V2_SERVICES_PATIENTS').filter((m) => m !== rule.modality && ruleset.lists.servicesModalities.includes(m));
  if (others.length > 0) return;
  outcomes.set('V2_SERVICES_PATIENTS', {
    met: false,
    reason: `ASALEE, déclaré pour la prise en charge coordonnée, ne compte pas pour les services ; aucune autre modalité retenue (${rule.provenance.ref})`,
    evidence: services.evidence,
  });
}

/**
 * INT-4: when MSS is not met, each participating item (parameter `mssReportOver`) that is met is
 * worth base × factor, factor = (Σ bases of the participating items + base of MSS) ÷ Σ bases of the
 * participating items, with the bases in force; an excluded item does not participate.
 */
function mssReportFactor(ruleset: Ruleset, outcomes: Map<IndicatorCode, Outcome>): { factor: Rational; over: IndicatorCode[] } | undefined {
  const r = ruleset.interpretations.mssReport;
  const mss = outcomes.get(r.from);
  if (!mss || mss.met || mss.excluded) return undefined;
  const rules = ruleset.volet2.indicators;
  const over = mssReportItems(ruleset.parameters.mssReportOver).filter((code) => {
    const rule = rules.find((i) => i.code === code);
    return rule !== undefined && rule.neutralised?.mode !== 'excluded' && outcomes.get(code)?.excluded !== true;
  });
  const points = (code: IndicatorCode) => Rational.fromDecimal(rules.find((i) => i.code === code)?.points ?? 0);
  const pool = sum(over.map(points));
  if (pool.isZero()) return undefined;
  return { factor: pool.add(points(r.from)).div(pool), over };
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
