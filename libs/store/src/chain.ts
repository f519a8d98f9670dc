import { EventTooLargeError, GENESIS_HASH, canonicalJson, hashOfCanonical, type NewEvent, type RecordedEvent } from '@forfait/events';

/**
 * Turns a stream's new events into recorded ones, every adapter alike: revisions after the stream's
 * head, the store's recordedAt, each event's hash chained to the one before (architecture.md,
 * "Tamper evidence"), and the size limit checked on the serialised event.
 */
export function chainEvents(
  streamId: string,
  events: NewEvent[],
  head: { revision: number | null; lastHash: string | undefined },
  recordedAt: string,
  maxBytes: number,
): Omit<RecordedEvent, 'position'>[] {
  let prevHash = head.lastHash ?? GENESIS_HASH;
  let revision = head.revision ?? -1;
  return events.map((event) => {
    revision += 1;
    const base = {
      eventId: event.eventId,
      streamId,
      revision,
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: event.data,
      metadata: { ...event.metadata, recordedAt },
      prevHash,
    };
    // One serialisation serves the size limit and the hash.
    const canonical = canonicalJson(base);
    const size = Buffer.byteLength(canonical, 'utf8');
    if (size > maxBytes) throw new EventTooLargeError(event.type, size, maxBytes);
    const hash = hashOfCanonical(prevHash, canonical);
    prevHash = hash;
    return { ...base, hash };
  });
}
