import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { streams, type DomainEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { PGliteDatabase, SqlEventStore } from '@forfait/store';
import { ProjectionRunner } from '../projection-runner';
import { listJustificatifs, listSasAttestations, registryProjection } from './registry.projection';

describe('agents’ worklist: CPTS presidents’ SAS attestations (registry read model)', () => {
  it('given an attestation received then validated, lists it once under its caisse with every doctor it lists; the same events twice give the same rows', async () => {
    const db = new PGliteDatabase(await PGlite.create());
    const clock = new ManualClock('2024-01-20T10:00:00Z');
    const store = await SqlEventStore.open({ db, clock, ownsDatabase: false, pollIntervalMs: 20 });
    const append = (stream: string, event: DomainEvent, effectiveAt = '2024-01-20T10:00:00Z') =>
      store.append(
        stream,
        [
          {
            eventId: randomUUID(),
            type: event.type,
            schemaVersion: 1,
            data: event.data,
            metadata: { effectiveAt, actor: { sub: 'a', role: 'agent', caisse: '441' }, channel: 'back-office', correlationId: 'c', causationId: null },
          },
        ],
        { expectedRevision: 'any' },
      );
    const [a, b] = ['10000000017', '10000000025'];
    const id = 'sas-2023-0123456789ab';
    await append(
      streams.sasAttestation(id),
      {
        type: 'SasAttestationReceived',
        data: {
          attestationId: id,
          year: 2023,
          caisse: '441',
          cpts: 'CPTS Nantes Nord',
          software: 'Logiciel SAS',
          rpps: [a, b],
          sha256: 'f'.repeat(64),
          size: 10,
          mediaType: 'application/pdf',
        },
      },
      '2024-01-12T09:00:00+01:00',
    );
    const other = 'sas-2023-ba9876543210';
    await append(streams.sasAttestation(other), {
      type: 'SasAttestationReceived',
      data: {
        attestationId: other,
        year: 2023,
        caisse: '751',
        cpts: 'CPTS Paris 15',
        software: 'Logiciel SAS',
        rpps: [b],
        sha256: 'e'.repeat(64),
        size: 11,
        mediaType: 'image/png',
      },
    });

    const runner = new ProjectionRunner(store, db, [registryProjection], 'rm', { batchSize: 100 });
    await runner.start();
    await runner.waitFor(await store.headPosition());
    expect(await listSasAttestations(db, 'rm', { caisse: '441', status: 'pending' })).toEqual([
      {
        kind: 'sas-attestation',
        id,
        rpps: [a, b],
        year: 2023,
        caisse: '441',
        indicator: 'V2_SAS',
        subjects: [],
        cpts: 'CPTS Nantes Nord',
        software: 'Logiciel SAS',
        status: 'pending',
        sha256: 'f'.repeat(64),
        size: 10,
        mediaType: 'application/pdf',
        channel: 'back-office',
        effectiveAt: '2024-01-12T08:00:00.000Z',
        recordedAt: '2024-01-20T10:00:00.000Z',
        submittedAt: '2024-01-12T08:00:00.000Z',
        decidedAt: null,
        reason: null,
        revision: 0,
      },
    ]);

    clock.set('2024-01-25T10:00:00Z');
    await append(streams.sasAttestation(id), { type: 'SasAttestationValidated', data: { attestationId: id, year: 2023, rpps: [a, b] } });
    await runner.waitFor(await store.headPosition());
    await runner.stop();
    const validated = await listSasAttestations(db, 'rm', { caisse: '441' });
    expect(validated).toEqual([expect.objectContaining({ id, status: 'validated', decidedAt: '2024-01-25T10:00:00.000Z', revision: 1 })]);
    expect(await listSasAttestations(db, 'rm', { caisse: '441', status: 'pending' })).toEqual([]);

    // Applied again (a replayed batch): nothing changes.
    await registryProjection.apply(db, 'rm', await store.readAll({ maxCount: 100 }), { atHead: true, readStreams: (ids) => store.readStreams(ids) });
    expect(await listSasAttestations(db, 'rm', {})).toEqual([...validated, expect.objectContaining({ id: other, caisse: '751', status: 'pending' })]);
    await store.close();
    await db.close();
  });

  it('a justificatif’s row carries its doctor-year’s revision (the If-Match of its decision), which moves with any event of that stream, replays included', async () => {
    const db = new PGliteDatabase(await PGlite.create());
    const clock = new ManualClock('2024-01-20T10:00:00Z');
    const store = await SqlEventStore.open({ db, clock, ownsDatabase: false, pollIntervalMs: 20 });
    const rpps = '10000000017';
    const stream = streams.declaration(rpps, 2023);
    const append = (type: string, data: unknown, on = stream) =>
      store.append(
        on,
        [
          {
            eventId: randomUUID(),
            type,
            schemaVersion: 1,
            data,
            metadata: {
              effectiveAt: '2024-01-20T10:00:00Z',
              actor: { sub: 'd', role: 'doctor', rpps },
              channel: 'amelipro',
              correlationId: 'c',
              causationId: null,
            },
          },
        ],
        { expectedRevision: 'any' },
      );
    await append('DoctorProfileRecorded', { rpps, specialty: 'medecine-generale', caisse: '441', department: '44' }, streams.doctor(rpps));
    await append('JustificatifSubmitted', {
      rpps,
      year: 2023,
      justificatifId: 'j-1',
      indicator: 'V2_VIDEO',
      sha256: 'a'.repeat(64),
      size: 1,
      mediaType: 'application/pdf',
    });
    const runner = new ProjectionRunner(store, db, [registryProjection], 'rm', { batchSize: 100 });
    await runner.start();
    await runner.waitFor(await store.headPosition());
    expect((await listJustificatifs(db, 'rm', {})).map((j) => [j.id, j.revision])).toEqual([['j-1', 0]]);

    // The doctor declares again on that doctor-year: the row's revision follows, its status does not change.
    await append('IndicatorDeclared', { rpps, year: 2023, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true });
    await runner.waitFor(await store.headPosition());
    await runner.stop();
    expect((await listJustificatifs(db, 'rm', {})).map((j) => [j.id, j.status, j.revision])).toEqual([['j-1', 'pending', 1]]);
    // Applied again from the start (a replayed batch): the revision never goes back.
    await registryProjection.apply(db, 'rm', (await store.readAll({ maxCount: 100 })).slice(0, 2), {
      atHead: true,
      readStreams: (ids) => store.readStreams(ids),
    });
    expect((await listJustificatifs(db, 'rm', {})).map((j) => j.revision)).toEqual([1]);
    await store.close();
    await db.close();
  });
});
