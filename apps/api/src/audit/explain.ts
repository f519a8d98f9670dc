import { Rational, type Entitlement, type IndicatorResult } from '@forfait/domain';
import type { RecordedEvent } from '@forfait/events';

/** One indicator's explanation, as the explanation endpoint and the audit bundle both give it. */
export interface IndicatorExplained {
  code: string;
  volet: 1 | 2;
  label: string;
  met: boolean;
  points: number;
  pointsExact: string;
  /** Volet 2 only (volet 1 is a gate): display only, the amount is rounded once from the exact total. */
  euroCents: number | null;
  reason: string;
  rule: IndicatorResult['rule'];
  evidence: { eventId: string; type: string | null; recordedAt: string | null; effectiveAt: string | null; channel: string | null }[];
}

/**
 * Why each euro is due, per indicator: its rule, points, euros (guide 2023 §III: a point is worth
 * `pointValueCents`; none known: null) and the events that decided it, looked up in `byId`.
 */
export function explainIndicators(
  entitlement: Entitlement,
  pointValueCents: number | undefined,
  byId: ReadonlyMap<string, RecordedEvent>,
): IndicatorExplained[] {
  return [...entitlement.volet1.indicators, ...entitlement.volet2.indicators].map((i) => ({
    code: i.code,
    volet: i.volet,
    label: i.label,
    met: i.met,
    points: i.points.toDecimal(3),
    pointsExact: i.points.toString(),
    euroCents: i.volet === 2 && pointValueCents !== undefined ? Number(i.points.mul(Rational.of(pointValueCents)).roundHalfUp()) : null,
    reason: i.reason,
    rule: i.rule,
    evidence: i.evidence.map((id) => {
      const e = byId.get(id);
      return {
        eventId: id,
        type: e?.type ?? null,
        recordedAt: e?.metadata.recordedAt ?? null,
        effectiveAt: e?.metadata.effectiveAt ?? null,
        channel: e?.metadata.channel ?? null,
      };
    }),
  }));
}
