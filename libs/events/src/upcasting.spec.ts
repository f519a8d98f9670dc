import type { RecordedEvent } from './envelope';
import { UpcasterRegistry, UnknownEventError, defaultUpcasters } from './upcasting';

const stored = (type: string, schemaVersion: number, data: unknown): RecordedEvent => ({
  eventId: 'e',
  streamId: 'campaign-2023',
  revision: 0,
  position: 1n,
  type,
  schemaVersion,
  data,
  metadata: {
    recordedAt: '2024-01-01T00:00:00.000Z',
    effectiveAt: '2024-01-01T00:00:00.000Z',
    actor: { sub: 's', role: 'system' },
    channel: 'system',
    correlationId: 'c',
    causationId: null,
  },
  prevHash: '0',
  hash: 'h',
});

describe('upcasting on read', () => {
  // A catalogue where Thing went v1 {n} → v2 {count} → v3 {count, unit}.
  const registry = new UpcasterRegistry(
    [
      { type: 'Thing', from: 1, upcast: (d) => ({ count: (d as { n: number }).n }) },
      { type: 'Thing', from: 2, upcast: (d) => ({ ...(d as object), unit: 'points' }) },
    ],
    (type) => (type === 'Thing' ? 3 : undefined),
  );

  it('brings an old shape to the current one step by step, leaving the envelope and hash alone', () => {
    const e = stored('Thing', 1, { n: 4 });
    const up = registry.upcast(e);
    expect(up).toMatchObject({ type: 'Thing', schemaVersion: 3, data: { count: 4, unit: 'points' }, hash: 'h' });
    // A copy: the stored event keeps its version and data (its bytes are what the hash covers).
    expect(up).not.toBe(e);
    expect(e).toMatchObject({ schemaVersion: 1, data: { n: 4 } });
  });

  it('refuses a type outside the catalogue, a missing step, and a version from the future', () => {
    expect(() => registry.upcast(stored('Other', 1, {}))).toThrow(UnknownEventError);
    expect(() => new UpcasterRegistry([], () => 2).upcast(stored('Thing', 1, {}))).toThrow(/no upcaster/);
    expect(() => registry.upcast(stored('Thing', 4, {}))).toThrow(/newer than this software knows/);
  });

  it('passes current events of the real catalogue through unchanged', () => {
    const e = stored('CampaignOpened', 1, { year: 2023 });
    expect(defaultUpcasters.upcast(e)).toEqual(e);
    // Not copied (a rebuild upcasts millions of current events).
    expect(defaultUpcasters.upcast(e)).toBe(e);
  });
});

describe('the catalogue’s upcasters (second reading of the guide)', () => {
  it('rule 2: a V1_SEGUR_LAP declaration stored before `lap` existed is the LAP declared unnamed, on a cabinet software', () => {
    const v1 = {
      rpps: '10000000017',
      year: 2023,
      indicator: 'V1_SEGUR_LAP',
      value: { segurSoftware: { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-03-01' }, lapCertified: true },
      attestation: true,
    };
    const up = defaultUpcasters.upcast({ ...stored('IndicatorDeclared', 1, v1), streamId: 'declaration-10000000017-2023' });
    expect(up.schemaVersion).toBe(2);
    expect(up.data).toEqual({ ...v1, value: { segurSoftware: { ...v1.value.segurSoftware, kind: 'cabinet' }, lapCertified: true, lap: null } });
    const other = { rpps: '10000000017', year: 2023, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true };
    expect(defaultUpcasters.upcast(stored('IndicatorDeclared', 1, other)).data).toEqual(other);
  });

  it('INT-7: a justificatif stored before subjects existed has subjects null (the whole indicator) and proves null', () => {
    const v1 = { rpps: '10000000017', year: 2023, justificatifId: 'j', indicator: 'V1_SEGUR_LAP', sha256: 'a', size: 1, mediaType: 'application/pdf' };
    expect(defaultUpcasters.upcast(stored('JustificatifSubmitted', 1, v1)).data).toEqual({ ...v1, subjects: null, proves: null });
    expect(defaultUpcasters.upcast(stored('JustificatifSubmitted', 1, { ...v1, indicator: 'V2_SAS' })).data).toMatchObject({ subjects: [], proves: null });
  });
});
