import { GENESIS_HASH, computeEventHash, hashedRecordOf, type RecordedEvent } from '@forfait/events';
import type { EventStore } from './port';

export interface BrokenLink {
  streamId: string;
  revision: number;
  eventId: string;
  position: string;
  reason: 'hash-mismatch' | 'prev-hash-mismatch' | 'revision-gap';
  expected: string;
  actual: string;
}

export interface IntegrityReport {
  ok: boolean;
  streams: number;
  events: number;
  /** The first broken link in global order: everything before it checks. */
  firstBroken?: BrokenLink;
}

/**
 * Follows every stream's hash chain event by event, in any order that keeps each stream's
 * revisions ascending (global order does). Memory: one hash per stream.
 */
export class ChainVerifier {
  private readonly heads = new Map<string, { revision: number; hash: string }>();
  events = 0;

  get streams(): number {
    return this.heads.size;
  }

  /** Returns the broken link this event makes, or undefined when it checks. */
  check(event: RecordedEvent): BrokenLink | undefined {
    this.events += 1;
    const head = this.heads.get(event.streamId);
    const link = (reason: BrokenLink['reason'], expected: string, actual: string): BrokenLink => ({
      streamId: event.streamId,
      revision: event.revision,
      eventId: event.eventId,
      position: event.position.toString(),
      reason,
      expected,
      actual,
    });
    const expectedRevision = head ? head.revision + 1 : 0;
    const expectedPrev = head ? head.hash : GENESIS_HASH;
    this.heads.set(event.streamId, { revision: event.revision, hash: event.hash });
    if (event.revision !== expectedRevision) {
      return link('revision-gap', String(expectedRevision), String(event.revision));
    }
    if (event.prevHash !== expectedPrev) return link('prev-hash-mismatch', expectedPrev, event.prevHash);
    const recomputed = computeEventHash(hashedRecordOf(event));
    if (recomputed !== event.hash) return link('hash-mismatch', recomputed, event.hash);
    return undefined;
  }
}

export async function verifyIntegrity(
  store: EventStore,
  options: { batchSize?: number; onProgress?: (checked: number) => void } = {},
): Promise<IntegrityReport> {
  const verifier = new ChainVerifier();
  let after = 0n;
  let firstBroken: BrokenLink | undefined;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: options.batchSize ?? 2000 });
    if (batch.length === 0) break;
    for (const event of batch) {
      const broken = verifier.check(event);
      if (broken && !firstBroken) firstBroken = broken;
    }
    after = batch[batch.length - 1]!.position;
    options.onProgress?.(verifier.events);
  }
  return { ok: !firstBroken, streams: verifier.streams, events: verifier.events, ...(firstBroken ? { firstBroken } : {}) };
}

/** Verifies a list of events (one doctor's bundle, say): each stream's chain must be complete from revision 0. */
export function verifyEvents(events: RecordedEvent[]): IntegrityReport {
  const verifier = new ChainVerifier();
  const ordered = [...events].sort((a, b) =>
    a.streamId === b.streamId ? a.revision - b.revision : a.position < b.position ? -1 : 1,
  );
  let firstBroken: BrokenLink | undefined;
  for (const event of ordered) {
    const broken = verifier.check(event);
    if (broken && !firstBroken) firstBroken = broken;
  }
  return { ok: !firstBroken, streams: verifier.streams, events: verifier.events, ...(firstBroken ? { firstBroken } : {}) };
}
