import { keysOf, type IndicatorCode } from '@forfait/events';
import { Rational } from '../arithmetic/rational';

/** Where a fact of a ruleset comes from. */
export interface Provenance {
  source: 'guide-2023' | 'letter-2023' | 'ameli-news-2023' | 'amelipro-guide' | 'interpretation' | 'secondary';
  /** Section, paragraph or interpretation id: "§I.4", "INT-4", "avenant 9"… */
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

/** How a neutralised indicator counts (INT-2): deemed met, or left out (0 points, not required). */
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

export type Volet2Rule = RuleBase & {
  points: number;
  /** Neutralised by an amendment (spec: per indicator `neutralised`): deemed met, or out of the forfait. */
  neutralised?: { mode: NeutralisationMode; provenance: Provenance };
} & (
    | {
        kind: 'rate';
        target: PercentTarget;
        /** INT-2: neutralised for the specialties of the list `dcmtNeutralisedSpecialties`, in the mode `dcmtNeutralisation`. */
        neutralisedForSpecialties?: { provenance: Provenance };
      }
    | { kind: 'count'; atLeast: number }
    /** Declared yes, attested on honour; `allowed`: which campaign list holds the accepted entries. */
    | {
        kind: 'declared';
        allowed?: { field: 'modalities' | 'devices'; list: 'coordinationModalities' | 'servicesModalities' | 'connectedDevices'; refused: string[] };
        /** What the doctor answers yes to, in the guide's words (shown in the reason). */
        declares?: string;
      }
    | { kind: 'sas' }
  );

/** A software or LAP as a reference list names it (matched on both, ignoring case and surrounding spaces). */
export interface ReferencedProduct {
  editor: string;
  name: string;
}

/**
 * The lists a caisse can amend (spec "Parameters and lists a caisse can amend"): campaign data, one
 * value per campaign, changed by a rule amendment; a replay known before it uses the old value.
 */
export interface CampaignLists {
  coordinationModalities: string[];
  servicesModalities: string[];
  connectedDevices: string[];
  lapExemptSpecialties: string[];
  dcmtNeutralisedSpecialties: string[];
  /** INSEE département codes where the SAS is deployed; empty: not checked ("liste non chargée"). */
  sasDepartements: string[];
  sasSoftware: string[];
  segurSolutions: ReferencedProduct[];
  hasLap: ReferencedProduct[];
}
export type CampaignListName = keyof CampaignLists;
export const CAMPAIGN_LISTS = keysOf<CampaignLists>()({
  coordinationModalities: true,
  servicesModalities: true,
  connectedDevices: true,
  lapExemptSpecialties: true,
  dcmtNeutralisedSpecialties: true,
  sasDepartements: true,
  sasSoftware: true,
  segurSolutions: true,
  hasLap: true,
});

/** INT-4: which items of indicator 1 share the MSS points when MSS is not met. */
export type MssReportOver = 'all-nine' | 'six-teleservices' | 'other-usages' | 'none';

/** The parameters a caisse can amend (deadlines are ISO instants with offset, inclusive). */
export interface CampaignParameters {
  /** Ségur software acquired, declared and justified by (rule 3; 2023: 31/01/2024). */
  segurDeadline: string;
  /** The CPTS president's SAS attestation received by; null: the window's close in force. */
  sasAttestationDeadline: string | null;
  hoursServiceDeadline: string;
  hoursBackOfficeDeadline: string;
  /** INT-2 */
  dcmtNeutralisation: NeutralisationMode;
  /** INT-4 */
  mssReportOver: MssReportOver;
  /** INT-6 */
  firstYearWithoutHistory: boolean;
  dpiRequiresLap: boolean;
  /** INT-8 */
  paperDatedBy: 'receipt' | 'postmark';
  /** INT-9 */
  eligibility: 'any-day-of-year' | 'at-assessment-date';
  recoveryLimitationYears: number;
  /**
   * Rule 4 / INT-1 (seed 002): the first campaign whose validated Ségur justificatif (subject SEGUR,
   * or DPI_USAGE) carries over to a later campaign; the Ségur indicator is new in 2023.
   */
  segurCarryOverFrom: number;
}
export type CampaignParameterName = keyof CampaignParameters;
export const CAMPAIGN_PARAMETERS = keysOf<CampaignParameters>()({
  segurDeadline: true,
  sasAttestationDeadline: true,
  hoursServiceDeadline: true,
  hoursBackOfficeDeadline: true,
  dcmtNeutralisation: true,
  mssReportOver: true,
  firstYearWithoutHistory: true,
  dpiRequiresLap: true,
  paperDatedBy: true,
  eligibility: true,
  recoveryLimitationYears: true,
  segurCarryOverFrom: true,
});

/** The items of indicator 1 (guide §II.1): six téléservices, then the other usages but MSS. */
export const SIX_TELESERVICES: readonly IndicatorCode[] = ['V2_AAT', 'V2_CMATMP', 'V2_PSE', 'V2_DCMT', 'V2_SPE', 'V2_DSG'];
export const OTHER_USAGES: readonly IndicatorCode[] = ['V2_DMP', 'V2_ORDONNANCE_NUMERIQUE', 'V2_APCV'];
export function mssReportItems(over: MssReportOver): readonly IndicatorCode[] {
  switch (over) {
    case 'all-nine':
      return [...SIX_TELESERVICES, ...OTHER_USAGES];
    case 'six-teleservices':
      return SIX_TELESERVICES;
    case 'other-usages':
      return OTHER_USAGES;
    case 'none':
      return [];
    default: {
      const _exhaustive: never = over;
      return _exhaustive;
    }
  }
}

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
  /** Campaign data a caisse can amend: lists and parameters, with where each default comes from. */
  lists: CampaignLists;
  parameters: CampaignParameters;
  dataProvenance: Partial<Record<CampaignListName | CampaignParameterName, Provenance[]>>;
  /** Which source pre-fills which indicator (guide §I.1: SONS; §I.5: Annuaire santé hours service). */
  prefillSources: { indicator: IndicatorCode; source: string; provenance: Provenance }[];
  specialties: { catalogue: string[]; generalPractice: string; provenance: Provenance[] };
  /** The interpretations of the spec (INT-1…INT-6), each a named parameter. */
  interpretations: {
    /** INT-1: when V1_SEGUR_LAP needs a CPAM-validated justificatif (its subjects: INT-7). */
    segurJustificatif: {
      whenNotPrefilled: boolean;
      /** The declared software or LAP differs from the one proved by the doctor's last validated justificatif. */
      whenSoftwareChanged: boolean;
      whenFirstYear: boolean;
      /** A justificatif validated in an earlier campaign counts: for the LAP naming the same LAP, for the Ségur software from 2023 on. */
      carryOverEarlierValidation: boolean;
      /** Fields that identify "the same software" (a new version of it is not a change). */
      sameSoftwareFields: ('editor' | 'name' | 'version')[];
      provenance: Provenance;
    };
    /** INT-3: SESAM-Vitale add. 8 neutralised 2023. */
    sesamVitale: { provenance: Provenance };
    /** INT-4: MSS points spread over other items of indicator 1 (parameter `mssReportOver`) when MSS is not met. */
    mssReport: { from: IndicatorCode; provenance: Provenance };
    /** INT-5: ASALEE counts for services only when not declared for coordination. */
    asaleeExclusive: { enabled: boolean; modality: string; provenance: Provenance };
  };
  controls: { contestationMonths: number; fraudExempt: boolean; provenance: Provenance[] };
}

export function allRules(ruleset: Ruleset): (Volet1Rule | Volet2Rule)[] {
  return [...ruleset.volet1.indicators, ...ruleset.volet2.indicators];
}

export function ruleOf(ruleset: Ruleset, code: IndicatorCode): Volet1Rule | Volet2Rule | undefined {
  return allRules(ruleset).find((r) => r.code === code);
}

/**
 * The most a doctor-year can be paid with the points in force (amendments applied): volet 1 plus
 * every volet-2 item, × the point value (guide §IV: 1 163 points = 8 141 € for FS-2023). INT-4's MSS
 * report moves points between items and never raises this sum.
 */
export function maximumAmountCents(ruleset: Ruleset): number {
  const points = ruleset.volet2.indicators.reduce((sum, rule) => sum.add(Rational.fromDecimal(rule.points)), Rational.fromDecimal(ruleset.volet1.points));
  return Number(points.mul(Rational.of(ruleset.pointValueCents)).roundHalfUp());
}

/**
 * The campaign's rules as api.md serves them: per indicator `{ target, points, neutralised }`
 * (target in percent for rates, the FSE count for ApCV, "2/3" for télétransmission), lists, parameters.
 */
export function campaignRulesView(ruleset: Ruleset) {
  const indicators: Record<string, { target: number | string | null; points: number | null; neutralised: NeutralisationMode | false }> = {};
  for (const rule of ruleset.volet1.indicators) {
    indicators[rule.code] = {
      target: rule.kind === 'teletransmission' ? `${rule.target.fse}/${rule.target.total}` : null,
      points: null,
      neutralised: rule.kind === 'automated-neutralised' ? rule.mode : false,
    };
  }
  for (const rule of ruleset.volet2.indicators) {
    const target =
      rule.kind === 'rate' ? Rational.fromDecimal(rule.target.num).div(Rational.of(rule.target.den)).toDecimal(3) : rule.kind === 'count' ? rule.atLeast : null;
    indicators[rule.code] = { target, points: rule.points, neutralised: rule.neutralised?.mode ?? false };
  }
  return { indicators, lists: ruleset.lists, parameters: ruleset.parameters };
}
