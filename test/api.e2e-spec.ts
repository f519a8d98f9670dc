import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDevToken } from '@forfait/platform';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { DATABASE_URL, expectRefused, mintTokens, request, schemaName, startTestSystem, type Json } from './support/e2e';
import { dropSchemas } from './support/servers';

const SECRET = 'api-e2e-secret-api-e2e-secret-0123456789';
const GP = '10000000017'; // caisse 441
const CARDIO = '10000000025'; // caisse 751
const YEAR = 2023;

interface Target {
  name: string;
  env: () => Record<string, string>;
  cleanup: () => Promise<void>;
}

const schema = schemaName('api_e2e');
const dataDir = mkdtempSync(join(tmpdir(), 'forfait-api-'));
const targets: Target[] = [
  {
    name: 'embedded (PGlite)',
    env: () => ({ STORE: 'embedded', DATA_DIR: join(dataDir, 'embedded') }),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  },
  {
    name: 'PostgreSQL',
    env: () => ({ STORE: 'postgres', DATABASE_URL, DATABASE_SCHEMA: schema, DATA_DIR: join(dataDir, 'pg') }),
    cleanup: async () => {
      await dropSchemas(DATABASE_URL, schema, `${schema}_rm`);
    },
  },
];

// A tiny valid PDF and PNG, recognised by their magic bytes.
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b50000000049454e44ae426082',
  'hex',
);

describe.each(targets)('HTTP API on $name', (target) => {
  let system: StartedSystem;
  let base: string;
  const tokens: Record<string, string> = {};

  const call = (method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}) =>
    request(base, method, path, token, body, { headers });
  const head = async () => system.runtime.store.headPosition();
  const refused = (status: number, code: string, send: () => Promise<{ status: number; body: Json }>) => expectRefused(head, status, code, send);
  const declare = (token: string, rpps: string, body: Json, headers?: Record<string, string>) =>
    call('POST', `/v1/doctors/${rpps}/campaigns/${YEAR}/declarations`, token, body, headers);

  beforeAll(async () => {
    system = await startTestSystem({ ...target.env(), AUTH_JWT_SECRET: SECRET, CLOCK: '2024-01-15T10:00:00+01:00', REDIS_URL: 'redis://127.0.0.1:6379' });
    base = system.url;
    Object.assign(
      tokens,
      await mintTokens(SECRET, {
        admin: { role: 'admin' },
        system: { role: 'system' },
        gp: { role: 'doctor', rpps: GP },
        cardio: { role: 'doctor', rpps: CARDIO },
        agent441: { role: 'agent', caisse: '441' },
        agent751: { role: 'agent', caisse: '751' },
        auditor: { role: 'auditor' },
        controller441: { role: 'controller', caisse: '441' },
      }),
    );
  });
  afterAll(async () => {
    await system?.close();
    await target.cleanup();
  });

  it('walks a doctor through the 2023 campaign', async () => {
    // The admin opens the campaign; a second opening is refused.
    const opened = await call('POST', '/v1/campaigns', tokens.admin!, {
      year: YEAR,
      ruleset: 'FS-2023',
      opensAt: '2023-12-11T00:00:00+01:00',
      closesAt: '2024-02-04T23:59:59.999+01:00',
    });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ year: YEAR, ruleset: 'FS-2023', rulesetVersion: '1', status: 'open', closesAt: '2024-02-04T23:59:59.999+01:00' });

    // Profiles: an event only when something changed.
    const gpProfile = { specialty: 'medecine-generale', caisse: '441', department: '44' };
    expect((await call('PUT', `/v1/doctors/${GP}`, tokens.system!, gpProfile)).body).toMatchObject({ changed: true, revision: 0 });
    expect((await call('PUT', `/v1/doctors/${GP}`, tokens.system!, gpProfile)).body).toMatchObject({ changed: false, revision: 0 });
    expect((await call('PUT', `/v1/doctors/${CARDIO}`, tokens.admin!, { specialty: 'cardiologie', caisse: '751', department: '75' })).status).toBe(200);

    // Pre-fills: a bad item is reported with its index, the valid ones are kept; re-sending appends nothing.
    const prefills = {
      source: 'SONS',
      items: [
        {
          rpps: GP,
          year: YEAR,
          indicator: 'V1_SEGUR_LAP',
          value: { segurSoftware: { editor: 'Éditeur', name: 'MédiLog', version: '5', acquiredOn: '2023-03-01' }, lapCertified: true },
        },
        { rpps: '12345678901', year: YEAR, indicator: 'V1_SEGUR_LAP', value: {} },
      ],
    };
    const first = await call('POST', '/v1/imports/prefills', tokens.system!, prefills);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ received: 2, appended: 1, duplicates: 0, rejected: [{ index: 1, code: 'VALIDATION_FAILED' }] });
    const again = await call('POST', '/v1/imports/prefills', tokens.system!, prefills);
    expect(again.body).toMatchObject({ received: 2, appended: 0, duplicates: 1 });
    const hours = await call('POST', '/v1/imports/prefills', tokens.system!, {
      source: 'ANNUAIRE_SANTE',
      items: [{ rpps: GP, year: YEAR, indicator: 'V1_HORAIRES', value: { displayed: true }, effectiveAt: '2023-11-20T10:00:00+01:00' }],
    });
    expect(hours.body).toMatchObject({ appended: 1 });

    // Measures, with a bad item and an idempotent re-send.
    const measures = {
      source: 'SNDS',
      items: [
        {
          rpps: GP,
          year: YEAR,
          indicator: 'V1_TELETRANSMISSION',
          months: [
            { month: '2023-01', fse: 80, total: 100 },
            { month: '2023-02', fse: 70, total: 100 },
          ],
          teletransmittedPreviousYear: true,
        },
        { rpps: GP, year: YEAR, indicator: 'V2_AAT', numerator: 70, denominator: 100 },
        { rpps: GP, year: YEAR, indicator: 'V2_MSS', numerator: 5, denominator: 100 },
        { rpps: GP, year: YEAR, indicator: 'V2_APCV', numerator: 2 },
        { rpps: GP, year: YEAR, indicator: 'V2_DMP', numerator: 9 },
      ],
    };
    const m1 = await call('POST', '/v1/imports/measures', tokens.system!, measures);
    expect(m1.body).toMatchObject({ received: 5, appended: 4, rejected: [{ index: 4, code: 'VALUE_INVALID' }] });
    expect((await call('POST', '/v1/imports/measures', tokens.system!, measures)).body).toMatchObject({ appended: 0, duplicates: 4 });

    // The doctor declares on amelipro, then corrects a declaration: both stay in the history.
    const codage = await declare(tokens.gp!, GP, { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true });
    expect(codage.status).toBe(201);
    expect(codage.body).toEqual({ eventId: expect.any(String), revision: expect.any(Number), position: expect.stringMatching(/^\d+$/) });
    expect(codage.headers.get('etag')).toBe(`"${codage.body.revision}"`);
    // Rule 2: SONS gave the software only; the doctor confirms it and names the LAP.
    const lap = { editor: 'Éditeur', name: 'MédiLog LAP', certification: 'definitive' };
    expect(
      (
        await declare(tokens.gp!, GP, {
          indicator: 'V1_SEGUR_LAP',
          value: { segurSoftware: { editor: 'Éditeur', name: 'MédiLog', version: '5', acquiredOn: '2023-03-01' }, lapCertified: true, lap },
          attestation: false,
        })
      ).status,
    ).toBe(201);
    await declare(tokens.gp!, GP, { indicator: 'V2_MAITRE_STAGE', value: { answer: false }, attestation: true });
    const correction = await declare(
      tokens.gp!,
      GP,
      { indicator: 'V2_MAITRE_STAGE', value: { answer: true }, attestation: true },
      { 'x-correlation-id': 'corr-walkthrough' },
    );
    expect(correction.status).toBe(201);
    expect(correction.headers.get('x-correlation-id')).toBe('corr-walkthrough');
    // Idle connections kept above a load balancer's 60 s (HTTP_KEEP_ALIVE_TIMEOUT_SECONDS): the client knows.
    expect(correction.headers.get('keep-alive')).toBe('timeout=65');
    await declare(tokens.gp!, GP, { indicator: 'V2_COORDINATION', value: { answer: true, modalities: ['MSP'] }, attestation: true });
    const beforeTransmission = (await system.runtime.store.readAll({ maxCount: 1000 })).at(-1)!.metadata.recordedAt;
    expect((await call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/transmissions`, tokens.gp!, {})).status).toBe(201);

    // An agent of 441 keys a paper form received on 12 January, on the doctor's behalf.
    const paper = await declare(tokens.agent441!, GP, {
      indicator: 'V2_VIDEO',
      value: { answer: true },
      attestation: true,
      channel: 'paper',
      effectiveAt: '2024-01-12T09:00:00+01:00',
    });
    expect(paper.status).toBe(201);

    // A justificatif (by content), then the agent of the doctor's caisse validates it.
    const form = new FormData();
    form.append('indicator', 'V2_SAS');
    form.append('file', new Blob([PDF]), 'attestation-cpts.txt');
    const upload = await call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/justificatifs`, tokens.gp!, form);
    expect(upload.status).toBe(201);
    expect(upload.body).toMatchObject({
      id: expect.stringMatching(/^jf-2023-10000000017-/),
      size: PDF.length,
      mediaType: 'application/pdf',
      status: 'pending',
      notice: expect.stringMatching(/donnée médicale/),
    });
    expect(upload.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    await system.runtime.projector!.waitFor(await head());
    const worklist = await call('GET', '/v1/justificatifs?caisse=441&status=pending', tokens.agent441!);
    expect(worklist.body.items).toEqual([expect.objectContaining({ id: upload.body.id, rpps: GP, caisse: '441', status: 'pending', indicator: 'V2_SAS' })]);
    await refused(403, 'FORBIDDEN', () => call('POST', `/v1/justificatifs/${upload.body.id}/decision`, tokens.agent751!, { decision: 'validated' }));
    const decided = await call('POST', `/v1/justificatifs/${upload.body.id}/decision`, tokens.agent441!, { decision: 'validated' });
    expect(decided.status).toBe(201);
    await refused(409, 'JUSTIFICATIF_ALREADY_DECIDED', () =>
      call('POST', `/v1/justificatifs/${upload.body.id}/decision`, tokens.agent441!, { decision: 'rejected', reason: 'x' }),
    );
    // A per-doctor justificatif is not the CPTS president's attestation (rules spec "SAS"): the
    // caisse records the CPTS's attestation listing the doctor, and validates it.
    const cpts = new FormData();
    for (const [k, v] of [
      ['year', String(YEAR)],
      ['cpts', 'CPTS Nantes Nord'],
      ['software', 'Logiciel SAS'],
      ['rpps', JSON.stringify([GP])],
    ])
      cpts.append(k!, v!);
    cpts.append('file', new Blob([PDF]), 'attestation-president-cpts.pdf');
    const attestation = await call('POST', '/v1/sas-attestations', tokens.agent441!, cpts);
    expect(attestation.body).toMatchObject({ rpps: [GP], status: 'pending' });
    expect((await call('POST', `/v1/justificatifs/${attestation.body.id}/decision`, tokens.agent441!, { decision: 'validated' })).status).toBe(201);

    // The entitlement, now and as known before the transmission.
    const now = await call('GET', `/v1/doctors/${GP}/campaigns/${YEAR}/entitlement`, tokens.gp!);
    expect(now.status).toBe(200);
    expect(now.body).toMatchObject({ rpps: GP, year: YEAR, ruleset: 'FS-2023', rulesetVersion: '1', volet1: { met: true, points: 280 }, paidCents: 0 });
    const v2 = Object.fromEntries((now.body.volet2.indicators as Json[]).map((i) => [i.code, i]));
    expect(v2.V2_AAT).toMatchObject({ met: true, points: 30.5, reason: 'taux 70 % ≥ objectif 70 % (70/100)' });
    expect(v2.V2_DCMT).toMatchObject({ met: true, points: 22.5 });
    expect(v2.V2_MAITRE_STAGE).toMatchObject({ met: true, points: 50, evidence: [correction.body.eventId] });
    expect(v2.V2_SAS).toMatchObject({ met: true, points: 200 });
    // 280 + AAT 30.5 + DCMT 22.5 + MSS 40 + APCV 40 + CODAGE 50 + MAITRE 50 + COORD 120 + VIDEO 50 + SAS 200 = 883
    expect(now.body.totalPoints).toBe(883);
    expect(now.body.amountCents).toBe(618_100);
    const earlier = await call('GET', `/v1/doctors/${GP}/campaigns/${YEAR}/entitlement?knownAt=${encodeURIComponent(beforeTransmission)}`, tokens.auditor!);
    expect(earlier.body.knownAt).toBe(beforeTransmission);
    expect(earlier.body.totalPoints).toBe(883 - 50 - 200);

    // The history: every event about the doctor, in recorded order, with its envelope and hash.
    const history = await call('GET', `/v1/doctors/${GP}/history?year=${YEAR}`, tokens.controller441!);
    expect(history.status).toBe(200);
    const events = history.body.events as Json[];
    expect(events[0]).toMatchObject({ streamId: `doctor-${GP}`, type: 'DoctorProfileRecorded', revision: 0 });
    expect(events.filter((e) => e.type === 'IndicatorDeclared' && e.data.indicator === 'V2_MAITRE_STAGE')).toHaveLength(2);
    const paperEvent = events.find((e) => e.eventId === paper.body.eventId)!;
    expect(paperEvent).toMatchObject({
      channel: 'paper',
      effectiveAt: '2024-01-12T08:00:00.000Z',
      actor: { role: 'agent', caisse: '441' },
      onBehalfOf: { rpps: GP },
    });
    expect(events.find((e) => e.eventId === correction.body.eventId)).toMatchObject({ correlationId: 'corr-walkthrough' });
    for (const key of ['eventId', 'streamId', 'revision', 'type', 'recordedAt', 'effectiveAt', 'actor', 'channel', 'data', 'hash', 'prevHash'])
      expect(events[1]).toHaveProperty(key);
    const positions = events.map((e) => BigInt(e.position));
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    const known = await call('GET', `/v1/doctors/${GP}/history?year=${YEAR}&knownAt=${encodeURIComponent(beforeTransmission)}`, tokens.auditor!);
    expect((known.body.events as Json[]).some((e) => e.type === 'DeclarationTransmitted')).toBe(false);

    // The deadline is extended (seed 002); the history of deadlines shows both.
    const ext = await call('POST', `/v1/campaigns/${YEAR}/deadline-extensions`, tokens.admin!, {
      closesAt: '2024-02-11T23:59:59.999+01:00',
      reason: 'Prolongation',
      reference: 'ameli.fr',
    });
    expect(ext.status).toBe(201);
    expect(ext.body).toMatchObject({ previousClosesAt: '2024-02-04T23:59:59.999+01:00', closesAt: '2024-02-11T23:59:59.999+01:00' });
    const campaign = await call('GET', `/v1/campaigns/${YEAR}`, tokens.gp!);
    expect((campaign.body.deadlines as Json[]).map((d) => d.closesAt)).toEqual(['2024-02-04T23:59:59.999+01:00', '2024-02-11T23:59:59.999+01:00']);
    const amend = await call('POST', `/v1/campaigns/${YEAR}/rule-amendments`, tokens.admin!, {
      indicator: 'V2_DMP',
      changes: { target: 10 },
      reason: 'lettre aux CPAM',
    });
    expect(amend.status).toBe(201);

    // The calculation records the entitlement once; the payment is its own event.
    const calc = await call('POST', `/v1/campaigns/${YEAR}/calculations`, tokens.system!, { rpps: GP });
    expect(calc.status).toBe(201);
    expect(calc.body).toMatchObject({ recorded: true, amountCents: 618_100, rulesetVersion: '1' });
    expect((await call('POST', `/v1/campaigns/${YEAR}/calculations`, tokens.system!, { rpps: GP })).body).toMatchObject({ recorded: false });
    const paid = await call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/payments`, tokens.system!, {
      amountCents: 618_100,
      paidAt: '2024-01-15T09:00:00+01:00',
    });
    expect(paid.status).toBe(201);
    const after = await call('GET', `/v1/doctors/${GP}/campaigns/${YEAR}/entitlement`, tokens.agent441!);
    expect(after.body).toMatchObject({ amountCents: 618_100, paidCents: 618_100, balanceCents: 0 });

    // The campaign dashboard, per caisse: the agent sees its own.
    await system.runtime.projector!.waitFor(await head());
    const dashboard = await call('GET', `/v1/campaigns/${YEAR}/dashboard`, tokens.agent441!);
    expect(dashboard.body.caisses).toEqual([
      expect.objectContaining({
        caisse: '441',
        caisseName: 'CPAM de la Loire-Atlantique',
        doctors: 1,
        transmitted: 1,
        declarations: expect.objectContaining({ V2_VIDEO: { doctors: 1, paperOrBackOffice: 1 }, V2_CODAGE: { doctors: 1, paperOrBackOffice: 0 } }),
      }),
    ]);
    expect((await call('GET', '/v1/controls?status=open', tokens.controller441!)).body).toEqual({ caisse: '441', status: 'open', items: [] });
    await refused(403, 'FORBIDDEN', () => call('GET', `/v1/campaigns/${YEAR}/dashboard?caisse=751`, tokens.agent441!));
    await refused(403, 'FORBIDDEN', () => call('GET', '/v1/contestations', tokens.gp!));
  });

  it('issue 13.1: a whole-year V1_TELETRANSMISSION item (api.md) is accepted, and a batch with rejected items says so', async () => {
    const rpps = '10000000090';
    expect((await call('PUT', `/v1/doctors/${rpps}`, tokens.system!, { specialty: 'medecine-generale', caisse: '441', department: '44' })).status).toBe(200);
    const yearly = await call('POST', '/v1/imports/measures', tokens.system!, {
      source: 'SNDS',
      items: [{ rpps, year: YEAR, indicator: 'V1_TELETRANSMISSION', numerator: 90, denominator: 100 }],
    });
    expect(yearly.status).toBe(200);
    expect(yearly.body).toMatchObject({ received: 1, appended: 1, rejected: [], status: 'complete' });
    const entitlement = await call('GET', `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement`, tokens.auditor!);
    expect((entitlement.body.volet1.indicators as Json[]).find((i) => i.code === 'V1_TELETRANSMISSION')).toMatchObject({
      met: true,
      reason: 'FSE 90 / 100 actes = 90 % ≥ 2/3 (taux annuel transmis)',
    });
    // Monthly counts still need the flag (the period depends on 2022); the batch's answer cannot pass for a success.
    const mixed = await call('POST', '/v1/imports/measures', tokens.system!, {
      source: 'SNDS',
      items: [
        { rpps, year: YEAR, indicator: 'V2_AAT', numerator: 70, denominator: 100 },
        { rpps, year: YEAR, indicator: 'V1_TELETRANSMISSION', months: [{ month: '2023-01', fse: 80, total: 100 }] },
      ],
    });
    expect(mixed.status).toBe(200);
    expect(mixed.body).toMatchObject({ received: 2, appended: 1, rejected: [{ index: 1, code: 'VALUE_INVALID' }], status: 'partial' });
    expect(mixed.body.summary).toMatch(/1 élément rejeté/);
  });

  it('issue 13.6: lists and parameters amended by events with their provenance; a replay known before uses the old values', async () => {
    const rpps = '10000000108';
    expect((await call('PUT', `/v1/doctors/${rpps}`, tokens.system!, { specialty: 'cardiologie', caisse: '441', department: '44' })).status).toBe(200);
    const paper = { channel: 'paper', effectiveAt: '2024-01-10T09:00:00+01:00' };
    const clic = await declare(tokens.agent441!, rpps, {
      indicator: 'V2_SERVICES_PATIENTS',
      value: { answer: true, modalities: ['CLIC'] },
      attestation: true,
      ...paper,
    });
    expect(clic.status).toBe(201);
    const before = (await system.runtime.store.readAll({ maxCount: 10_000 })).at(-1)!.metadata.recordedAt;
    const amended = await call('POST', `/v1/campaigns/${YEAR}/rule-amendments`, tokens.admin!, {
      changes: { list: 'servicesModalities', remove: ['CLIC'] },
      reason: 'CLIC fondus dans les DAC',
      reference: 'circulaire',
    });
    expect(amended.status).toBe(201);
    await refused(422, 'AMENDMENT_INVALID', () =>
      call('POST', `/v1/campaigns/${YEAR}/rule-amendments`, tokens.admin!, { changes: { list: 'servicesModalitiez', remove: ['CLIC'] }, reason: 'r' }),
    );
    await refused(422, 'AMENDMENT_INVALID', () =>
      call('POST', `/v1/campaigns/${YEAR}/rule-amendments`, tokens.admin!, { changes: { parameter: 'mssReportOver', value: 'half' }, reason: 'r' }),
    );
    expect(
      (
        await call('POST', `/v1/campaigns/${YEAR}/rule-amendments`, tokens.admin!, {
          changes: { parameter: 'mssReportOver', value: 'six-teleservices' },
          reason: 'lecture du guide',
        })
      ).status,
    ).toBe(201);
    // The campaign as known now and as known before: lists and parameters.
    const now = await call('GET', `/v1/campaigns/${YEAR}`, tokens.auditor!);
    expect(now.body.lists.servicesModalities).not.toContain('CLIC');
    expect(now.body.parameters).toMatchObject({ mssReportOver: 'six-teleservices', segurDeadline: '2024-01-31T23:59:59.999+01:00' });
    expect(now.body.indicators.V2_AAT).toEqual({ target: 70, points: 30.5, neutralised: false });
    expect(now.body.indicators.V1_TELETRANSMISSION).toMatchObject({ target: '2/3' });
    const then = await call('GET', `/v1/campaigns/${YEAR}?knownAt=${encodeURIComponent(before)}`, tokens.auditor!);
    expect(then.body.lists.servicesModalities).toContain('CLIC');
    expect(then.body.parameters.mssReportOver).toBe('all-nine');
    // A declaration is refused against the list in force when received; an accepted one is un-met by the later removal.
    await refused(422, 'MODALITY_NOT_ALLOWED', () =>
      declare(tokens.agent441!, rpps, { indicator: 'V2_SERVICES_PATIENTS', value: { answer: true, modalities: ['CLIC'] }, attestation: true, ...paper }),
    );
    const services = (e: Json) => (e.volet2.indicators as Json[]).find((i) => i.code === 'V2_SERVICES_PATIENTS')!;
    expect(services((await call('GET', `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement`, tokens.auditor!)).body).met).toBe(false);
    expect(
      services((await call('GET', `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement?knownAt=${encodeURIComponent(before)}`, tokens.auditor!)).body).met,
    ).toBe(true);
  });

  it('issue 13.4 and 20.5: a doctor outside the convention gets 0 with the reason; an undated hours pre-fill is refused with its index', async () => {
    const rpps = '10000000116';
    const profile = { specialty: 'cardiologie', caisse: '441', department: '44', convention: { status: 'non-conventionne' }, effectiveFrom: '2023-01-01' };
    expect((await call('PUT', `/v1/doctors/${rpps}`, tokens.system!, profile)).body).toMatchObject({
      changed: true,
      convention: { status: 'non-conventionne' },
    });
    await refused(400, 'VALIDATION_FAILED', () => call('PUT', `/v1/doctors/${rpps}`, tokens.system!, { ...profile, convention: { status: 'retraite' } }));
    await refused(400, 'VALIDATION_FAILED', () =>
      call('PUT', `/v1/doctors/${rpps}`, tokens.system!, { ...profile, convention: { status: 'conventionne', since: '2023-05-01', until: '2023-01-01' } }),
    );
    const hours = await call('POST', '/v1/imports/prefills', tokens.system!, {
      source: 'ANNUAIRE_SANTE',
      items: [
        { rpps, year: YEAR, indicator: 'V1_HORAIRES', value: { displayed: true } },
        { rpps, year: YEAR, indicator: 'V1_HORAIRES', value: { displayed: true }, effectiveAt: '2023-11-20T10:00:00+01:00' },
      ],
    });
    expect(hours.body).toMatchObject({ received: 2, appended: 1, rejected: [{ index: 0, code: 'VALIDATION_FAILED' }], status: 'partial' });
    // Hours entered in the future cannot be: that item is refused with its index, nothing of it written, the batch kept.
    const future = await call('POST', '/v1/imports/prefills', tokens.system!, {
      source: 'ANNUAIRE_SANTE',
      items: [
        { rpps, year: YEAR, indicator: 'V1_HORAIRES', value: { displayed: false }, effectiveAt: '2099-01-01T10:00:00+01:00' },
        { rpps, year: YEAR, indicator: 'V1_HORAIRES', value: { displayed: true }, effectiveAt: '2023-11-21T10:00:00+01:00' },
      ],
    });
    expect(future.body).toMatchObject({ received: 2, appended: 1, rejected: [{ index: 0, code: 'EFFECTIVE_AT_IN_FUTURE' }], status: 'partial' });
    const e = await call('GET', `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement`, tokens.auditor!);
    expect(e.body).toMatchObject({ eligibility: { eligible: false, reason: expect.stringMatching(/non conventionné/) }, totalPoints: 0, amountCents: 0 });
    expect((e.body.volet1.indicators as Json[]).find((i) => i.code === 'V1_HORAIRES')).toMatchObject({ met: true });
  });

  it('refuses with 401/403 and a reason, and writes nothing', async () => {
    const body = { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true };
    await refused(401, 'UNAUTHENTICATED', () =>
      call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/declarations`, null, body, { authorization: 'Basic Zm9vOmJhcg==' }),
    );
    await refused(401, 'UNAUTHENTICATED', () => call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/declarations`, null, body));
    const forged = await signDevToken('another-secret-another-secret-0123456789', { role: 'doctor', rpps: GP });
    expect((await refused(401, 'UNAUTHENTICATED', () => declare(forged, GP, body))).message).toMatch(/jeton invalide \(signature non vérifiée\)/);
    expect((await refused(403, 'FORBIDDEN', () => declare(tokens.gp!, CARDIO, body))).details).toEqual({ reason: 'OTHER_DOCTOR' });
    expect((await refused(403, 'FORBIDDEN', () => declare(tokens.agent751!, GP, { ...body, channel: 'paper' }))).details).toEqual({ reason: 'OTHER_CAISSE' });
    expect((await refused(403, 'FORBIDDEN', () => declare(tokens.auditor!, GP, body))).details).toEqual({ reason: 'ROLE_NOT_ALLOWED' });
    await refused(403, 'FORBIDDEN', () =>
      call('POST', '/v1/campaigns', tokens.gp!, {
        year: 2024,
        ruleset: 'FS-2024',
        opensAt: '2024-12-01T00:00:00+01:00',
        closesAt: '2025-02-01T00:00:00+01:00',
      }),
    );
    await refused(403, 'FORBIDDEN', () => call('POST', '/v1/imports/measures', tokens.agent441!, { source: 'S', items: [{}] }));
    await refused(403, 'FORBIDDEN', () => call('GET', `/v1/doctors/${GP}/campaigns/${YEAR}/entitlement`, tokens.cardio!));
    await refused(403, 'FORBIDDEN', () => call('GET', `/v1/doctors/${GP}/history`, tokens.agent751!));
    await refused(403, 'FORBIDDEN', () => call('GET', '/v1/justificatifs?caisse=441', tokens.agent751!));
    // api.md: the 403 codes CHANNEL_NOT_ALLOWED and EFFECTIVE_AT_NOT_ALLOWED (details.reason kept for earlier consumers).
    expect(
      (await refused(403, 'EFFECTIVE_AT_NOT_ALLOWED', () => declare(tokens.gp!, GP, { ...body, effectiveAt: '2024-01-10T10:00:00+01:00' }))).details,
    ).toEqual({ reason: 'EFFECTIVE_AT_NOT_ALLOWED' });
    await refused(403, 'CHANNEL_NOT_ALLOWED', () => declare(tokens.gp!, GP, { ...body, channel: 'paper' }));
    await refused(403, 'CHANNEL_NOT_ALLOWED', () => declare(tokens.agent441!, GP, { ...body, channel: 'amelipro' }));
  });

  it('refuses bad input with a stable code, and writes nothing', async () => {
    const ok = { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true };
    await refused(400, 'VALIDATION_FAILED', () => declare(tokens.gp!, GP, { ...ok, extra: 1 }));
    await refused(400, 'VALIDATION_FAILED', () => declare(tokens.gp!, GP, { ...ok, indicator: 'V2_AAT' }));
    await refused(400, 'VALIDATION_FAILED', () => declare(tokens.gp!, GP, { ...ok, value: { answer: 'oui' } }));
    await refused(400, 'VALIDATION_FAILED', () => declare(tokens.gp!, GP, { ...ok, value: { answer: true, more: 1 } }));
    await refused(400, 'INVALID_RPPS', () => declare(tokens.gp!, '10000000018', ok));
    await refused(400, 'VALIDATION_FAILED', () =>
      call('PUT', `/v1/doctors/${GP}`, tokens.system!, { specialty: 'chirurgie-du-dimanche', caisse: '44', department: '44' }),
    );
    await refused(400, 'VALIDATION_FAILED', () =>
      call('POST', `/v1/campaigns/${YEAR}/deadline-extensions`, tokens.admin!, { closesAt: '2024-03-01', reason: 'r' }),
    );
    await refused(400, 'INVALID_INSTANT', () => call('GET', `/v1/doctors/${GP}/campaigns/${YEAR}/entitlement?knownAt=yesterday`, tokens.gp!));
    // Issue 18.5: a "+" left unencoded arrives as a space; the answer says how to send it.
    expect(
      (
        await refused(400, 'INVALID_INSTANT', () =>
          call('GET', `/v1/doctors/${GP}/campaigns/${YEAR}/entitlement?knownAt=2024-01-20T10:00:00+01:00`, tokens.gp!),
        )
      ).message,
    ).toMatch(/^knownAt : un instant ISO 8601 avec son décalage est attendu .*encodez \+ en %2B/);
    await refused(422, 'MODALITY_NOT_ALLOWED', () =>
      declare(tokens.gp!, GP, { indicator: 'V2_SERVICES_PATIENTS', value: { answer: true, modalities: ['PLATEFORME_RDV'] }, attestation: true }),
    );
    await refused(422, 'DEVICE_NOT_ALLOWED', () =>
      declare(tokens.gp!, GP, { indicator: 'V2_EQUIPEMENT_CONNECTE', value: { answer: true, devices: ['BALANCE'] }, attestation: true }),
    );
    await refused(422, 'ATTESTATION_REQUIRED', () => declare(tokens.gp!, GP, { ...ok, attestation: false }));
    await refused(409, 'CAMPAIGN_CLOSED', () => declare(tokens.agent441!, GP, { ...ok, channel: 'paper', effectiveAt: '2023-12-01T10:00:00+01:00' }));
    await refused(422, 'EFFECTIVE_AT_IN_FUTURE', () => declare(tokens.agent441!, GP, { ...ok, channel: 'paper', effectiveAt: '2025-01-01T10:00:00+01:00' }));
    await refused(404, 'CAMPAIGN_NOT_FOUND', () => call('POST', `/v1/doctors/${GP}/campaigns/2022/declarations`, tokens.gp!, ok));
    await refused(422, 'EXTENSION_NOT_LATER', () =>
      call('POST', `/v1/campaigns/${YEAR}/deadline-extensions`, tokens.admin!, { closesAt: '2024-02-01T23:59:59+01:00', reason: 'trop tôt' }),
    );
    await refused(422, 'AMENDMENT_INVALID', () =>
      call('POST', `/v1/campaigns/${YEAR}/rule-amendments`, tokens.admin!, { indicator: 'V2_CODAGE', changes: { target: 50 }, reason: 'r' }),
    );
    await refused(400, 'VALIDATION_FAILED', () =>
      call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/payments`, tokens.system!, { amountCents: -5, paidAt: '2024-04-15T00:00:00+02:00' }),
    );
  });

  it('honours If-Match: a stale revision is refused with 412 STALE_REVISION', async () => {
    const body = { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true };
    const first = await declare(tokens.gp!, GP, body);
    const revision = first.body.revision as number;
    const fresh = await declare(tokens.gp!, GP, body, { 'if-match': `"${revision}"` });
    expect(fresh.status).toBe(201);
    expect(fresh.body.revision).toBe(revision + 1);
    const stale = await refused(412, 'STALE_REVISION', () => declare(tokens.gp!, GP, body, { 'if-match': `"${revision}"` }));
    expect(stale.details).toMatchObject({ expected: String(revision), actual: String(revision + 1) });
  });

  it('refuses justificatifs by content (415) and by size (413), storing nothing', async () => {
    const exe = new FormData();
    exe.append('indicator', 'V1_SEGUR_LAP');
    exe.append('file', new Blob([Buffer.from('MZ\x90\x00 not a document at all')]), 'facture.pdf');
    const unsupported = await refused(415, 'UNSUPPORTED_MEDIA_TYPE', () => call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/justificatifs`, tokens.gp!, exe));
    expect(unsupported.message).toMatch(/judged by content/);
    const big = new FormData();
    big.append('indicator', 'V1_SEGUR_LAP');
    big.append('file', new Blob([PNG, Buffer.alloc(10 * 1024 * 1024)]), 'scan.png');
    await refused(413, 'PAYLOAD_TOO_LARGE', () => call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/justificatifs`, tokens.gp!, big));
    const png = new FormData();
    png.append('indicator', 'V1_SEGUR_LAP');
    png.append('file', new Blob([PNG]), 'scan.bin');
    const accepted = await call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/justificatifs`, tokens.gp!, png);
    expect(accepted.body).toMatchObject({ mediaType: 'image/png', status: 'pending' });
  });

  it('serves the OpenAPI description generated from the code', async () => {
    const res = await fetch(`${base}/docs/openapi.json`);
    const doc = (await res.json()) as Json;
    // Issue 18.6: every operation documents its success answer and its errors with the envelope.
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item)) {
        const statuses = Object.keys(op.responses as Json);
        expect({ op: `${method} ${path}`, ok: statuses.some((s) => s.startsWith('2')) }).toEqual({ op: `${method} ${path}`, ok: true });
        const errors = statuses.filter((s) => Number(s) >= 400);
        expect({ op: `${method} ${path}`, errors: errors.length > 0 }).toEqual({ op: `${method} ${path}`, errors: true });
        for (const s of errors) expect(op.responses[s].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorEnvelope' });
      }
    }
    expect(doc.paths['/v1/doctors/{rpps}/campaigns/{year}/payments'].post.responses['409'].description).toMatch(/PAYMENT_DUPLICATE/);
    expect(doc.paths['/v1/doctors/{rpps}/campaigns/{year}/entitlement'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty(
      'eligibility',
    );
    expect(doc.info.description).toMatch(/npm run cli -- token/);
    expect(doc.info.description).toMatch(/POST \/v1\/dev\/tokens.*Authorize/s);
    // A consumer reading the page: what the justificatifs worklist answers, and the two answers that are not JSON.
    expect(doc.paths['/v1/justificatifs'].get.responses['200'].content['application/json'].example.items[0]).toMatchObject({
      kind: 'justificatif',
      status: 'pending',
      mediaType: 'application/pdf',
    });
    expect(Object.keys(doc.paths['/v1/justificatifs/{id}/file'].get.responses['200'].content)).toEqual(['*/*']);
    expect(Object.keys(doc.paths['/health/metrics'].get.responses['200'].content)).toEqual(['text/plain']);
    expect((doc.paths['/v1/justificatifs'].get.parameters as Json[]).map((p) => p.name)).toEqual(expect.arrayContaining(['caisse', 'status']));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/campaigns',
        '/v1/campaigns/{year}/deadline-extensions',
        '/v1/campaigns/{year}/rule-amendments',
        '/v1/doctors/{rpps}/campaigns/{year}/declarations',
        '/v1/imports/measures',
        '/v1/justificatifs/{id}/decision',
        '/v1/sas-attestations',
        '/v1/doctors/{rpps}/campaigns/{year}/entitlement',
        '/v1/doctors/{rpps}/history',
      ]),
    );
  });
});
