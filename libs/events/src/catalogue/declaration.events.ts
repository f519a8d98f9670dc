import type {
  DeclarativeIndicator,
  DeclaredLap,
  DeclaredValues,
  IndicatorCode,
  JustificatifSubject,
  Measure,
  PrefillSource,
  SegurPrefillValue,
  SegurSoftware,
  SegurSoftwareKind,
} from './vocabulary';

/** Stream `declaration-<rpps>-<year>`: everything about one doctor-year. */
interface DoctorYear {
  rpps: string;
  year: number;
}

export interface IndicatorPrefilled {
  type: 'IndicatorPrefilled';
  data: DoctorYear & {
    indicator: 'V1_SEGUR_LAP' | 'V1_HORAIRES';
    source: PrefillSource;
    value: SegurPrefillValue | DeclaredValues['V1_HORAIRES'];
  };
}
/** A declaration; declaring the same indicator again is a correction, and both stay in history. */
export interface IndicatorDeclared {
  type: 'IndicatorDeclared';
  data: DoctorYear & {
    indicator: DeclarativeIndicator;
    value: DeclaredValues[DeclarativeIndicator];
    /** attestation sur l'honneur */
    attestation: boolean;
    /** A paper form: the postmark (INT-8); `effectiveAt` is when the caisse received it. */
    postmarkedAt?: string;
  };
}
/** The doctor's "Transmettre". */
export interface DeclarationTransmitted {
  type: 'DeclarationTransmitted';
  data: DoctorYear;
}
export interface MeasureRecorded {
  type: 'MeasureRecorded';
  data: DoctorYear & {
    indicator: IndicatorCode;
    source: string;
    measure: Measure;
  };
}
/**
 * v2 (INT-7): `subjects` and what it proves. Stored v1 events are upcast with `subjects: null` (sent
 * before subjects existed: the whole indicator as then declared) and `proves: null` (unknown: the
 * declaration or pre-fill in force when it was sent, read from its stream).
 */
export interface JustificatifSubmitted {
  type: 'JustificatifSubmitted';
  data: DoctorYear & {
    justificatifId: string;
    indicator: IndicatorCode;
    sha256: string;
    size: number;
    mediaType: string;
    /** V1_SEGUR_LAP: what it proves (INT-7); [] for other indicators. */
    subjects: JustificatifSubject[] | null;
    /** V1_SEGUR_LAP: the software and LAP of the declaration (or pre-fill) in force when it was sent. */
    proves: { segurSoftware: (SegurSoftware & { kind: SegurSoftwareKind }) | null; lap: DeclaredLap | null } | null;
    /** A postal justificatif: the postmark (INT-8); `effectiveAt` is when the caisse received it. */
    postmarkedAt?: string;
  };
}
export interface JustificatifValidated {
  type: 'JustificatifValidated';
  data: DoctorYear & { justificatifId: string; indicator: IndicatorCode };
}
export interface JustificatifRejected {
  type: 'JustificatifRejected';
  data: DoctorYear & { justificatifId: string; indicator: IndicatorCode; reason: string };
}
export interface EntitlementCalculated {
  type: 'EntitlementCalculated';
  data: DoctorYear & {
    ruleset: string;
    rulesetVersion: string;
    rulesetHash: string;
    /** Exact total as a decimal string (points are multiples of 1/278 at worst: see INT-4). */
    totalPoints: string;
    amountCents: number;
    indicators: { code: IndicatorCode; met: boolean; points: string }[];
    /** Global position of the last event the calculation saw. */
    lastPosition: string;
  };
}
export interface PaymentRecorded {
  type: 'PaymentRecorded';
  /** `reference`: the payer's reference, unique per doctor-year (absent on payments recorded before it existed). */
  data: DoctorYear & { amountCents: number; paidAt: string; reference?: string };
}

/**
 * In `declaration-<rpps>-<year>`: the CPAM decided a CPTS president's SAS attestation listing this
 * doctor (architecture.md: "its decision also appends a link event to each listed doctor-year").
 * It repeats what the rules judge (software, received date, decision), so the doctor-year's replay
 * never reads the attestation's stream; `recordedAt` is when the decision became known.
 */
export interface SasAttestationDecisionLinked {
  type: 'SasAttestationDecisionLinked';
  data: DoctorYear & {
    attestationId: string;
    cpts: string;
    software: string;
    /** The attestation's `effectiveAt`: when the caisse received it. */
    receivedAt: string;
    decision: 'validated' | 'rejected';
    reason?: string;
    /** The decision's event in `sas-attestation-<id>`. */
    decisionEventId: string;
  };
}

export type DeclarationEvent =
  | IndicatorPrefilled
  | IndicatorDeclared
  | DeclarationTransmitted
  | MeasureRecorded
  | JustificatifSubmitted
  | JustificatifValidated
  | JustificatifRejected
  | EntitlementCalculated
  | PaymentRecorded
  | SasAttestationDecisionLinked;
