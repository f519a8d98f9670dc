import { Inject, Injectable } from '@nestjs/common';
import { HASH_ALGORITHM_DESCRIPTION, caisseName, canonicalJson, defaultUpcasters, type DoctorProfileRecorded, type RecordedEvent } from '@forfait/events';
import {
  Rational,
  addMonths,
  computeEntitlement,
  declarationFrom,
  specialtyLabel,
  yearsBefore,
  toEntitlementView,
  type Entitlement,
  type KnownEvent,
} from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import { TransparencyLog, verifyEvents } from '@forfait/store';
import { DoctorYearReader, resolveCampaign, rulesetHash } from '@forfait/application';
import { exportEvent } from '../core/export-event';
import { explainIndicators } from './explain';
import { RUNTIME } from '../runtime.token';
import {
  BUNDLE_FORMAT,
  type AuditBundle,
  type BundleControl,
  type BundleDoctor,
  type BundleLog,
  type BundlePayment,
  type BundleTimelineStep,
  type UnsignedAuditBundle,
} from './bundle';

export { BUNDLE_FORMAT } from './bundle';

/** How long a bundle waits for the sealer to reach its events before saying they are not sealed yet. */
const SEAL_WAIT_MS = 5000;

type Upcast = { raw: RecordedEvent; event: KnownEvent };

/**
 * The audit bundle of a doctor-year: everything an investigator needs, verifiable without this
 * software (hash chains complete from revision 0, every event's inclusion proof against a signed
 * checkpoint, the whole signed with the log's key).
 */
@Injectable()
export class AuditBundleService {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(DoctorYearReader) private readonly reader: DoctorYearReader,
  ) {}

  async build(rpps: string, year: number, knownAt: string | undefined, generatedBy: string): Promise<AuditBundle> {
    const at = knownAt ?? this.runtime.clock.now().toISOString();
    const atMs = Date.parse(at);
    const [campaign, doctor, declaration, earlierRaw, earlierCampaigns] = await Promise.all([
      this.reader.campaign(year),
      this.reader.doctor(rpps),
      this.reader.declaration(rpps, year),
      Promise.all(yearsBefore(year).map((y) => this.reader.declaration(rpps, y))),
      this.reader.earlierCampaigns(year),
    ]);
    // Each event upcast once, the known ones only.
    const up = (list: RecordedEvent[]): Upcast[] =>
      list.filter((e) => Date.parse(e.metadata.recordedAt) <= atMs).map((raw) => ({ raw, event: defaultUpcasters.upcast(raw) }));
    const c = up(campaign.raw);
    const d = up(doctor.raw);
    const decl = up(declaration.raw);
    const events = (list: Upcast[]) => list.map((u) => u.event);
    const campaignEvents = events(c);
    const doctorEvents = events(d);
    const declarationEvents = events(decl);
    const earlier = earlierRaw.flatMap((s) => events(up(s.raw)));
    const streamsOut = [c, d, decl].filter((s) => s.length > 0).map((s) => ({ streamId: s[0]!.raw.streamId, events: s.map((u) => exportEvent(u.raw)) }));
    const all = [...c, ...d, ...decl].map((u) => u.raw).sort((a, b) => (a.position < b.position ? -1 : 1));

    const { campaign: state, base: ruleset } = resolveCampaign(campaignEvents);
    // The same pure function, once per distinct recorded instant (it keeps the events known then).
    const memo = new Map<string, Entitlement | null>();
    const entitlementAt = (instant: string): Entitlement | null => {
      let ent = memo.get(instant);
      if (ent === undefined) {
        ent = ruleset
          ? computeEntitlement({
              rpps,
              year,
              ruleset,
              knownAt: instant,
              campaign: campaignEvents,
              doctor: doctorEvents,
              declaration: declarationEvents,
              earlier,
              earlierCampaigns,
            })
          : null;
        memo.set(instant, ent);
      }
      return ent;
    };

    // The entitlement timeline, in one pass: after each event, what changed and which event changed it.
    const timeline: BundleTimelineStep[] = [];
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
        timeline.push({
          at: e.metadata.recordedAt,
          eventId: e.eventId,
          type: e.type,
          totalPoints: view.totalPoints,
          amountCents: view.amountCents,
          paidCents: view.paidCents,
          balanceCents: view.balanceCents,
          changed,
        });
      }
      previous = now;
    }

    const final = entitlementAt(at);
    const byId = new Map(all.map((e) => [e.eventId, e]));
    const volet1 =
      final && ruleset
        ? {
            met: final.volet1.met,
            points: final.volet1.points.toDecimal(3),
            euros: Number(final.volet1.points.mul(Rational.of(ruleset.pointValueCents)).roundHalfUp()) / 100,
            rule: 'volet 1 : tous les prérequis atteints, ou 0 point et volet 2 non rémunéré (guide §I)',
          }
        : null;
    const explanation = final
      ? explainIndicators(final, ruleset?.pointValueCents, byId).map(({ euroCents, evidence, ...i }) => ({
          ...i,
          // Display only: the amount is rounded once, from the exact total, not per indicator.
          euros: euroCents === null ? null : euroCents / 100,
          evidence: evidence.map(({ channel: _channel, ...e }) => e),
        }))
      : [];

    const controls: BundleControl[] = Object.entries(declarationFrom(declarationEvents).controls).map(([controlId, ctl]) => {
      const mine = declarationEvents.filter((e) => (e.data as { controlId?: string }).controlId === controlId);
      const opened = mine.find((e) => e.type === 'ControlOpened');
      const closed = mine.find((e) => e.type === 'ControlClosed');
      return {
        ...ctl,
        controlId,
        reason: opened?.type === 'ControlOpened' ? opened.data.reason : null,
        findingsDetail: mine.flatMap((e) =>
          e.type === 'ControlFindingRecorded'
            ? [{ indicator: e.data.indicator, outcome: e.data.outcome, reason: e.data.reason, recordedAt: e.metadata.recordedAt }]
            : [],
        ),
        closure:
          closed?.type === 'ControlClosed'
            ? { paidCents: closed.data.paidCents, recomputedAmountCents: closed.data.recomputedAmountCents, balanceCents: closed.data.balanceCents }
            : null,
        contestationUntil: ctl.status === 'closed' && ruleset ? new Date(addMonths(ctl.closedAt, ruleset.controls.contestationMonths)).toISOString() : null,
      };
    });
    const payments: BundlePayment[] = declarationEvents.flatMap((e) =>
      e.type === 'PaymentRecorded'
        ? [
            {
              eventId: e.eventId,
              amountCents: e.data.amountCents,
              paidAt: e.data.paidAt,
              reference: e.data.reference ?? null,
              recordedAt: e.metadata.recordedAt,
            },
          ]
        : [],
    );
    const profile = [...doctorEvents].reverse().find((e) => e.type === 'DoctorProfileRecorded');
    const doctorOut: BundleDoctor | null = profile?.type === 'DoctorProfileRecorded' ? doctorOfProfile(rpps, profile.data) : null;

    const generatedAt = this.runtime.clock.now().toISOString();
    const verification = verifyEvents(all);
    const unsigned: UnsignedAuditBundle = {
      format: BUNDLE_FORMAT,
      reference: `DA-${year}-${rpps}-${generatedAt.replace(/[-:T]/g, '').slice(0, 14)}`,
      generatedAt,
      generatedBy,
      rpps,
      year,
      knownAt: at,
      doctor: doctorOut,
      ruleset: ruleset ? { id: ruleset.id, version: ruleset.version, hash: rulesetHash(ruleset), amendments: state?.amendments ?? [] } : null,
      hashing: {
        algorithm: 'SHA-256 over prevHash followed by RFC 8785 canonical JSON',
        description: HASH_ALGORITHM_DESCRIPTION,
        genesisPrevHash: '0'.repeat(64),
        verifier: 'node scripts/verify-bundle.mjs bundle.json --vkey <clé publique du journal, GET /v1/log/public-key>',
      },
      verification: { ...verification, checkedAt: generatedAt },
      entitlement: final ? toEntitlementView(final) : null,
      explanation: {
        pointValueCents: ruleset?.pointValueCents ?? null,
        volet1,
        indicators: explanation,
        totalPointsExact: final?.totalPoints.toString() ?? null,
        amountCents: final?.amountCents ?? null,
      },
      timeline,
      controls,
      payments,
      streams: streamsOut,
      log: await this.proofs(all),
    };
    // What is signed is exactly what is served: the JSON of the bundle, canonicalised (RFC 8785).
    const body = JSON.parse(JSON.stringify(unsigned)) as UnsignedAuditBundle;
    const log = this.runtime.log;
    return {
      ...body,
      signature: {
        algorithm: 'Ed25519',
        over: 'RFC 8785 JSON of the bundle without "signature"',
        keyName: log.verifier.name,
        keyId: log.verifier.keyId.toString('hex'),
        value: log.signDetached(canonicalJson(body)),
      },
    };
  }

  /** Every event's inclusion proof against the latest cosigned (else signed) checkpoint that covers them all. */
  private async proofs(all: RecordedEvent[]): Promise<BundleLog> {
    const log = this.runtime.log;
    const base = { origin: log.origin, vkey: log.vkey, witnesses: await log.witnessKeys() };
    if (all.length === 0) return { ...base, status: 'included', reason: null, checkpoint: null, inclusion: [] };
    const last = all.reduce((m, e) => (e.position > m ? e.position : m), 0n);
    const deadline = Date.now() + SEAL_WAIT_MS;
    while ((await log.state()).lastPosition < last) {
      if (Date.now() > deadline) {
        return {
          ...base,
          status: 'pending',
          reason: `le journal n’avait pas encore scellé la position ${last} après ${SEAL_WAIT_MS / 1000} s : preuves d’inclusion absentes, à redemander`,
          checkpoint: null,
          inclusion: [],
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const leaves = await log.leavesAt(all.map((e) => e.position));
    const maxIndex = Math.max(...[...leaves.values()].map((l) => l.leafIndex));
    // A checkpoint a witness has cosigned when one covers the events (a split view then needs the
    // witness fooled too), else the latest signed one.
    let checkpoint = (await log.latestCosignedCheckpoint(maxIndex + 1)) ?? (await log.latestCheckpoint());
    // Sealed but not yet signed (N events or T seconds not reached): the log signs its sealed size now.
    if (!checkpoint || checkpoint.size <= maxIndex) {
      await log.signIfDue(undefined, true);
      checkpoint = await log.latestCheckpoint();
    }
    if (!checkpoint || checkpoint.size <= maxIndex)
      return { ...base, status: 'pending', reason: 'aucun point de contrôle signé ne couvre encore ces événements', checkpoint: null, inclusion: [] };
    const inclusion = [];
    for (const e of all) {
      const leaf = leaves.get(e.position.toString());
      if (!leaf)
        return {
          ...base,
          status: 'pending',
          reason: `l’événement ${e.eventId} (position ${e.position}) n’est pas dans le journal`,
          checkpoint: null,
          inclusion: [],
        };
      const proof = await log.inclusionProof(leaf.leafIndex, checkpoint.size);
      inclusion.push({
        eventId: e.eventId,
        position: leaf.position,
        leafIndex: leaf.leafIndex,
        leaf: Buffer.from(leaf.leaf, 'utf8').toString('base64'),
        proof: proof.map((h) => h.toString('base64')),
      });
    }
    return {
      ...base,
      status: 'included',
      reason: null,
      checkpoint: {
        treeSize: checkpoint.size,
        rootHash: checkpoint.rootHash.toString('base64'),
        signedAt: checkpoint.signedAt,
        note: TransparencyLog.served(checkpoint),
        cosignatures: checkpoint.cosignatures.length,
      },
      inclusion,
    };
  }
}

/** The bundle's doctor: the profile's fields, with the name and the caisse's name when known. */
function doctorOfProfile(rpps: string, p: DoctorProfileRecorded['data']): BundleDoctor {
  const named = caisseName(p.caisse);
  return {
    rpps,
    ...(p.name ? { name: p.name } : {}),
    specialty: p.specialty,
    specialtyLabel: specialtyLabel(p.specialty),
    caisse: p.caisse,
    ...(named ? { caisseName: named } : {}),
    department: p.department,
  };
}
