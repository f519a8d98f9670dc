import type { IndicatorCode } from '@forfait/events';
import type { SegurFact } from '../entitlement/segur';
import type { KnownEvent } from '../events';

export type JustificatifState =
  | { status: 'pending'; indicator: IndicatorCode; submittedAt: string }
  | { status: 'validated' | 'rejected'; indicator: IndicatorCode; submittedAt: string; decidedAt: string };

export type ContestationState =
  { status: 'filed'; filedAt: string } | { status: 'decided'; filedAt: string; outcome: 'upheld' | 'reversed'; decidedAt: string };

export type ControlState =
  | { status: 'open'; indicators: IndicatorCode[]; openedAt: string; findings: Partial<Record<IndicatorCode, 'confirmed' | 'invalidated'>> }
  | {
      status: 'closed';
      indicators: IndicatorCode[];
      openedAt: string;
      findings: Partial<Record<IndicatorCode, 'confirmed' | 'invalidated'>>;
      closedAt: string;
      notification: 'recovery' | 'complement' | 'none';
      contestation?: ContestationState;
    };

/** What the deciders of a doctor-year need to know about its stream `declaration-<rpps>-<year>`. */
export interface DeclarationState {
  revision: number;
  justificatifs: Record<string, JustificatifState>;
  controls: Record<string, ControlState>;
  paidCents: number;
  /** Payment references already used (api.md: unique per doctor-year). */
  paymentReferences: string[];
  /** Effective date of the first payment: the 3-year recovery limit runs from it. */
  firstPaidAt?: string;
  transmitted: boolean;
  /** CPTS SAS attestations listing this doctor whose decision is linked here, by id. */
  sasAttestations: Record<string, 'validated' | 'rejected'>;
  /** V1_SEGUR_LAP declarations and SONS pre-fills: what a justificatif sent now proves (INT-7). */
  segur: SegurFact[];
}

export const initialDeclaration: DeclarationState = {
  revision: -1,
  justificatifs: {},
  controls: {},
  paidCents: 0,
  paymentReferences: [],
  transmitted: false,
  sasAttestations: {},
  segur: [],
};

export function evolveDeclaration(state: DeclarationState, event: KnownEvent): DeclarationState {
  const next = { ...state, revision: state.revision + 1 };
  const at = event.metadata.effectiveAt;
  switch (event.type) {
    case 'JustificatifSubmitted':
      return {
        ...next,
        justificatifs: { ...state.justificatifs, [event.data.justificatifId]: { status: 'pending', indicator: event.data.indicator, submittedAt: at } },
      };
    case 'JustificatifValidated':
    case 'JustificatifRejected': {
      const j = state.justificatifs[event.data.justificatifId];
      if (!j) return next;
      const status = event.type === 'JustificatifValidated' ? 'validated' : 'rejected';
      return {
        ...next,
        justificatifs: { ...state.justificatifs, [event.data.justificatifId]: { status, indicator: j.indicator, submittedAt: j.submittedAt, decidedAt: at } },
      };
    }
    case 'PaymentRecorded':
      return {
        ...next,
        paidCents: state.paidCents + event.data.amountCents,
        paymentReferences: event.data.reference !== undefined ? [...state.paymentReferences, event.data.reference] : state.paymentReferences,
        firstPaidAt: state.firstPaidAt ?? event.data.paidAt,
      };
    case 'DeclarationTransmitted':
      return { ...next, transmitted: true };
    case 'SasAttestationDecisionLinked':
      return { ...next, sasAttestations: { ...state.sasAttestations, [event.data.attestationId]: event.data.decision } };
    case 'IndicatorDeclared':
    case 'IndicatorPrefilled': {
      if (event.data.indicator !== 'V1_SEGUR_LAP') return next;
      const fact: SegurFact = {
        source: event.type === 'IndicatorDeclared' ? 'declared' : 'prefilled',
        value: event.data.value as SegurFact['value'],
        effectiveAt: at,
        recordedAt: event.metadata.recordedAt,
        eventId: event.eventId,
        ...(event.type === 'IndicatorDeclared' && event.data.postmarkedAt !== undefined ? { postmarkedAt: event.data.postmarkedAt } : {}),
      };
      return { ...next, segur: [...state.segur, fact] };
    }
    case 'ControlOpened':
      return {
        ...next,
        controls: { ...state.controls, [event.data.controlId]: { status: 'open', indicators: event.data.indicators, openedAt: at, findings: {} } },
      };
    case 'ControlFindingRecorded': {
      const c = state.controls[event.data.controlId];
      if (!c) return next;
      return {
        ...next,
        controls: { ...state.controls, [event.data.controlId]: { ...c, findings: { ...c.findings, [event.data.indicator]: event.data.outcome } } },
      };
    }
    case 'ControlClosed': {
      const c = state.controls[event.data.controlId];
      if (!c) return next;
      return {
        ...next,
        controls: { ...state.controls, [event.data.controlId]: { ...c, status: 'closed', closedAt: at, notification: event.data.notification } },
      };
    }
    case 'ContestationFiled': {
      const c = state.controls[event.data.controlId];
      if (!c || c.status !== 'closed') return next;
      return { ...next, controls: { ...state.controls, [event.data.controlId]: { ...c, contestation: { status: 'filed', filedAt: at } } } };
    }
    case 'ContestationDecided': {
      const c = state.controls[event.data.controlId];
      if (!c || c.status !== 'closed' || !c.contestation) return next;
      const contestation: ContestationState = { status: 'decided', filedAt: c.contestation.filedAt, outcome: event.data.outcome, decidedAt: at };
      return { ...next, controls: { ...state.controls, [event.data.controlId]: { ...c, contestation } } };
    }
    default:
      return next;
  }
}

export function declarationFrom(events: readonly KnownEvent[]): DeclarationState {
  return events.reduce(evolveDeclaration, initialDeclaration);
}
