import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical';
import { GENESIS_HASH, computeEventHash, type HashedRecord } from './hash';

const record: HashedRecord = {
  eventId: '6f1c1f0e-7f57-4a47-9b1e-3c1f3c7a0d11',
  streamId: 'declaration-10000000008-2023',
  revision: 0,
  type: 'IndicatorDeclared',
  schemaVersion: 1,
  data: { year: 2023, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true, rpps: '10000000008' },
  metadata: {
    recordedAt: '2024-01-15T09:30:00.000Z',
    effectiveAt: '2024-01-15T09:30:00.000Z',
    actor: { sub: 'doctor-10000000008', role: 'doctor', rpps: '10000000008' },
    channel: 'amelipro',
    correlationId: 'c-1',
    causationId: null,
  },
  prevHash: GENESIS_HASH,
};

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys at every depth and drops white space, whatever the insertion order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: null, e: 'é' }], c: true } })).toBe('{"a":{"c":true,"d":[3,{"e":"é","f":null}]},"b":1}');
    expect(canonicalJson({ a: { c: true, d: [3, { e: 'é', f: null }] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: [3, { f: null, e: 'é' }], c: true } }));
  });

  it('formats numbers as ECMAScript does (30.5 points stay 30.5, 1e21 is exponent form)', () => {
    expect(canonicalJson([30.5, 1e21, 0.1, -0])).toBe('[30.5,1e+21,0.1,0]');
  });
});

describe('event hash', () => {
  it('is SHA-256 of prevHash followed by the canonical JSON of the event without hash', () => {
    const expected = createHash('sha256')
      .update(GENESIS_HASH + canonicalJson(record))
      .digest('hex');
    expect(computeEventHash(record)).toBe(expected);
    expect(computeEventHash(record)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes when any covered field changes: data, either time, actor, revision or the previous hash', () => {
    const base = computeEventHash(record);
    const variants: HashedRecord[] = [
      { ...record, data: { ...(record.data as object), attestation: false } },
      { ...record, metadata: { ...record.metadata, effectiveAt: '2024-01-15T09:30:00.001Z' } },
      { ...record, metadata: { ...record.metadata, recordedAt: '2024-01-16T09:30:00.000Z' } },
      { ...record, metadata: { ...record.metadata, actor: { sub: 'agent-1', role: 'agent', caisse: '441' } } },
      { ...record, revision: 1 },
      { ...record, prevHash: 'a'.repeat(64) },
    ];
    for (const v of variants) expect(computeEventHash(v)).not.toBe(base);
  });

  it('does not depend on key order in the payload', () => {
    const reordered: HashedRecord = {
      ...record,
      data: { rpps: '10000000008', attestation: true, value: { answer: true }, indicator: 'V2_CODAGE', year: 2023 },
    };
    expect(computeEventHash(reordered)).toBe(computeEventHash(record));
  });
});
