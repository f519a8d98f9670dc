import type { Entitlement, IndicatorResult } from './entitlement';

/** The entitlement as api.md serves it: points exact to 0.001, amounts in integer cents. */
export interface EntitlementView {
  rpps: string;
  year: number;
  ruleset: string;
  rulesetVersion: string;
  knownAt: string;
  volet1: { met: boolean; points: number; indicators: { code: string; met: boolean; reason: string; evidence: string[] }[] };
  volet2: { points: number; indicators: { code: string; met: boolean; points: number; reason: string; evidence: string[] }[] };
  totalPoints: number;
  /** The exact total as a fraction, for audits ("318" or "87547/278"). */
  totalPointsExact: string;
  amountCents: number;
  paidCents: number;
  balanceCents: number;
}

const v1 = (r: IndicatorResult) => ({ code: r.code, met: r.met, reason: r.reason, evidence: r.evidence });
const v2 = (r: IndicatorResult) => ({ code: r.code, met: r.met, points: r.points.toDecimal(3), reason: r.reason, evidence: r.evidence });

export function toEntitlementView(e: Entitlement): EntitlementView {
  return {
    rpps: e.rpps,
    year: e.year,
    ruleset: e.ruleset,
    rulesetVersion: e.rulesetVersion,
    knownAt: e.knownAt,
    volet1: { met: e.volet1.met, points: e.volet1.points.toDecimal(3), indicators: e.volet1.indicators.map(v1) },
    volet2: { points: e.volet2.points.toDecimal(3), indicators: e.volet2.indicators.map(v2) },
    totalPoints: e.totalPoints.toDecimal(3),
    totalPointsExact: e.totalPoints.toString(),
    amountCents: e.amountCents,
    paidCents: e.paidCents,
    balanceCents: e.balanceCents,
  };
}
