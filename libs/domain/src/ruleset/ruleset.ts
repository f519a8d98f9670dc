import type { IndicatorCode } from '@forfait/events';

/** Where a fact of a ruleset comes from. */
export interface Provenance {
  source: 'guide-2023' | 'letter-2023' | 'ameli-news-2023' | 'amelipro-guide' | 'interpretation' | 'secondary';
  /** Section, paragraph or interpretation id: "§I.4", "I-4", "avenant 9"… */
  ref: string;
  note?: string;
}

/** A rate target, in percent (a rational: 2/3 is written { num: 200, den: 3 }). */
export interface PercentTarget {
  num: number;
  den: number;
}

interface RuleBase {
  code: IndicatorCode;
  /** The caisse's label, as the guide writes it. */
  label: string;
  provenance: Provenance[];
}

/** How a neutralised indicator counts (I-2): deemed met, or left out (0 points, not required). */
export type NeutralisationMode = 'deemed-met' | 'excluded';

export type Volet1Rule = RuleBase &
  (
    | { kind: 'segur-lap' }
    | { kind: 'automated-neutralised'; mode: NeutralisationMode }
    /** Measured by the insurer as a yes/no (a `participation` measure), e.g. SESAM-Vitale once required. */
    | { kind: 'automated-flag' }
    | { kind: 'teletransmission'; target: { fse: number; total: number } }
    | { kind: 'horaires' }
  );

export type Volet2Rule = RuleBase & { points: number } & (
    | {
        kind: 'rate';
        target: PercentTarget;
        /** I-2: neutralised for these specialties. */
        neutralisedFor?: { specialties: string[]; mode: NeutralisationMode; provenance: Provenance };
      }
    | { kind: 'count'; atLeast: number }
    /** Declared yes, attested on honour (the attestation is required at declaration). */
    | { kind: 'declared'; allowed?: { field: 'modalities' | 'devices'; values: string[]; refused: string[] } }
    | { kind: 'sas' }
  );

export interface Ruleset {
  id: string;
  version: string;
  year: number;
  status: 'primary' | 'secondary';
  provenance: Provenance[];
  pointValueCents: number;
  /** Assessment date (no proratisation): guide §IV. */
  assessedOn: string;
  volet1: { points: number; indicators: Volet1Rule[] };
  volet2: { indicators: Volet2Rule[] };
  /** Indicator-specific deadlines, judged on effective time, Europe/Paris end of day. */
  deadlines: {
    segurAcquiredBy: string;
    segurJustificatifBy: string;
    horairesServiceBy: string;
    horairesBackOfficeBy: string;
    provenance: Provenance[];
  };
  /** Which source pre-fills which indicator (guide §I.1: SONS; §I.5: Annuaire santé hours service). */
  prefillSources: { indicator: IndicatorCode; source: string; provenance: Provenance }[];
  specialties: { catalogue: string[]; generalPractice: string; lapExempt: string[]; provenance: Provenance[] };
  /** The interpretations of the spec (I-1…I-6), each a named parameter. */
  interpretations: {
    /** I-1: when V1_SEGUR_LAP needs a CPAM-validated justificatif. */
    segurJustificatif: {
      whenNotPrefilled: boolean;
      whenSoftwareChanged: boolean;
      whenFirstYear: boolean;
      /** A justificatif validated in an earlier campaign for the same software counts. */
      carryOverEarlierValidation: boolean;
      /** Fields that identify "the same software" (a new version of it is not a change). */
      sameSoftwareFields: ('editor' | 'name' | 'version')[];
      provenance: Provenance;
    };
    /** I-3: SESAM-Vitale add. 8 neutralised 2023. */
    sesamVitale: { provenance: Provenance };
    /** I-4: MSS points spread over the other items of indicator 1 when MSS is not met. */
    mssReport: { enabled: boolean; from: IndicatorCode; over: IndicatorCode[]; provenance: Provenance };
    /** I-5: ASALEE validates coordination or services, not both. */
    asaleeExclusive: { enabled: boolean; modality: string; provenance: Provenance };
    /** I-6: with no profile fact and no earlier campaign in the store, is it the doctor's first year? */
    firstYearWithoutHistory: { value: boolean; provenance: Provenance };
  };
  controls: { contestationMonths: number; recoveryLimitYears: number; fraudExempt: boolean; provenance: Provenance[] };
}

export function allRules(ruleset: Ruleset): (Volet1Rule | Volet2Rule)[] {
  return [...ruleset.volet1.indicators, ...ruleset.volet2.indicators];
}

export function ruleOf(ruleset: Ruleset, code: IndicatorCode): Volet1Rule | Volet2Rule | undefined {
  return allRules(ruleset).find((r) => r.code === code);
}
