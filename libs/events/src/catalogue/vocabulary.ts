import { keysOf } from '../keys';
/**
 * The words the events are written in. Lists live here (not in a ruleset) only where they are the
 * shape of the data; which of them count, and for how much, is the ruleset's business.
 */

/** Indicator codes of the forfait structure (spec forfait-structure-2023.md, volets 1 and 2). */
export const INDICATOR_CODES = [
  'V1_SEGUR_LAP',
  'V1_SESAM_VITALE',
  'V1_TELETRANSMISSION',
  'V1_HORAIRES',
  'V2_AAT',
  'V2_CMATMP',
  'V2_PSE',
  'V2_DCMT',
  'V2_SPE',
  'V2_DSG',
  'V2_DMP',
  'V2_MSS',
  'V2_ORDONNANCE_NUMERIQUE',
  'V2_APCV',
  'V2_CODAGE',
  'V2_COORDINATION',
  'V2_SERVICES_PATIENTS',
  'V2_MAITRE_STAGE',
  'V2_VIDEO',
  'V2_EQUIPEMENT_CONNECTE',
  'V2_SAS',
] as const;
export type IndicatorCode = (typeof INDICATOR_CODES)[number];

export function isIndicatorCode(value: unknown): value is IndicatorCode {
  return typeof value === 'string' && (INDICATOR_CODES as readonly string[]).includes(value);
}

/** Pre-fill sources: SONS (Ségur software) and the Annuaire santé hours service (guide §I.1, §I.5). */
export const PREFILL_SOURCES = ['SONS', 'ANNUAIRE_SANTE'] as const;
export type PrefillSource = (typeof PREFILL_SOURCES)[number];

/** A Ségur-referenced software as SONS reports it or a doctor declares it (guide §I.1). */
export interface SegurSoftware {
  editor: string;
  name: string;
  version: string;
  /** YYYY-MM-DD */
  acquiredOn: string;
}
/** `DPI_ETABLISSEMENT`: the establishment's referenced DPI used by a hospital practitioner (guide §I.1.c NB; rule 5). */
export const SEGUR_SOFTWARE_KINDS = ['cabinet', 'DPI_ETABLISSEMENT'] as const;
export type SegurSoftwareKind = (typeof SEGUR_SOFTWARE_KINDS)[number];
/** HAS certification of a LAP (guide §I.1.c: definitive, provisional, or on an older référentiel). */
export const LAP_CERTIFICATIONS = ['definitive', 'provisional', 'older-referentiel'] as const;
export type LapCertification = (typeof LAP_CERTIFICATIONS)[number];
/** The LAP the doctor declares (rule 2): SONS never gives it. */
export interface DeclaredLap {
  editor: string;
  name: string;
  version?: string;
  certification: LapCertification;
}
/** Values a doctor (or an agent keying a paper form) declares, per indicator (api.md). */
export interface SegurLapValue {
  segurSoftware: SegurSoftware & { kind: SegurSoftwareKind };
  lapCertified: boolean;
  /**
   * The LAP named; null when none is named: with `lapCertified` true, a LAP declared unnamed (also
   * every declaration stored before `lap` existed, upcast so).
   */
  lap: DeclaredLap | null;
}
/**
 * What SONS pre-fills: the software only (guide §I.1.b: « le sous indicateur LAP certifié HAS ne
 * sera pas renseigné »); a `lapCertified` sent with it, kept on old events, is ignored.
 */
export interface SegurPrefillValue {
  segurSoftware: SegurSoftware;
  lapCertified?: boolean;
}
/** What a justificatif of V1_SEGUR_LAP proves (INT-7, guide §I.1.c–d). */
export const JUSTIFICATIF_SUBJECTS = ['SEGUR', 'LAP', 'LAP_CERTIFICATION_EN_COURS', 'DPI_USAGE'] as const;
export type JustificatifSubject = (typeof JUSTIFICATIF_SUBJECTS)[number];
export interface HorairesValue {
  displayed: boolean;
}
export interface AnswerValue {
  answer: boolean;
}
export interface AnswerWithModalitiesValue {
  answer: boolean;
  modalities: string[];
}
export interface AnswerWithDevicesValue {
  answer: boolean;
  devices: string[];
}

export interface DeclaredValues {
  V1_SEGUR_LAP: SegurLapValue;
  V1_HORAIRES: HorairesValue;
  V2_CODAGE: AnswerValue;
  V2_MAITRE_STAGE: AnswerValue;
  V2_VIDEO: AnswerValue;
  V2_COORDINATION: AnswerWithModalitiesValue;
  V2_SERVICES_PATIENTS: AnswerWithModalitiesValue;
  V2_EQUIPEMENT_CONNECTE: AnswerWithDevicesValue;
}
export type DeclarativeIndicator = keyof DeclaredValues;
export const DECLARATIVE_INDICATORS = keysOf<DeclaredValues>()({
  V1_SEGUR_LAP: true,
  V1_HORAIRES: true,
  V2_CODAGE: true,
  V2_MAITRE_STAGE: true,
  V2_VIDEO: true,
  V2_COORDINATION: true,
  V2_SERVICES_PATIENTS: true,
  V2_EQUIPEMENT_CONNECTE: true,
});
/** Indicators the insurer measures (api.md, "Imports"): every code but the declarative ones; V2_SAS is the SAS platform's report. */
export const AUTOMATED_INDICATORS: readonly IndicatorCode[] = INDICATOR_CODES.filter((c) => !(DECLARATIVE_INDICATORS as readonly string[]).includes(c));

/** A declaration of one indicator, typed by its code. */
export type Declaration = {
  [I in DeclarativeIndicator]: { indicator: I; value: DeclaredValues[I] };
}[DeclarativeIndicator];

/** Automated measures as the insurer's systems report them (api.md, "Imports"). */
export interface MonthlyCount {
  /** YYYY-MM */
  month: string;
  fse: number;
  total: number;
}
export type Measure =
  | { kind: 'rate'; numerator: number; denominator: number }
  | {
      kind: 'teletransmission';
      /** Monthly counts, from which the rule picks the months of the period (guide §I.4). */
      months?: MonthlyCount[];
      /** Whole-year counts when monthly counts are not given: they are the measured period (api.md). */
      numerator?: number;
      denominator?: number;
      /** Needed with monthly counts, to pick the period's months; optional with whole-year counts. */
      teletransmittedPreviousYear?: boolean;
      /** Date of the first FSE ever sent, when known (YYYY-MM-DD). */
      firstFseOn?: string;
    }
  | { kind: 'count'; numerator: number }
  | { kind: 'participation'; participates: boolean };

/**
 * RPPS: 11 digits whose last is a Luhn check digit (architecture.md, "Security").
 */
export function isValidRpps(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{11}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 11; i += 1) {
    let digit = Number(value[10 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Completes 10 digits with their Luhn check digit (demo data, generators, tests). */
export function withRppsCheckDigit(first10: string): string {
  if (!/^\d{10}$/.test(first10)) throw new TypeError('an RPPS stem is 10 digits');
  for (let d = 0; d <= 9; d += 1) if (isValidRpps(`${first10}${d}`)) return `${first10}${d}`;
  throw new Error('unreachable: one check digit always fits');
}

/** Justificatif ids name their doctor-year (`jf-<year>-<rpps>-<12 hex>`), so a decision finds its stream. */
export const JUSTIFICATIF_ID = /^jf-(\d{4})-(\d{11})-([0-9a-f]{12})$/;
export function justificatifIdOf(year: number, rpps: string, random12hex: string): string {
  return `jf-${year}-${rpps}-${random12hex}`;
}

/** A CPTS president's SAS attestation: `sas-<year>-<12 hex>` (decided through the justificatifs' decision route). */
export const SAS_ATTESTATION_ID = /^sas-(\d{4})-([0-9a-f]{12})$/;
export function sasAttestationIdOf(year: number, random12hex: string): string {
  return `sas-${year}-${random12hex}`;
}
