import { randomUUID } from 'node:crypto';
import { InvalidEventError } from './errors';
import fc from 'fast-check';
import { assertStreamId, isInstantWithOffset, normaliseInstant, normaliseNewEvent, type NewEvent } from './envelope';

const event = (): NewEvent => ({
  eventId: randomUUID().toUpperCase(),
  type: 'IndicatorDeclared',
  schemaVersion: 1,
  data: {},
  metadata: {
    effectiveAt: '2024-02-11T23:59:59+01:00',
    actor: { sub: 'a', role: 'agent', caisse: '441', rpps: undefined },
    channel: 'paper',
    correlationId: 'c',
    causationId: null,
  },
});

describe('event envelope', () => {
  it('normalises instants with an offset to UTC milliseconds', () => {
    expect(normaliseInstant('2024-02-11T23:59:59+01:00')).toBe('2024-02-11T22:59:59.000Z');
    expect(normaliseInstant('2024-02-11T22:59:59.5Z')).toBe('2024-02-11T22:59:59.500Z');
  });

  it('takes an instant already in the stored form as it is exactly when the full check would (the fast path)', () => {
    // The full check alone (isInstantWithOffset, which the fast path does not use): the reference.
    const full = (value: string): string => (isInstantWithOffset(value) ? new Date(value).toISOString() : 'refused');
    const mine = (value: string): string => {
      try {
        return normaliseInstant(value);
      } catch (error) {
        // Refused as bad input, never as a crash (RangeError, TypeError).
        expect(error).toBeInstanceOf(InvalidEventError);
        return 'refused';
      }
    };
    const edges = [
      '2024-02-29T10:00:00.000Z',
      '2023-02-29T10:00:00.000Z',
      '2024-02-31T10:00:00.000Z',
      '2024-13-01T10:00:00.000Z',
      '0050-01-01T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '0100-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '2024-02-11T24:00:00.000Z',
      '2024-02-11T23:60:00.000Z',
      '2024-02-11T23:59:60.000Z',
    ];
    for (const value of edges) expect([value, mine(value)]).toEqual([value, full(value)]);
    // Each field a little beyond its range on both sides, so that dates roll over.
    const field = (max: number, width: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(width, '0'));
    fc.assert(
      fc.property(fc.tuple(field(9999, 4), field(13, 2), field(32, 2), field(25, 2), field(61, 2), field(61, 2), field(999, 3)), ([y, mo, d, h, mi, s, ms]) => {
        const value = `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`;
        expect(mine(value)).toBe(full(value));
      }),
      { numRuns: 5_000 },
    );
  });

  it('refuses what is not a string with InvalidEventError, even when it reads as an instant', () => {
    expect(() => normaliseInstant(['2024-02-11T22:59:59.000Z'] as unknown as string)).toThrow(InvalidEventError);
    expect(() => normaliseInstant(undefined as unknown as string)).toThrow(InvalidEventError);
  });

  it('keeps an own "__proto__" key of the actor as a key, not as the prototype of the copy', () => {
    const e = event();
    const actor = JSON.parse('{"sub":"a","role":"agent","caisse":"441","__proto__":{"role":"admin"}}') as NewEvent['metadata']['actor'];
    const n = normaliseNewEvent({ ...e, metadata: { ...e.metadata, actor } });
    expect(Object.getPrototypeOf(n.metadata.actor)).toBe(Object.prototype);
    expect(Object.keys(n.metadata.actor)).toEqual(['sub', 'role', 'caisse', '__proto__']);
  });

  it('refuses an instant without an offset or that is not a date', () => {
    expect(() => normaliseInstant('2024-02-11T23:59:59')).toThrow(InvalidEventError);
    expect(() => normaliseInstant('2024-02-31T10:00:00Z')).toThrow(/ISO-8601/);
    expect(() => normaliseInstant('11/02/2024')).toThrow(InvalidEventError);
  });

  it('lower-cases the event id, drops undefined keys and defaults causationId to null', () => {
    const e = event();
    const n = normaliseNewEvent(e);
    expect(n.eventId).toBe(e.eventId.toLowerCase());
    expect(n.metadata).toEqual({
      effectiveAt: '2024-02-11T22:59:59.000Z',
      actor: { sub: 'a', role: 'agent', caisse: '441' },
      channel: 'paper',
      correlationId: 'c',
      causationId: null,
    });
  });

  it('refuses unknown roles and channels, a missing correlation id, a bad type or version', () => {
    const cases: ((e: NewEvent) => void)[] = [
      (e) => ((e.metadata.actor as { role: string }).role = 'patient'),
      (e) => ((e.metadata as { channel: string }).channel = 'fax'),
      (e) => (e.metadata.correlationId = ''),
      (e) => (e.type = 'indicator_declared'),
      (e) => (e.schemaVersion = 0),
      (e) => (e.eventId = 'not-a-uuid'),
    ];
    for (const mutate of cases) {
      const e = event();
      mutate(e);
      expect(() => normaliseNewEvent(e)).toThrow(InvalidEventError);
    }
  });

  it('accepts <category>-<id> stream names only', () => {
    expect(() => assertStreamId('declaration-10000000008-2023')).not.toThrow();
    expect(() => assertStreamId('campaign-2023')).not.toThrow();
    expect(() => assertStreamId('campaign')).toThrow(InvalidEventError);
    expect(() => assertStreamId('Campaign-2023')).toThrow(InvalidEventError);
    expect(() => assertStreamId('$all-1')).toThrow(InvalidEventError);
  });
});
