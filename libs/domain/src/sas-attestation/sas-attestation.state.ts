import type { SasAttestationReceived } from '@forfait/events';
import type { KnownEvent } from '../events';

/** A CPTS president's SAS attestation as its stream `sas-attestation-<id>` says. */
/** What its `SasAttestationReceived` said (the document's digest aside), and when it was received. */
type Received = Omit<SasAttestationReceived['data'], 'sha256' | 'size' | 'mediaType'> & { receivedAt: string };
export type SasAttestationState =
  | { status: 'none' }
  | ({ status: 'pending' } & Received)
  | ({ status: 'validated' | 'rejected'; decidedAt: string; reason?: string; decisionEventId: string } & Received);

export const initialSasAttestation: SasAttestationState = { status: 'none' };

export function evolveSasAttestation(state: SasAttestationState, event: KnownEvent): SasAttestationState {
  switch (event.type) {
    case 'SasAttestationReceived': {
      const d = event.data;
      return {
        status: 'pending',
        attestationId: d.attestationId,
        year: d.year,
        caisse: d.caisse,
        cpts: d.cpts,
        software: d.software,
        rpps: d.rpps,
        receivedAt: event.metadata.effectiveAt,
      };
    }
    case 'SasAttestationValidated':
    case 'SasAttestationRejected': {
      if (state.status !== 'pending') return state;
      const { status: _pending, ...received } = state;
      return {
        ...received,
        status: event.type === 'SasAttestationValidated' ? 'validated' : 'rejected',
        decidedAt: event.metadata.recordedAt,
        decisionEventId: event.eventId,
        ...(event.type === 'SasAttestationRejected' ? { reason: event.data.reason } : {}),
      };
    }
    default:
      return state;
  }
}

export function sasAttestationFrom(events: readonly KnownEvent[]): SasAttestationState {
  return events.reduce(evolveSasAttestation, initialSasAttestation);
}
