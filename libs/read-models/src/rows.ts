// The rows the read-model queries answer, as the API sends them (api.md, "Queries"). This file
// imports nothing: the console (a browser bundle with a compiler of its own) imports these types too.

export interface JustificatifRow {
  id: string;
  rpps: string;
  year: number;
  caisse: string | null;
  indicator: string;
  status: string;
  sha256: string;
  size: number;
  mediaType: string;
  /** INT-7 subjects of a V1_SEGUR_LAP justificatif; null: sent before subjects existed. */
  subjects: string[] | null;
  submittedAt: string;
  decidedAt: string | null;
  reason: string | null;
  /** The doctor-year's revision as this read model knows it: the If-Match of a decision taken on what the row shows. */
  revision: number | null;
}

export interface SasAttestationRow {
  kind: 'sas-attestation';
  id: string;
  /** Every doctor the attestation lists. */
  rpps: string[];
  year: number;
  caisse: string;
  indicator: 'V2_SAS';
  subjects: string[];
  cpts: string;
  software: string;
  status: string;
  sha256: string;
  size: number;
  mediaType: string;
  channel: string;
  /** When the caisse received it. */
  effectiveAt: string;
  recordedAt: string;
  /** The same as effectiveAt, as the justificatifs' rows name it. */
  submittedAt: string;
  decidedAt: string | null;
  reason: string | null;
  /** The attestation's own stream's revision (0 while pending): the If-Match of its decision. */
  revision: number;
}

export interface DoctorRow {
  rpps: string;
  /** The profile's name, null when it has none. */
  name: string | null;
  specialty: string;
  caisse: string;
  /** The CPAM's name by its code (libs/events' referential), null when it does not name it. */
  caisseName: string | null;
  department: string;
  years: number[];
}
