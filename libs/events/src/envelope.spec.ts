import { randomUUID } from 'node:crypto';
import { InvalidEventError } from './errors';
import { assertStreamId, normaliseInstant, normaliseNewEvent, type NewEvent } from './envelope';

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
