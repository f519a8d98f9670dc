import type { DomainEvent, EventMetadata } from '@forfait/events';

/**
 * An event as the domain sees it: the catalogue's type and data with the envelope facts the rules
 * use. Stored events (`StoredDomainEvent`) fit it.
 */
export type KnownEvent<E extends DomainEvent = DomainEvent> = E & {
  eventId: string;
  metadata: Pick<EventMetadata, 'recordedAt' | 'effectiveAt' | 'channel' | 'actor'> & Partial<EventMetadata>;
};

export type EventOf<T extends DomainEvent['type']> = KnownEvent<Extract<DomainEvent, { type: T }>>;

/** Epoch milliseconds of an instant; the same few instants are compared again and again, so each is parsed once. */
export const ms = (instant: string): number => {
  let value = INSTANTS.get(instant);
  if (value === undefined) {
    value = Date.parse(instant);
    if (INSTANTS.size >= 100_000) INSTANTS.clear();
    INSTANTS.set(instant, value);
  }
  return value;
};
const INSTANTS = new Map<string, number>();

/** Events the system knew at `knownAt`: filtered on recordedAt (architecture.md, "Time"). */
export function knownAt<E extends KnownEvent>(events: readonly E[], instant: string): E[] {
  const limit = ms(instant);
  return events.filter((e) => ms(e.metadata.recordedAt) <= limit);
}

export function ofType<T extends DomainEvent['type']>(events: readonly KnownEvent[], type: T): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

/** Latest by business time, then by recording, then by the order given (corrections: spec I, "latest effective wins"). */
export function latestEffective<E extends KnownEvent>(events: readonly E[]): E | undefined {
  let best: E | undefined;
  for (const e of events) {
    if (!best) best = e;
    else {
      const d = ms(e.metadata.effectiveAt) - ms(best.metadata.effectiveAt);
      if (d > 0 || (d === 0 && ms(e.metadata.recordedAt) >= ms(best.metadata.recordedAt))) best = e;
    }
  }
  return best;
}

/** Latest by recording (a re-sent measure replaces the previous one). */
export function latestRecorded<E extends KnownEvent>(events: readonly E[]): E | undefined {
  let best: E | undefined;
  for (const e of events) if (!best || ms(e.metadata.recordedAt) >= ms(best.metadata.recordedAt)) best = e;
  return best;
}
