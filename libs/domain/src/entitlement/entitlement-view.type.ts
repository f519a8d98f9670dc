// The entitlement as api.md serves it. This file imports nothing: the console (a browser bundle
// with a compiler of its own) imports these types too.

export interface Volet1IndicatorView {
  code: string;
  met: boolean;
  reason: string;
  /** Ids of the events that decided it. */
  evidence: string[];
}
export interface Volet2IndicatorView extends Volet1IndicatorView {
  points: number;
}

/** The entitlement as api.md serves it: points exact to 0.001, amounts in integer cents. */
export interface EntitlementView {
  rpps: string;
  year: number;
  ruleset: string;
  rulesetVersion: string;
  knownAt: string;
  volet1: { met: boolean; points: number; indicators: Volet1IndicatorView[] };
  volet2: { points: number; indicators: Volet2IndicatorView[] };
  eligibility: { eligible: boolean; reason?: string };
  totalPoints: number;
  /** The exact total as a fraction, for audits ("318" or "87547/278"). */
  totalPointsExact: string;
  amountCents: number;
  paidCents: number;
  balanceCents: number;
}
