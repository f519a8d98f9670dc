import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { PGlite } from '@electric-sql/pglite';
import { UPCASTERS, defaultUpcasters, streams, type Actor, type Channel, type DomainEvent } from '@forfait/events';
import { countsInEarlierYears, computeEntitlement, ENTITLEMENT_READS, FS_2023, toEntitlementView, type KnownEvent } from '@forfait/domain';
import { ManualClock } from '@forfait/platform';
import { PGliteDatabase, PgDatabase, SqlEventStore, quoteIdent, type SqlDatabase } from '@forfait/store';
import { ProjectionRunner } from '../projection-runner';
import { auditTrailProjection, doctorTrail, trailRevision } from './audit-trail.projection';
import { entitlementProjection, readEntitlement } from './entitlement.projection';

const YEAR = 2023;
const DOCTORS = ['10000000017', '10000000025', '10000000033'];
const RATES = ['V2_AAT', 'V2_DMP', 'V2_MSS', 'V2_DCMT', 'V2_PSE'] as const;

interface Write {
  stream: string;
  event: DomainEvent;
  effectiveAt: string;
  channel: Channel;
  actor: Actor;
}

const system: Actor = { sub: 's', role: 'system' };
const at = (day: number) => new Date(Date.parse('2023-12-12T10:00:00+01:00') + day * 86_400_000).toISOString();

/** A doctor's random facts, in an order that a caisse could have recorded them. */
const doctorFacts = (rpps: string) =>
  fc
    .record({
      specialty: fc.constantFrom('medecine-generale', 'cardiologie', 'ophtalmologie'),
      segur: fc.option(fc.record({ prefilled: fc.boolean(), lap: fc.boolean(), justificatif: fc.constantFrom('none', 'pending', 'validated', 'rejected') })),
      horaires: fc.option(fc.boolean()),
      // The hours declared too, by one of the routes whose channel decides (guide §I.5; INT-8 for paper).
      horairesDeclared: fc.option(fc.tuple(fc.boolean(), fc.constantFrom<Channel>('amelipro', 'paper', 'back-office'), fc.integer({ min: -5, max: 65 }))),
      tele: fc.option(fc.tuple(fc.nat(10), fc.integer({ min: 1, max: 10 }))),
      rates: fc.array(fc.tuple(fc.constantFrom(...RATES), fc.nat(30), fc.nat(30)), { maxLength: 5 }),
      declarations: fc.array(
        fc.tuple(
          fc.constantFrom('V2_CODAGE', 'V2_VIDEO', 'V2_MAITRE_STAGE'),
          fc.boolean(),
          fc.integer({ min: -5, max: 65 }),
          fc.constantFrom<Channel>('amelipro', 'paper'),
        ),
        {
          maxLength: 4,
        },
      ),
      control: fc.option(fc.constantFrom('invalidated', 'reversed')),
      paid: fc.option(fc.nat(900_000)),
      // A calculation recorded before the payment: the recompute reads no data of it (ENTITLEMENT_READS).
      calculated: fc.option(fc.nat(900_000)),
    })
    .map((r): Write[] => {
      const decl = streams.declaration(rpps, YEAR);
      const dy = { rpps, year: YEAR };
      const w = (event: DomainEvent, day: number, channel: Channel = 'import', actor: Actor = system, stream = decl): Write => ({
        stream,
        event,
        effectiveAt: at(day),
        channel,
        actor,
      });
      const out: Write[] = [
        w(
          { type: 'DoctorProfileRecorded', data: { rpps, specialty: r.specialty, caisse: '441', department: '44' } },
          -300,
          'import',
          system,
          streams.doctor(rpps),
        ),
      ];
      const doctor: Actor = { sub: `d-${rpps}`, role: 'doctor', rpps };
      if (r.segur) {
        const segurSoftware = { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-05-01' };
        const value = {
          segurSoftware: { ...segurSoftware, kind: 'cabinet' as const },
          lapCertified: r.segur.lap,
          lap: r.segur.lap ? { editor: 'L', name: 'LAP', certification: 'definitive' as const } : null,
        };
        out.push(
          r.segur.prefilled
            ? w({ type: 'IndicatorPrefilled', data: { ...dy, indicator: 'V1_SEGUR_LAP', source: 'SONS', value: { segurSoftware } } }, 0)
            : w({ type: 'IndicatorDeclared', data: { ...dy, indicator: 'V1_SEGUR_LAP', value, attestation: true } }, 10, 'amelipro', doctor),
        );
        if (r.segur.justificatif !== 'none') {
          const justificatifId = `jf-${YEAR}-${rpps}-${'0'.repeat(12)}`;
          out.push(
            w(
              {
                type: 'JustificatifSubmitted',
                data: {
                  ...dy,
                  justificatifId,
                  indicator: 'V1_SEGUR_LAP',
                  sha256: 'a'.repeat(64),
                  size: 10,
                  mediaType: 'application/pdf',
                  subjects: ['SEGUR', 'LAP'],
                  proves: null,
                },
              },
              11,
              'amelipro',
              doctor,
            ),
          );
          if (r.segur.justificatif === 'validated')
            out.push(w({ type: 'JustificatifValidated', data: { ...dy, justificatifId, indicator: 'V1_SEGUR_LAP' } }, 20, 'back-office'));
          if (r.segur.justificatif === 'rejected')
            out.push(w({ type: 'JustificatifRejected', data: { ...dy, justificatifId, indicator: 'V1_SEGUR_LAP', reason: 'illisible' } }, 20, 'back-office'));
        }
      }
      if (r.horaires !== null)
        out.push(w({ type: 'IndicatorPrefilled', data: { ...dy, indicator: 'V1_HORAIRES', source: 'ANNUAIRE_SANTE', value: { displayed: r.horaires } } }, -20));
      if (r.tele)
        out.push(
          w(
            {
              type: 'MeasureRecorded',
              data: {
                ...dy,
                indicator: 'V1_TELETRANSMISSION',
                source: 'S',
                measure: { kind: 'teletransmission', numerator: Math.min(r.tele[0], r.tele[1]), denominator: r.tele[1], teletransmittedPreviousYear: true },
              },
            },
            30,
          ),
        );
      for (const [indicator, n, d] of r.rates)
        out.push(w({ type: 'MeasureRecorded', data: { ...dy, indicator, source: 'S', measure: { kind: 'rate', numerator: n, denominator: d } } }, 30));
      if (r.horairesDeclared) {
        const [displayed, channel, day] = r.horairesDeclared;
        const by: Actor = channel === 'back-office' ? { sub: 'agent-441-1', role: 'agent', caisse: '441' } : doctor;
        out.push(w({ type: 'IndicatorDeclared', data: { ...dy, indicator: 'V1_HORAIRES', value: { displayed }, attestation: true } }, day, channel, by));
      }
      for (const [indicator, answer, day, channel] of r.declarations)
        out.push(w({ type: 'IndicatorDeclared', data: { ...dy, indicator, value: { answer }, attestation: true } }, day, channel, doctor));
      if (r.calculated !== null)
        out.push(
          w(
            {
              type: 'EntitlementCalculated',
              data: {
                ...dy,
                ruleset: 'FS-2023',
                rulesetVersion: '1',
                rulesetHash: 'c'.repeat(64),
                totalPoints: '1',
                amountCents: r.calculated,
                indicators: [{ code: 'V2_VIDEO', met: true, points: '1' }],
                lastPosition: '1',
              },
            },
            110,
            'back-office',
          ),
        );
      if (r.paid !== null) out.push(w({ type: 'PaymentRecorded', data: { ...dy, amountCents: r.paid, paidAt: at(120) } }, 120, 'system'));
      if (r.control) {
        const ref = { controlId: `c-${rpps}`, ...dy };
        out.push(w({ type: 'ControlOpened', data: { ...ref, indicators: ['V1_HORAIRES'], reason: 'ciblage' } }, 200, 'back-office'));
        out.push(
          w({ type: 'ControlFindingRecorded', data: { ...ref, indicator: 'V1_HORAIRES', outcome: 'invalidated', reason: 'non affichés' } }, 210, 'back-office'),
        );
        if (r.control === 'reversed')
          out.push(w({ type: 'ContestationDecided', data: { ...ref, outcome: 'reversed', indicators: ['V1_HORAIRES'] } }, 260, 'back-office'));
      }
      return out;
    });

/** Campaign events, then the doctors' facts interleaved at random (each doctor's own order kept). */
const historyArb = fc
  .tuple(
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    doctorFacts(DOCTORS[0]!),
    doctorFacts(DOCTORS[1]!),
    doctorFacts(DOCTORS[2]!),
    fc.array(fc.nat(2), { minLength: 120, maxLength: 120 }),
  )
  .map(([extended, amended, earlierCampaign, a, b, c, picks]) => {
    const admin: Actor = { sub: 'admin', role: 'admin' };
    const campaign = streams.campaign(YEAR);
    const out: Write[] = [
      {
        stream: campaign,
        event: {
          type: 'CampaignOpened',
          data: { year: YEAR, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' },
        },
        effectiveAt: at(-1),
        channel: 'back-office',
        actor: admin,
      },
    ];
    const queues = [a, b, c].map((q) => [...q]);
    for (const pick of picks) {
      const q = queues[pick]!.length > 0 ? queues[pick]! : queues.find((x) => x.length > 0);
      if (!q) break;
      out.push(q.shift()!);
      if (out.length === 8 && extended) {
        out.push({
          stream: campaign,
          event: {
            type: 'CampaignDeadlineExtended',
            data: { year: YEAR, previousClosesAt: '2024-02-04T23:59:59.999+01:00', closesAt: '2024-02-11T23:59:59.999+01:00', reason: 'prolongation' },
          },
          effectiveAt: at(40),
          channel: 'back-office',
          actor: admin,
        });
      }
      if (out.length === 12 && amended) {
        out.push({
          stream: campaign,
          event: { type: 'CampaignRuleAmended', data: { year: YEAR, indicator: 'V2_DMP', changes: { target: 20 }, reason: 'amendement' } },
          effectiveAt: at(45),
          channel: 'back-office',
          actor: admin,
        });
      }
    }
    for (const q of queues) out.push(...q);
    // INT-6: a 2022 campaign recorded here after everything else (none of the doctors declared in it):
    // the 2023 doctor-years are recomputed with it.
    if (earlierCampaign) {
      out.push({
        stream: streams.campaign(YEAR - 1),
        event: {
          type: 'CampaignOpened',
          data: { year: YEAR - 1, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2022-12-11T00:00:00+01:00', closesAt: '2023-02-04T23:59:59.999+01:00' },
        },
        effectiveAt: at(300),
        channel: 'back-office',
        actor: admin,
      });
    }
    return out;
  });

const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
let n = 0;

async function check(db: SqlDatabase, history: Write[]): Promise<void> {
  n += 1;
  const esSchema = `ent_es_${runId}_${n}`;
  const rmSchema = `ent_rm_${runId}_${n}`;
  const clock = new ManualClock('2023-12-12T08:00:00Z');
  const store = await SqlEventStore.open({ db, clock, schema: esSchema, ownsDatabase: false, pollIntervalMs: 20 });
  // Stopped however the run ends: a failing run must not leave its runner to the next (fast-check shrinks on the same database).
  let runner: ProjectionRunner | undefined;
  try {
    for (const write of history) {
      clock.advance(3_600_000);
      await store.append(
        write.stream,
        [
          {
            eventId: randomUUID(),
            type: write.event.type,
            schemaVersion: 1,
            data: write.event.data,
            metadata: { effectiveAt: write.effectiveAt, actor: write.actor, channel: write.channel, correlationId: 'c', causationId: null },
          },
        ],
        { expectedRevision: 'any' },
      );
    }
    runner = new ProjectionRunner(store, db, [entitlementProjection, auditTrailProjection], rmSchema, { batchSize: 7 });
    await runner.start();
    await runner.waitFor(await store.headPosition());
    await runner.stop();
    for (const rpps of DOCTORS) {
      const read = async (id: string) => (await store.readStream(id)).map((e) => defaultUpcasters.upcast(e) as KnownEvent);
      const [campaign, doctor, declaration, earlierCampaigns] = await Promise.all([
        read(streams.campaign(YEAR)),
        read(streams.doctor(rpps)),
        read(streams.declaration(rpps, YEAR)),
        read(streams.campaign(YEAR - 1)),
      ]);
      const all = [...campaign, ...doctor, ...declaration, ...earlierCampaigns];
      const knownAt = all.reduce((m, e) => (e.metadata.recordedAt > m ? e.metadata.recordedAt : m), '');
      const expected = toEntitlementView(
        computeEntitlement({ rpps, year: YEAR, ruleset: FS_2023, knownAt, campaign, doctor, declaration, earlier: [], earlierCampaigns }),
      );
      // A doctor-year is in the read model once its declaration stream exists; without one, GET …/entitlement replays.
      expect(await readEntitlement(db, rmSchema, rpps, YEAR)).toEqual(declaration.length > 0 ? expected : undefined);
      // GET …/history without knownAt reads the audit trail: the doctor's streams as the store reads
      // them back, in global order; the ETag, the doctor-year's revision.
      const raw = [...(await store.readStream(streams.doctor(rpps))), ...(await store.readStream(streams.declaration(rpps, YEAR)))].sort((x, y) =>
        x.position < y.position ? -1 : 1,
      );
      expect(await doctorTrail(db, rmSchema, rpps, YEAR)).toEqual(raw);
      expect(await doctorTrail(db, rmSchema, rpps)).toEqual(raw);
      expect(await doctorTrail(db, rmSchema, rpps, undefined, 'profile')).toEqual(raw.filter((e) => e.streamId === streams.doctor(rpps)));
      expect(await trailRevision(db, rmSchema, streams.declaration(rpps, YEAR), rpps)).toBe(declaration.length - 1);
    }
  } finally {
    await runner?.stop();
    await store.close();
    await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(esSchema)} CASCADE`);
    await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(rmSchema)} CASCADE`);
  }
}

describe('the entitlement and audit trail read models equal the pure function and the streams, for random histories', () => {
  it('on PGlite', async () => {
    const db = new PGliteDatabase(await PGlite.create());
    try {
      await fc.assert(
        fc.asyncProperty(historyArb, (history) => check(db, history)),
        { numRuns: 12 },
      );
    } finally {
      await db.close();
    }
  }, 120_000);

  it('INT-6: a 2022 campaign recorded after the 2023 declarations makes 2023 the doctor’s first year, in the read model too', async () => {
    const db = new PgDatabase({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', max: 4 });
    const [rpps] = DOCTORS as [string];
    const admin: Actor = { sub: 'admin', role: 'admin' };
    const doctor: Actor = { sub: `d-${rpps}`, role: 'doctor', rpps };
    const dy = { rpps, year: YEAR };
    const segurSoftware = { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-05-01' };
    const opened = (year: number): Write => ({
      stream: streams.campaign(year),
      event: {
        type: 'CampaignOpened',
        data: { year, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: `${year}-12-11T00:00:00+01:00`, closesAt: `${year + 1}-02-04T23:59:59.999+01:00` },
      },
      effectiveAt: at(-1),
      channel: 'back-office',
      actor: admin,
    });
    const history: Write[] = [
      opened(YEAR),
      {
        stream: streams.doctor(rpps),
        event: { type: 'DoctorProfileRecorded', data: { rpps, specialty: 'cardiologie', caisse: '441', department: '44' } },
        effectiveAt: at(-300),
        channel: 'import',
        actor: system,
      },
      {
        stream: streams.declaration(rpps, YEAR),
        event: { type: 'IndicatorPrefilled', data: { ...dy, indicator: 'V1_SEGUR_LAP', source: 'SONS', value: { segurSoftware } } },
        effectiveAt: at(0),
        channel: 'import',
        actor: system,
      },
      {
        stream: streams.declaration(rpps, YEAR),
        event: {
          type: 'IndicatorDeclared',
          data: {
            ...dy,
            indicator: 'V1_SEGUR_LAP',
            value: { segurSoftware: { ...segurSoftware, kind: 'cabinet' }, lapCertified: true, lap: { editor: 'L', name: 'LAP', certification: 'definitive' } },
            attestation: false,
          },
        },
        effectiveAt: at(10),
        channel: 'amelipro',
        actor: doctor,
      },
    ];
    const esSchema = `ent_es_${runId}_int6`;
    const rmSchema = `ent_rm_${runId}_int6`;
    const clock = new ManualClock('2023-12-12T08:00:00Z');
    const store = await SqlEventStore.open({ db, clock, schema: esSchema, ownsDatabase: false, pollIntervalMs: 20 });
    const append = async (write: Write) => {
      clock.advance(3_600_000);
      const metadata = { effectiveAt: write.effectiveAt, actor: write.actor, channel: write.channel, correlationId: 'c', causationId: null };
      return (
        await store.append(write.stream, [{ eventId: randomUUID(), type: write.event.type, schemaVersion: 1, data: write.event.data, metadata }], {
          expectedRevision: 'any',
        })
      ).position;
    };
    const segurOf = async () => (await readEntitlement(db, rmSchema, rpps, YEAR))!.volet1.indicators.find((i) => i.code === 'V1_SEGUR_LAP')!;
    const runner = new ProjectionRunner(store, db, [entitlementProjection], rmSchema, { batchSize: 7 });
    try {
      await runner.start();
      let last = 0n;
      for (const write of history) last = await append(write);
      await runner.waitFor(last);
      // Pre-filled, the LAP declared, no earlier campaign recorded: not a first year, no justificatif.
      expect(await segurOf()).toMatchObject({ met: true });
      // Then the 2022 campaign is recorded, in a batch of its own: the 2023 doctor-year is recomputed.
      await runner.waitFor(await append(opened(YEAR - 1)));
      expect(await segurOf()).toMatchObject({
        met: false,
        reason: expect.stringContaining('première année de déclaration : aucune déclaration du médecin lors de la campagne 2022 enregistrée ici'),
      });
    } finally {
      await runner.stop();
      await store.close();
      await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(esSchema)} CASCADE`);
      await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(rmSchema)} CASCADE`);
      await db.close();
    }
  }, 120_000);

  it('on PostgreSQL', async () => {
    const db = new PgDatabase({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', max: 4 });
    try {
      await fc.assert(
        fc.asyncProperty(historyArb, (history) => check(db, history)),
        { numRuns: 8 },
      );
    } finally {
      await db.close();
    }
  }, 120_000);
});

/** One event appended an hour after the last, effective when recorded; the event as stored. */
async function appendNow(store: SqlEventStore, clock: ManualClock, stream: string, event: DomainEvent, actor: Actor, channel: Channel) {
  clock.advance(3_600_000);
  const { events } = await store.append(
    stream,
    [
      {
        eventId: randomUUID(),
        type: event.type,
        schemaVersion: 1,
        data: event.data,
        metadata: { effectiveAt: clock.now().toISOString(), actor, channel, correlationId: 'c', causationId: null },
      },
    ],
    { expectedRevision: 'any' },
  );
  return events[0]!;
}

describe('the entitlement read model follows the earlier years', () => {
  it('recomputes a doctor-year when an earlier year of the doctor changes (INT-6: no longer a first year)', async () => {
    const db = new PGliteDatabase(await PGlite.create());
    const clock = new ManualClock('2023-12-12T08:00:00Z');
    const store = await SqlEventStore.open({ db, clock, schema: 'es', ownsDatabase: false, pollIntervalMs: 20 });
    const rpps = DOCTORS[0]!;
    const doctor: Actor = { sub: `d-${rpps}`, role: 'doctor', rpps };
    const append = (stream: string, event: DomainEvent, actor: Actor, channel: Channel) => appendNow(store, clock, stream, event, actor, channel);
    const expected = async () => {
      const read = async (id: string) => (await store.readStream(id)).map((e) => defaultUpcasters.upcast(e) as KnownEvent);
      const [campaign, profile, declaration, earlier] = await Promise.all([
        read(streams.campaign(YEAR)),
        read(streams.doctor(rpps)),
        read(streams.declaration(rpps, YEAR)),
        read(streams.declaration(rpps, YEAR - 1)),
      ]);
      const knownAt = [...campaign, ...profile, ...declaration, ...earlier].reduce((m, e) => (e.metadata.recordedAt > m ? e.metadata.recordedAt : m), '');
      return toEntitlementView(computeEntitlement({ rpps, year: YEAR, ruleset: FS_2023, knownAt, campaign, doctor: profile, declaration, earlier }));
    };
    const runner = new ProjectionRunner(store, db, [entitlementProjection], 'rm', { batchSize: 7 });
    try {
      await append(
        streams.campaign(YEAR),
        {
          type: 'CampaignOpened',
          data: { year: YEAR, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' },
        },
        { sub: 'admin', role: 'admin' },
        'back-office',
      );
      // Under the convention since 2023: a first year (INT-6), unless the doctor declared earlier.
      await append(
        streams.doctor(rpps),
        {
          type: 'DoctorProfileRecorded',
          data: { rpps, specialty: 'medecine-generale', caisse: '441', department: '44', convention: { status: 'conventionne', since: '2023-03-01' } },
        },
        system,
        'import',
      );
      const segurSoftware = { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-05-01', kind: 'cabinet' as const };
      await append(
        streams.declaration(rpps, YEAR),
        {
          type: 'IndicatorDeclared',
          data: {
            rpps,
            year: YEAR,
            indicator: 'V1_SEGUR_LAP',
            value: { segurSoftware, lapCertified: true, lap: { editor: 'L', name: 'LAP', certification: 'definitive' } },
            attestation: true,
          },
        },
        doctor,
        'amelipro',
      );
      await runner.start();
      await runner.waitFor(await store.headPosition());
      const first = await readEntitlement(db, 'rm', rpps, YEAR);
      expect(first).toEqual(await expected());
      expect(first!.volet1.indicators.find((i) => i.code === 'V1_SEGUR_LAP')!.reason).toMatch(/première année/);

      // A declaration of the year before, recorded now: 2023 is no longer a first year.
      await append(
        streams.declaration(rpps, YEAR - 1),
        { type: 'IndicatorDeclared', data: { rpps, year: YEAR - 1, indicator: 'V2_VIDEO', value: { answer: true }, attestation: true } },
        doctor,
        'amelipro',
      );
      await runner.waitFor(await store.headPosition());
      const after = await readEntitlement(db, 'rm', rpps, YEAR);
      expect(after).toEqual(await expected());
      expect(after!.volet1.indicators.find((i) => i.code === 'V1_SEGUR_LAP')!.reason).not.toMatch(/première année/);
    } finally {
      await runner.stop();
      await store.close();
      await db.close();
    }
  }, 60_000);

  it('leaves out the data of no type that an upcaster reads (the recompute upcasts what it reads)', () => {
    expect(UPCASTERS.filter((u) => (ENTITLEMENT_READS.withoutDataOf as readonly string[]).includes(u.type)).map((u) => u.type)).toEqual([]);
  });

  it('reads of the earlier years only the types the entitlement reads, and computes what their whole streams give (issue 14)', async () => {
    const db = new PGliteDatabase(await PGlite.create());
    const clock = new ManualClock('2023-12-12T08:00:00Z');
    const store = await SqlEventStore.open({ db, clock, schema: 'es', ownsDatabase: false, pollIntervalMs: 20 });
    const rpps = DOCTORS[1]!;
    const doctor: Actor = { sub: `d-${rpps}`, role: 'doctor', rpps };
    const admin: Actor = { sub: 'admin', role: 'admin' };
    const append = (stream: string, event: DomainEvent, actor: Actor = system, channel: Channel = 'import') =>
      appendNow(store, clock, stream, event, actor, channel);
    const read = async (id: string) => (await store.readStream(id)).map((e) => defaultUpcasters.upcast(e) as KnownEvent);
    // What the whole streams give, at the instant of the latest event of the types counted.
    const expected = async () => {
      const [campaign, profile, declaration, earlier, earlierCampaigns] = await Promise.all([
        read(streams.campaign(YEAR)),
        read(streams.doctor(rpps)),
        read(streams.declaration(rpps, YEAR)),
        read(streams.declaration(rpps, YEAR - 1)),
        read(streams.campaign(YEAR - 1)),
      ]);
      const counted = earlier.filter(countsInEarlierYears);
      const knownAt = [...campaign, ...profile, ...declaration, ...counted, ...earlierCampaigns].reduce(
        (m, e) => (e.metadata.recordedAt > m ? e.metadata.recordedAt : m),
        '',
      );
      return toEntitlementView(
        computeEntitlement({ rpps, year: YEAR, ruleset: FS_2023, knownAt, campaign, doctor: profile, declaration, earlier, earlierCampaigns }),
      );
    };
    const runner = new ProjectionRunner(store, db, [entitlementProjection], 'rm', { batchSize: 5 });
    try {
      for (const y of [YEAR - 1, YEAR]) {
        await append(
          streams.campaign(y),
          {
            type: 'CampaignOpened',
            data: { year: y, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: `${y}-12-11T00:00:00+01:00`, closesAt: `${y + 1}-02-04T23:59:59.999+01:00` },
          },
          admin,
          'back-office',
        );
      }
      await append(streams.doctor(rpps), { type: 'DoctorProfileRecorded', data: { rpps, specialty: 'medecine-generale', caisse: '441', department: '44' } });
      // 2022: a Ségur LAP declaration and its justificatif, validated (rule 4 carries it over), and
      // what the 2023 entitlement does not read: measures.
      const before = { rpps, year: YEAR - 1 };
      const segurSoftware = { editor: 'E', name: 'N', version: '1', acquiredOn: '2022-05-01', kind: 'cabinet' as const };
      const segurValue = { segurSoftware, lapCertified: true, lap: { editor: 'L', name: 'LAP', certification: 'definitive' as const } };
      await append(
        streams.declaration(rpps, YEAR - 1),
        { type: 'IndicatorDeclared', data: { ...before, indicator: 'V1_SEGUR_LAP', value: segurValue, attestation: true } },
        doctor,
        'amelipro',
      );
      const justificatifId = `jf-${YEAR - 1}-${rpps}-${'0'.repeat(12)}`;
      const submitted = await append(
        streams.declaration(rpps, YEAR - 1),
        {
          type: 'JustificatifSubmitted',
          data: {
            ...before,
            justificatifId,
            indicator: 'V1_SEGUR_LAP',
            sha256: 'b'.repeat(64),
            size: 10,
            mediaType: 'application/pdf',
            subjects: ['SEGUR', 'LAP'],
            proves: null,
          },
        },
        doctor,
        'amelipro',
      );
      await append(
        streams.declaration(rpps, YEAR - 1),
        { type: 'JustificatifValidated', data: { ...before, justificatifId, indicator: 'V1_SEGUR_LAP' } },
        system,
        'back-office',
      );
      for (const indicator of RATES)
        await append(streams.declaration(rpps, YEAR - 1), {
          type: 'MeasureRecorded',
          data: { ...before, indicator, source: 'S', measure: { kind: 'rate', numerator: 3, denominator: 4 } },
        });
      // 2023: the doctor declares again.
      await append(
        streams.declaration(rpps, YEAR),
        {
          type: 'IndicatorDeclared',
          data: {
            rpps,
            year: YEAR,
            indicator: 'V1_SEGUR_LAP',
            value: { ...segurValue, segurSoftware: { ...segurSoftware, acquiredOn: '2023-05-01' } },
            attestation: true,
          },
        },
        doctor,
        'amelipro',
      );
      await append(
        streams.declaration(rpps, YEAR),
        { type: 'IndicatorDeclared', data: { rpps, year: YEAR, indicator: 'V2_VIDEO', value: { answer: true }, attestation: true } },
        doctor,
        'amelipro',
      );
      await runner.start();
      await runner.waitFor(await store.headPosition());
      const first = await readEntitlement(db, 'rm', rpps, YEAR);
      expect(first).toEqual(await expected());
      // The 2022 justificatif was read (partially, with its year's declaration and decision) and counts.
      expect(JSON.stringify(first)).toContain(submitted.eventId);

      // Then a 2022 payment, recorded after everything: both years recomputed in one round, 2022
      // read whole; the 2023 view the same, and still known at its own latest event.
      const paid = await append(
        streams.declaration(rpps, YEAR - 1),
        { type: 'PaymentRecorded', data: { ...before, amountCents: 12_345, paidAt: clock.now().toISOString() } },
        system,
        'system',
      );
      await runner.waitFor(await store.headPosition());
      const after = await readEntitlement(db, 'rm', rpps, YEAR);
      expect(after).toEqual(await expected());
      expect(after).toEqual(first);
      expect(Date.parse(after!.knownAt)).toBeLessThan(Date.parse(paid.metadata.recordedAt));
      expect((await readEntitlement(db, 'rm', rpps, YEAR - 1))!.knownAt).toBe(new Date(paid.metadata.recordedAt).toISOString());
    } finally {
      await runner.stop();
      await store.close();
      await db.close();
    }
  }, 60_000);
});
