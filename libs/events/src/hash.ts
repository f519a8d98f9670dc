import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical';
import type { RecordedEvent } from './envelope';

/** prevHash of the first event of every stream. */
export const GENESIS_HASH = '0'.repeat(64);

/** The part of an event the hash covers: everything but `hash` and the store-local `position`. */
export interface HashedRecord {
  eventId: string;
  streamId: string;
  revision: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  prevHash: string;
}

export function hashedRecordOf(event: Omit<RecordedEvent, 'position' | 'hash'> | RecordedEvent): HashedRecord {
  return {
    eventId: event.eventId,
    streamId: event.streamId,
    revision: event.revision,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    prevHash: event.prevHash,
  };
}

/**
 * hash = SHA-256( prevHash ‖ canonicalJSON(record) ), hex, where ‖ is string concatenation of
 * the previous event's hex hash (GENESIS_HASH for revision 0) and the RFC 8785 canonical JSON of
 * the event without its `hash` (architecture.md, "Tamper evidence").
 */
export function computeEventHash(record: HashedRecord): string {
  return hashOfCanonical(record.prevHash, canonicalJson(record));
}

/** The hash from the record's canonical JSON already written (a writer serialises each event once). */
export function hashOfCanonical(prevHash: string, canonical: string): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonical, 'utf8').digest('hex');
}

/** Byte length of what the store keeps for an event, used for the size limit. */
export function serialisedSize(record: HashedRecord): number {
  return Buffer.byteLength(canonicalJson(record), 'utf8');
}

/** Prose for third parties verifying an exported bundle without this software. */
export const HASH_ALGORITHM_DESCRIPTION = [
  'Each event is chained to the previous event of the same stream.',
  'For an event, build the JSON object {eventId, streamId, revision, type, schemaVersion, data, metadata, prevHash}',
  '(every field as exported, without "hash" and without "position"), serialise it as canonical JSON (RFC 8785 / JCS:',
  'object keys sorted, no white space, ECMAScript number formatting, UTF-8), and compute',
  'hash = lowercase hex SHA-256 of the UTF-8 bytes of (prevHash followed by that canonical JSON).',
  `The first event of a stream (revision 0) has prevHash = "${GENESIS_HASH}" (64 zeros);`,
  'every later event has prevHash = the hash of the event at revision - 1 of the same stream.',
  'Revisions start at 0 and have no gaps. A chain is intact when every hash recomputes and every prevHash links.',
].join(' ');

/**
 * A UUID derived from content (RFC 9562 version 8: custom), so that the same import item always
 * gets the same event id and a re-sent batch appends nothing new.
 */
export function contentUuid(content: unknown): string {
  const h = createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
