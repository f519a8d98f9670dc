import type { IndicatorCode } from './vocabulary';

/**
 * Contrôle a posteriori and contestation (spec, "After the campaign"). They live in the doctor-year's
 * stream `declaration-<rpps>-<year>` because they change its entitlement.
 */
interface ControlRef {
  controlId: string;
  rpps: string;
  year: number;
}

export interface ControlOpened {
  type: 'ControlOpened';
  data: ControlRef & { indicators: IndicatorCode[]; reason: string };
}
export interface ControlEvidenceRequested {
  type: 'ControlEvidenceRequested';
  data: ControlRef & { items: string[]; dueAt: string };
}
export interface ControlFindingRecorded {
  type: 'ControlFindingRecorded';
  data: ControlRef & { indicator: IndicatorCode; outcome: 'confirmed' | 'invalidated'; reason: string };
}
export interface ControlClosed {
  type: 'ControlClosed';
  data: ControlRef & {
    paidCents: number;
    recomputedAmountCents: number;
    /** negative: an indu to recover; positive: a complement to pay. */
    balanceCents: number;
    notification: 'recovery' | 'complement' | 'none';
  };
}
export interface ContestationFiled {
  type: 'ContestationFiled';
  data: ControlRef & { reason: string };
}
export interface ContestationDecided {
  type: 'ContestationDecided';
  /** `reason`: why the caisse decided so (the decision's motivation, kept with the event when given). */
  data: ControlRef & { outcome: 'upheld' | 'reversed'; indicators: IndicatorCode[]; reason?: string };
}

export type ControlEvent = ControlOpened | ControlEvidenceRequested | ControlFindingRecorded | ControlClosed | ContestationFiled | ContestationDecided;
