import type { Entitlement, IndicatorResult } from './entitlement';
import type { EntitlementView } from './entitlement-view.type';

export type { EntitlementView, Volet1IndicatorView, Volet2IndicatorView } from './entitlement-view.type';

const v1 = (r: IndicatorResult): EntitlementView['volet1']['indicators'][number] => ({ code: r.code, met: r.met, reason: r.reason, evidence: r.evidence });
const v2 = (r: IndicatorResult): EntitlementView['volet2']['indicators'][number] => ({
  code: r.code,
  met: r.met,
  points: r.points.toDecimal(3),
  reason: r.reason,
  evidence: r.evidence,
});

export function toEntitlementView(e: Entitlement): EntitlementView {
  return {
    rpps: e.rpps,
    year: e.year,
    ruleset: e.ruleset,
    rulesetVersion: e.rulesetVersion,
    knownAt: e.knownAt,
    volet1: { met: e.volet1.met, points: e.volet1.points.toDecimal(3), indicators: e.volet1.indicators.map(v1) },
    volet2: { points: e.volet2.points.toDecimal(3), indicators: e.volet2.indicators.map(v2) },
    eligibility: { eligible: e.eligibility.eligible, ...(e.eligibility.reason ? { reason: e.eligibility.reason } : {}) },
    totalPoints: e.totalPoints.toDecimal(3),
    totalPointsExact: e.totalPoints.toString(),
    amountCents: e.amountCents,
    paidCents: e.paidCents,
    balanceCents: e.balanceCents,
  };
}
