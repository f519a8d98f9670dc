import type { EventMetadata } from '@forfait/events';
import type { Amendment, ControlState, EntitlementView, Volet1Rule, Volet2Rule } from '@forfait/domain';

/**
 * The audit bundle of a doctor-year (issue 12.3, issue 15.5): the declared type the service builds,
 * the PDF reads and `docs/audit-bundle.schema.json` describes (served at /v1/schemas/audit-bundle.json).
 */
export const BUNDLE_FORMAT = 'forfait-structure-audit-bundle/2';

/** An event as exported: the hashed record, its chain hash and its global position. */
export interface BundleEvent {
  eventId: string;
  streamId: string;
  revision: number;
  /** The store's global position, in decimal. */
  position: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: BundleEventMetadata;
  prevHash: string;
  hash: string;
}

/** recordedAt, effectiveAt, actor, channel, correlation ids (the store's metadata). */
export type BundleEventMetadata = EventMetadata;

export interface BundleStream {
  streamId: string;
  events: BundleEvent[];
}

export interface BundleTimelineStep {
  at: string;
  eventId: string;
  type: string;
  totalPoints: number;
  amountCents: number;
  paidCents: number;
  balanceCents: number;
  changed: { code: string; met: boolean; points?: number; reason: string }[];
}

export interface BundleEvidence {
  eventId: string;
  type: string | null;
  recordedAt: string | null;
  effectiveAt: string | null;
}

export interface BundleIndicator {
  code: string;
  volet: 1 | 2;
  label: string;
  met: boolean;
  points: number;
  pointsExact: string;
  /** Display only: the amount is rounded once, from the exact total. */
  euros: number | null;
  reason: string;
  rule: Volet1Rule | Volet2Rule;
  evidence: BundleEvidence[];
}

export interface BundleExplanation {
  pointValueCents: number | null;
  volet1: { met: boolean; points: number; euros: number; rule: string } | null;
  indicators: BundleIndicator[];
  totalPointsExact: string | null;
  amountCents: number | null;
}

export interface BundleFinding {
  indicator: string;
  outcome: 'confirmed' | 'invalidated';
  reason: string;
  recordedAt: string;
}

export type BundleControl = ControlState & {
  controlId: string;
  /** The reason the control was opened. */
  reason: string | null;
  findingsDetail: BundleFinding[];
  /** The amounts of the notification (ControlClosed). */
  closure: { paidCents: number; recomputedAmountCents: number; balanceCents: number } | null;
  /** Last instant the notification can be contested (closedAt + the ruleset's months). */
  contestationUntil: string | null;
};

export interface BundlePayment {
  eventId: string;
  amountCents: number;
  paidAt: string;
  reference: string | null;
  recordedAt: string;
}

export interface BundleDoctor {
  rpps: string;
  /** The doctor's name, when the profile has one (an extension of api.md). */
  name?: string;
  specialty: string;
  specialtyLabel: string;
  caisse: string;
  /** The CPAM's name by its code (libs/events' referential), when it names it. */
  caisseName?: string;
  department: string;
}

/** An event's RFC 6962 inclusion proof against the bundle's checkpoint (base64, as the log serves them). */
export interface BundleInclusion {
  eventId: string;
  position: string;
  leafIndex: number;
  /** The leaf's bytes (RFC 8785 JSON of position, streamId, revision, type, both times, hash, dataSha256), base64. */
  leaf: string;
  /** The audit path, the leaf's neighbour first, base64. */
  proof: string[];
}

export interface BundleLog {
  origin: string;
  /** The log's signed-note verifier key (also the key of the bundle's signature). */
  vkey: string;
  /** The witnesses' cosignature/v1 keys. */
  witnesses: string[];
  /** `included`: every event has its proof; `pending`: the sealer had not reached them (reason says). */
  status: 'included' | 'pending';
  reason: string | null;
  checkpoint: { treeSize: number; rootHash: string; signedAt: string; note: string; cosignatures: number } | null;
  inclusion: BundleInclusion[];
}

export interface BundleSignature {
  algorithm: 'Ed25519';
  /** What is signed: the RFC 8785 JSON of the bundle without `signature`. */
  over: 'RFC 8785 JSON of the bundle without "signature"';
  keyName: string;
  /** The signed-note key id (8 hex) of `log.vkey`. */
  keyId: string;
  /** base64 */
  value: string;
}

export interface AuditBundle {
  format: typeof BUNDLE_FORMAT;
  /** The document reference printed on the PDF. */
  reference: string;
  generatedAt: string;
  generatedBy: string;
  rpps: string;
  year: number;
  knownAt: string;
  doctor: BundleDoctor | null;
  ruleset: { id: string; version: string; hash: string; amendments: Amendment[] } | null;
  hashing: { algorithm: string; description: string; genesisPrevHash: string; verifier: string };
  verification: { ok: boolean; streams: number; events: number; checkedAt: string; [key: string]: unknown };
  entitlement: EntitlementView | null;
  explanation: BundleExplanation;
  timeline: BundleTimelineStep[];
  controls: BundleControl[];
  payments: BundlePayment[];
  streams: BundleStream[];
  log: BundleLog;
  signature: BundleSignature;
}

export type UnsignedAuditBundle = Omit<AuditBundle, 'signature'>;

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const nullable = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });
const obj = (properties: Record<string, object>, required: string[] = Object.keys(properties), additional = false) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: additional,
});
const arr = (items: object) => ({ type: 'array', items });
const hex64 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const b64 = { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' } as const;

/** JSON Schema (2020-12) of the audit bundle, served and written to docs/audit-bundle.schema.json. */
export const AUDIT_BUNDLE_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://forfait-structure.example/v1/schemas/audit-bundle.json',
  title: 'Dossier d’audit — forfait structure (format 2)',
  description:
    'An audit bundle of a doctor-year: events with hash chains and RFC 6962 inclusion proofs against a signed checkpoint, the computed entitlement, its explanation and timeline, signed with the log’s Ed25519 key over the RFC 8785 JSON of the bundle without "signature". Checked offline by scripts/verify-bundle.mjs.',
  type: 'object',
  additionalProperties: false,
  required: [
    'format',
    'reference',
    'generatedAt',
    'generatedBy',
    'rpps',
    'year',
    'knownAt',
    'doctor',
    'ruleset',
    'hashing',
    'verification',
    'entitlement',
    'explanation',
    'timeline',
    'controls',
    'payments',
    'streams',
    'log',
    'signature',
  ],
  properties: {
    format: { const: BUNDLE_FORMAT },
    reference: str,
    generatedAt: { type: 'string', format: 'date-time' },
    generatedBy: str,
    rpps: { type: 'string', pattern: '^[0-9]{11}$' },
    year: int,
    knownAt: { type: 'string', format: 'date-time' },
    doctor: nullable(
      obj({ rpps: str, name: str, specialty: str, specialtyLabel: str, caisse: str, caisseName: str, department: str }, [
        'rpps',
        'specialty',
        'specialtyLabel',
        'caisse',
        'department',
      ]),
    ),
    ruleset: nullable(obj({ id: str, version: str, hash: str, amendments: arr({ type: 'object' }) })),
    hashing: obj({ algorithm: str, description: str, genesisPrevHash: hex64, verifier: str }),
    verification: { type: 'object', required: ['ok', 'streams', 'events', 'checkedAt'], properties: { ok: bool, streams: int, events: int, checkedAt: str } },
    entitlement: nullable({
      type: 'object',
      required: ['totalPoints', 'totalPointsExact', 'amountCents', 'paidCents', 'balanceCents', 'volet1', 'volet2'],
      properties: {
        totalPoints: num,
        totalPointsExact: str,
        amountCents: int,
        paidCents: int,
        balanceCents: int,
        volet1: { type: 'object' },
        volet2: { type: 'object' },
      },
    }),
    explanation: obj({
      pointValueCents: nullable(int),
      volet1: nullable(obj({ met: bool, points: num, euros: num, rule: str })),
      indicators: arr(
        obj({
          code: str,
          volet: { enum: [1, 2] },
          label: str,
          met: bool,
          points: num,
          pointsExact: str,
          euros: nullable(num),
          reason: str,
          rule: { type: 'object', description: 'the rule as implemented (kind, points, target, provenance)' },
          evidence: arr(obj({ eventId: str, type: nullable(str), recordedAt: nullable(str), effectiveAt: nullable(str) })),
        }),
      ),
      totalPointsExact: nullable(str),
      amountCents: nullable(int),
    }),
    timeline: arr(
      obj({
        at: str,
        eventId: str,
        type: str,
        totalPoints: num,
        amountCents: int,
        paidCents: int,
        balanceCents: int,
        changed: arr(obj({ code: str, met: bool, points: num, reason: str }, ['code', 'met', 'reason'])),
      }),
    ),
    controls: arr({
      type: 'object',
      required: ['controlId', 'status', 'indicators', 'openedAt', 'findings', 'findingsDetail', 'closure', 'contestationUntil'],
      properties: {
        controlId: str,
        status: { enum: ['open', 'closed'] },
        reason: nullable(str),
        indicators: arr(str),
        openedAt: str,
        closedAt: str,
        notification: { enum: ['recovery', 'complement', 'none'] },
        findings: { type: 'object', additionalProperties: { enum: ['confirmed', 'invalidated'] } },
        findingsDetail: arr(obj({ indicator: str, outcome: { enum: ['confirmed', 'invalidated'] }, reason: str, recordedAt: str })),
        closure: nullable(obj({ paidCents: int, recomputedAmountCents: int, balanceCents: int })),
        contestationUntil: nullable(str),
        contestation: {
          type: 'object',
          required: ['status', 'filedAt'],
          properties: { status: { enum: ['filed', 'decided'] }, filedAt: str, outcome: { enum: ['upheld', 'reversed'] }, decidedAt: str },
        },
      },
    }),
    payments: arr(obj({ eventId: str, amountCents: int, paidAt: str, reference: nullable(str), recordedAt: str })),
    streams: arr(
      obj({
        streamId: str,
        events: arr(
          obj({
            eventId: str,
            streamId: str,
            revision: { type: 'integer', minimum: 0 },
            position: { type: 'string', pattern: '^[1-9][0-9]*$' },
            type: str,
            schemaVersion: int,
            data: {},
            metadata: { type: 'object', required: ['recordedAt', 'effectiveAt', 'actor', 'channel'] },
            prevHash: hex64,
            hash: hex64,
          }),
        ),
      }),
    ),
    log: obj({
      origin: str,
      vkey: str,
      witnesses: arr(str),
      status: { enum: ['included', 'pending'] },
      reason: nullable(str),
      checkpoint: nullable(obj({ treeSize: int, rootHash: b64, signedAt: str, note: str, cosignatures: int })),
      inclusion: arr(obj({ eventId: str, position: str, leafIndex: int, leaf: b64, proof: arr(b64) })),
    }),
    signature: obj({
      algorithm: { const: 'Ed25519' },
      over: { const: 'RFC 8785 JSON of the bundle without "signature"' },
      keyName: str,
      keyId: { type: 'string', pattern: '^[0-9a-f]{8}$' },
      value: b64,
    }),
  },
} as const;
