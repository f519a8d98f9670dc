import type { DeclarativeIndicator, DeclaredValues, IndicatorCode, Measure, PrefillSource } from './vocabulary';

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
    value: DeclaredValues['V1_SEGUR_LAP'] | DeclaredValues['V1_HORAIRES'];
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
export interface JustificatifSubmitted {
  type: 'JustificatifSubmitted';
  data: DoctorYear & {
    justificatifId: string;
    indicator: IndicatorCode;
    sha256: string;
    size: number;
    mediaType: string;
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
    /** Exact total as a decimal string (points are multiples of 1/278 at worst: see I-4). */
    totalPoints: string;
    amountCents: number;
    indicators: { code: IndicatorCode; met: boolean; points: string }[];
    /** Global position of the last event the calculation saw. */
    lastPosition: string;
  };
}
export interface PaymentRecorded {
  type: 'PaymentRecorded';
  data: DoctorYear & { amountCents: number; paidAt: string };
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
  | PaymentRecorded;
