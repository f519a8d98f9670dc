/**
 * Stream `sas-attestation-<id>`: one CPTS president's attestation (guide §II.2 indicator 8: « le
 * président de la CPTS devra attester de la liste des médecins qui ont renseigné des disponibilités
 * de soins non programmés en 2023 et ont répondu aux demandes du SAS »), one document for every
 * doctor it lists, decided once by the CPAM. Its decision is also linked into each listed
 * doctor-year (`SasAttestationDecisionLinked`), so a doctor-year's replay needs no other stream.
 */
interface Attestation {
  attestationId: string;
  year: number;
}

/** Received by the caisse (`effectiveAt`: when it was received, INT-8). */
export interface SasAttestationReceived {
  type: 'SasAttestationReceived';
  data: Attestation & {
    /** The caisse of every doctor it lists (the agent's). */
    caisse: string;
    /** The CPTS's name. */
    cpts: string;
    /** The SAS software as the attestation names it (matched to `sasSoftware` by the rules). */
    software: string;
    /** The doctors it lists. */
    rpps: string[];
    sha256: string;
    size: number;
    mediaType: string;
  };
}
export interface SasAttestationValidated {
  type: 'SasAttestationValidated';
  data: Attestation & { rpps: string[] };
}
export interface SasAttestationRejected {
  type: 'SasAttestationRejected';
  data: Attestation & { rpps: string[]; reason: string };
}

export type SasAttestationEvent = SasAttestationReceived | SasAttestationValidated | SasAttestationRejected;
