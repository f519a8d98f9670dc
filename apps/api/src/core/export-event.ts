import type { RecordedEvent } from '@forfait/events';

/** An event as the API exports it (history, audit bundle, a control): everything a verifier needs, position as a string. */
export function exportEvent(e: RecordedEvent) {
  return {
    eventId: e.eventId,
    streamId: e.streamId,
    revision: e.revision,
    position: e.position.toString(),
    type: e.type,
    schemaVersion: e.schemaVersion,
    data: e.data,
    metadata: e.metadata,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}
