import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { streams, type DomainEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { PGliteDatabase, SqlEventStore } from '@forfait/store';
import { ProjectionRunner } from '../projection-runner';
import { registryProjection } from './registry.projection';
import { campaignDashboard, listControls, worklistsProjection } from './worklists.projection';

describe('worklists and campaign dashboard read models', () => {
  it('list open, overdue and contested controls per caisse, and count declarations and transmissions', async () => {
    const db = new PGliteDatabase(await PGlite.create());
    const clock = new ManualClock('2024-01-20T10:00:00Z');
    const store = await SqlEventStore.open({ db, clock, ownsDatabase: false, pollIntervalMs: 20 });
    const append = (stream: string, event: DomainEvent, effectiveAt = '2024-01-20T10:00:00Z', channel: 'amelipro' | 'paper' | 'back-office' = 'back-office') =>
      store.append(
        stream,
        [
          {
            eventId: randomUUID(),
            type: event.type,
            schemaVersion: 1,
            data: event.data,
            metadata: { effectiveAt, actor: { sub: 's', role: 'system' }, channel, correlationId: 'c', causationId: null },
          },
        ],
        { expectedRevision: 'any' },
      );
    const [a, b] = ['10000000017', '10000000025'];
    await append(streams.doctor(a), { type: 'DoctorProfileRecorded', data: { rpps: a, specialty: 'medecine-generale', caisse: '441', department: '44' } });
    await append(streams.doctor(b), { type: 'DoctorProfileRecorded', data: { rpps: b, specialty: 'cardiologie', caisse: '751', department: '75' } });
    const da = streams.declaration(a, 2023);
    const db_ = streams.declaration(b, 2023);
    await append(
      da,
      { type: 'IndicatorDeclared', data: { rpps: a, year: 2023, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true } },
      '2024-01-10T10:00:00Z',
      'amelipro',
    );
    await append(
      da,
      { type: 'IndicatorDeclared', data: { rpps: a, year: 2023, indicator: 'V2_CODAGE', value: { answer: false }, attestation: true } },
      '2024-01-11T10:00:00Z',
      'amelipro',
    );
    await append(da, { type: 'DeclarationTransmitted', data: { rpps: a, year: 2023 } }, '2024-01-11T10:00:00Z', 'amelipro');
    await append(
      db_,
      { type: 'IndicatorDeclared', data: { rpps: b, year: 2023, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true } },
      '2024-01-12T10:00:00Z',
      'paper',
    );
    const ref = (rpps: string, id: string) => ({ controlId: id, rpps, year: 2023 });
    await append(da, { type: 'ControlOpened', data: { ...ref(a, 'c1'), indicators: ['V2_CODAGE'], reason: 'ciblage' } });
    await append(da, { type: 'ControlEvidenceRequested', data: { ...ref(a, 'c1'), items: ['liste des registres'], dueAt: '2024-09-01T00:00:00Z' } });
    await append(db_, { type: 'ControlOpened', data: { ...ref(b, 'c2'), indicators: ['V2_CODAGE'], reason: 'ciblage' } });
    await append(db_, { type: 'ControlFindingRecorded', data: { ...ref(b, 'c2'), indicator: 'V2_CODAGE', outcome: 'invalidated', reason: 'aucun registre' } });
    await append(db_, {
      type: 'ControlClosed',
      data: { ...ref(b, 'c2'), paidCents: 35000, recomputedAmountCents: 0, balanceCents: -35000, notification: 'recovery' },
    });
    await append(db_, { type: 'ContestationFiled', data: { ...ref(b, 'c2'), reason: 'je code' } });

    const runner = new ProjectionRunner(store, db, [registryProjection, worklistsProjection], 'rm', { batchSize: 3 });
    await runner.start();
    await runner.waitFor(await store.headPosition());
    await runner.stop();

    const before = await listControls(db, 'rm', { status: 'overdue', now: '2024-08-31T00:00:00Z' });
    expect(before).toEqual([]);
    const overdue = await listControls(db, 'rm', { status: 'overdue', now: '2024-09-02T00:00:00Z' });
    expect(overdue).toEqual([
      expect.objectContaining({ controlId: 'c1', caisse: '441', status: 'open', evidenceOverdue: true, evidenceDueAt: '2024-09-01T00:00:00.000Z' }),
    ]);
    expect((await listControls(db, 'rm', { caisse: '751', status: 'contested', now: '2024-09-02T00:00:00Z' }))[0]).toMatchObject({
      controlId: 'c2',
      status: 'closed',
      findings: { V2_CODAGE: 'invalidated' },
      notification: 'recovery',
      balanceCents: -35000,
      contestation: 'filed',
    });
    expect(await listControls(db, 'rm', { caisse: '441', status: 'contested', now: '2024-09-02T00:00:00Z' })).toEqual([]);

    expect(await campaignDashboard(db, 'rm', 2023)).toEqual({
      year: 2023,
      caisses: [
        {
          caisse: '441',
          caisseName: 'CPAM de la Loire-Atlantique',
          doctors: 1,
          transmitted: 1,
          notTransmitted: 0,
          declarations: { V2_CODAGE: { doctors: 1, paperOrBackOffice: 0 } },
        },
        {
          caisse: '751',
          caisseName: 'CPAM de Paris',
          doctors: 1,
          transmitted: 0,
          notTransmitted: 1,
          declarations: { V2_CODAGE: { doctors: 1, paperOrBackOffice: 1 } },
        },
      ],
    });
    await store.close();
    await db.close();
  });
});
