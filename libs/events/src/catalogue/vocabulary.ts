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

/** Values a doctor (or an agent keying a paper form) declares, per indicator (api.md). */
export interface SegurLapValue {
  segurSoftware: { editor: string; name: string; version: string; acquiredOn: string };
  lapCertified: boolean;
}
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
export const DECLARATIVE_INDICATORS: readonly DeclarativeIndicator[] = [
  'V1_SEGUR_LAP',
  'V1_HORAIRES',
  'V2_CODAGE',
  'V2_MAITRE_STAGE',
  'V2_VIDEO',
  'V2_COORDINATION',
  'V2_SERVICES_PATIENTS',
  'V2_EQUIPEMENT_CONNECTE',
];

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
      /** Whole-year counts when monthly counts are not given. */
      numerator?: number;
      denominator?: number;
      teletransmittedPreviousYear: boolean;
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
