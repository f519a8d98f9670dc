import { Inject, Injectable } from '@nestjs/common';
import { HASH_ALGORITHM_DESCRIPTION, defaultUpcasters, type RecordedEvent } from '@forfait/events';
import { Rational, campaignFrom, computeEntitlement, declarationFrom, findRuleset, toEntitlementView, type Entitlement, type KnownEvent } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import { verifyEvents } from '@forfait/store';
import { exportEvent } from '../core/campaign-context';
import { rulesetHash } from '../core/entitlement.service';
import { StreamReader } from '../core/stream-reader';
import { RUNTIME } from '../runtime.token';

export const BUNDLE_FORMAT = 'forfait-structure-audit-bundle/1';


/**
 * The audit bundle of a doctor-year: everything an investigator needs, verifiable without this
 * software (the hashing is described in prose, the chains are complete from revision 0).
 */
@Injectable()
export class AuditBundleService {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(StreamReader) private readonly reader: StreamReader,
  ) {}

  async build(rpps: string, year: number, knownAt: string | undefined, generatedBy: string) {
    const at = knownAt ?? this.runtime.clock.now().toISOString();
    const [campaign, doctor, declaration, earlierRaw] = await Promise.all([
      this.reader.campaign(year),
      this.reader.doctor(rpps),
      this.reader.declaration(rpps, year),
      Promise.all(Array.from({ length: Math.max(0, year - 2017) }, (_, i) => this.reader.declaration(rpps, 2017 + i))),
    ]);
    const known = (list: RecordedEvent[]) => list.filter((e) => Date.parse(e.metadata.recordedAt) <= Date.parse(at));
    const streamsOut = [campaign, doctor, declaration].map((s) => ({ streamId: s.raw[0]?.streamId ?? null, events: known(s.raw).map(exportEvent) })).filter((s) => s.streamId !== null);
    const all = [...known(campaign.raw), ...known(doctor.raw), ...known(declaration.raw)].sort((a, b) => (a.position < b.position ? -1 : 1));
    const up = (list: RecordedEvent[]) => known(list).map((e) => defaultUpcasters.upcast(e) as KnownEvent);
    const state = campaignFrom(up(campaign.raw));
    const ruleset = state.status === 'none' ? undefined : findRuleset(state.ruleset, state.rulesetVersion);
    const earlier = earlierRaw.flatMap((s) => up(s.raw));
    const entitlementAt = (instant: string): Entitlement | null =>
      ruleset
        ? computeEntitlement({ rpps, year, ruleset, knownAt: instant, campaign: up(campaign.raw), doctor: up(doctor.raw), declaration: up(declaration.raw), earlier })
        : null;

    // The entitlement timeline: after each event, what changed and which event changed it.
    const timeline: { at: string; eventId: string; type: string; totalPoints: number; amountCents: number; paidCents: number; balanceCents: number; changed: { code: string; met: boolean; points?: number; reason: string }[] }[] = [];
    let previous = new Map<string, string>();
    for (const e of all) {
      const ent = entitlementAt(e.metadata.recordedAt);
      if (!ent) continue;
      const view = toEntitlementView(ent);
      const indicators = [...view.volet1.indicators, ...view.volet2.indicators];
      const now = new Map(indicators.map((i) => [i.code, JSON.stringify([i.met, 'points' in i ? i.points : null, i.reason])]));
      const changed = indicators
        .filter((i) => previous.get(i.code) !== now.get(i.code))
        .map((i) => ({ code: i.code, met: i.met, ...('points' in i ? { points: i.points as number } : {}), reason: i.reason }));
      const last = timeline[timeline.length - 1];
      if (changed.length > 0 || !last || last.amountCents !== view.amountCents || last.paidCents !== view.paidCents) {
        timeline.push({ at: e.metadata.recordedAt, eventId: e.eventId, type: e.type, totalPoints: view.totalPoints, amountCents: view.amountCents, paidCents: view.paidCents, balanceCents: view.balanceCents, changed });
      }
      previous = now;
    }

    const final = entitlementAt(at);
    const byId = new Map(all.map((e) => [e.eventId, e]));
    const volet1 = final && ruleset ? { met: final.volet1.met, points: final.volet1.points.toDecimal(3), euros: Number(final.volet1.points.mul(Rational.of(ruleset.pointValueCents)).roundHalfUp()) / 100, rule: 'volet 1 : tous les prérequis atteints, ou 0 point et volet 2 non rémunéré (guide §I)' } : null;
    const explanation = final
      ? [...final.volet1.indicators, ...final.volet2.indicators].map((i) => ({
          code: i.code,
          volet: i.volet,
          label: i.label,
          met: i.met,
          points: i.points.toDecimal(3),
          pointsExact: i.points.toString(),
          // Display only: the amount is rounded once, from the exact total, not per indicator.
          euros: i.volet === 2 && ruleset ? Number(i.points.mul(Rational.of(ruleset.pointValueCents)).roundHalfUp()) / 100 : null,
          reason: i.reason,
          rule: i.rule,
          evidence: i.evidence.map((id) => ({ eventId: id, type: byId.get(id)?.type ?? null, recordedAt: byId.get(id)?.metadata.recordedAt ?? null, effectiveAt: byId.get(id)?.metadata.effectiveAt ?? null })),
        }))
      : [];
    const controls = Object.entries(declarationFrom(up(declaration.raw)).controls).map(([controlId, c]) => ({ controlId, ...c }));
    const verification = verifyEvents(all);
    return {
      format: BUNDLE_FORMAT,
      generatedAt: this.runtime.clock.now().toISOString(),
      generatedBy,
      rpps,
      year,
      knownAt: at,
      ruleset: ruleset ? { id: ruleset.id, version: ruleset.version, hash: rulesetHash(ruleset), amendments: state.status === 'none' ? [] : state.amendments } : null,
      hashing: {
        algorithm: 'SHA-256 over prevHash followed by RFC 8785 canonical JSON',
        description: HASH_ALGORITHM_DESCRIPTION,
        genesisPrevHash: '0'.repeat(64),
        verifier: 'scripts/verify-bundle.mjs (Node.js, no dependency): node scripts/verify-bundle.mjs bundle.json',
      },
      verification: { ...verification, checkedAt: this.runtime.clock.now().toISOString() },
      entitlement: final ? toEntitlementView(final) : null,
      explanation: { pointValueCents: ruleset?.pointValueCents ?? null, volet1, indicators: explanation, totalPointsExact: final?.totalPoints.toString() ?? null, amountCents: final?.amountCents ?? null },
      timeline,
      controls,
      streams: streamsOut,
    };
  }
}
