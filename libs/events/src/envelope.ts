import { InvalidEventError } from './errors';

/** How a fact reached the caisse (architecture.md, "Events"). */
export const CHANNELS = ['amelipro', 'paper', 'back-office', 'import', 'system'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The roles of the security model (a witness only cosigns the log's checkpoints) (architecture.md, "Security"). */
export const ROLES = ['doctor', 'agent', 'controller', 'auditor', 'admin', 'system', 'witness'] as const;
export type Role = (typeof ROLES)[number];

/** Who did it, as the token said. */
export interface Actor {
  sub: string;
  role: Role;
  /** 3-digit CPAM code for agents and controllers. */
  caisse?: string;
  /** RPPS for doctors. */
  rpps?: string;
}

/** Envelope metadata set at the boundary (command handler or store), never inside domain data. */
export interface EventMetadata {
  /** System time at which the store recorded the event; set by the store, never by the caller. */
  recordedAt: string;
  /** Business time: when the thing happened (the declaration made, the paper form received). */
  effectiveAt: string;
  actor: Actor;
  /** Set when an agent keys in for a doctor. */
  onBehalfOf?: { rpps: string };
  channel: Channel;
  correlationId: string;
  /** The event or command id that caused this one; null for a first cause. */
  causationId: string | null;
  legalBasis?: string;
}

/** What a writer hands to the store: everything but the store-assigned fields. */
export interface NewEvent<T extends string = string, D = unknown> {
  eventId: string;
  type: T;
  schemaVersion: number;
  data: D;
  metadata: Omit<EventMetadata, 'recordedAt'>;
}

/** An event as the store keeps it; `position` is the global, gap-free order of the store. */
export interface RecordedEvent<T extends string = string, D = unknown> {
  eventId: string;
  streamId: string;
  /** 0-based revision of the event within its stream. */
  revision: number;
  position: bigint;
  type: T;
  schemaVersion: number;
  data: D;
  metadata: EventMetadata;
  prevHash: string;
  hash: string;
}

const INSTANT_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STREAM_ID = /^[a-z][a-z0-9]*(-[A-Za-z0-9_.:]+)+$/;

export function isInstantWithOffset(value: string): boolean {
  return INSTANT_WITH_OFFSET.test(value) && !Number.isNaN(Date.parse(value)) && isCalendarDate(value.slice(0, 10));
}

/** YYYY-MM-DD that exists in the calendar (Date.parse would roll 2024-02-31 over to March). */
export function isCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** The stored form of an instant: UTC, milliseconds (`Date.prototype.toISOString`). */
const STORED_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Normalises an ISO-8601 instant with offset to UTC with milliseconds (the stored form). */
export function normaliseInstant(value: string, field = 'instant'): string {
  // Already in the stored form (what the system itself writes, on every event it appends): its own
  // normal form when Date reads it back the same; a date that rolls over (2024-02-31) does not.
  // Years 0–99 take the full check below, which refuses them (Date.UTC reads them as 1900–1999).
  if (typeof value === 'string' && STORED_INSTANT.test(value) && !value.startsWith('00')) {
    const time = Date.parse(value);
    // NaN (2024-13-01, 23:60) goes on to the full check, which refuses it as an InvalidEventError.
    if (!Number.isNaN(time) && new Date(time).toISOString() === value) return value;
  }
  if (!isInstantWithOffset(value)) {
    throw new InvalidEventError(`${field} must be an ISO-8601 instant with an offset, got "${value}"`, {
      field,
    });
  }
  return new Date(value).toISOString();
}

/** Stream names are `<category>-<id>` so category subscriptions work on EventStoreDB. */
export function assertStreamId(streamId: string): void {
  if (!STREAM_ID.test(streamId)) {
    throw new InvalidEventError(`stream id "${streamId}" is not of the form <category>-<id>`, { streamId });
  }
}

/** Checks a new event's envelope and returns it with instants normalised and undefined keys dropped. */
export function normaliseNewEvent(event: NewEvent): NewEvent {
  if (!UUID.test(event.eventId)) throw new InvalidEventError(`eventId must be a UUID, got "${event.eventId}"`);
  if (!/^[A-Z][A-Za-z0-9]+$/.test(event.type)) {
    throw new InvalidEventError(`event type must be a PascalCase name, got "${event.type}"`);
  }
  if (!Number.isInteger(event.schemaVersion) || event.schemaVersion < 1) {
    throw new InvalidEventError(`schemaVersion must be a positive integer (event ${event.type})`);
  }
  // The envelope comes from callers outside the type system too (JSON, the CLI): read as untrusted.
  const m = event.metadata as NewEvent['metadata'] | undefined;
  if (!m?.actor || typeof m.actor.sub !== 'string' || !(ROLES as readonly string[]).includes(m.actor.role)) {
    throw new InvalidEventError(`event ${event.type} has no valid actor`);
  }
  if (!(CHANNELS as readonly string[]).includes(m.channel)) {
    throw new InvalidEventError(`event ${event.type} has an unknown channel "${m.channel}"`);
  }
  if (typeof m.correlationId !== 'string' || m.correlationId.length === 0) {
    throw new InvalidEventError(`event ${event.type} has no correlationId`);
  }
  const metadata: Omit<EventMetadata, 'recordedAt'> = dropUndefined({
    effectiveAt: normaliseInstant(m.effectiveAt, 'effectiveAt'),
    actor: dropUndefined({ ...m.actor }),
    onBehalfOf: m.onBehalfOf ? { rpps: m.onBehalfOf.rpps } : undefined,
    channel: m.channel,
    correlationId: m.correlationId,
    causationId: m.causationId ?? null,
    legalBasis: m.legalBasis,
  });
  return { eventId: event.eventId.toLowerCase(), type: event.type, schemaVersion: event.schemaVersion, data: event.data, metadata };
}

function dropUndefined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    // An own "__proto__" key (JSON.parse makes one) stays a key, as Object.fromEntries keeps it,
    // instead of setting the copy's prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out as T;
}
