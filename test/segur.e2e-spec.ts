import { PgTestSystem, expectRefused, mintTokens, request, type Json } from './support/e2e';

const SECRET = 'segur-e2e-secret-segur-e2e-secret-0123456';
const GP = '10000000017'; // caisse 441
const CARDIO = '10000000025'; // caisse 751

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const MEDILOG = { editor: 'Éditeur', name: 'MédiLog', version: '5', acquiredOn: '2023-03-01' };
const LAP = { editor: 'Éditeur', name: 'MédiLog LAP', certification: 'definitive' };

/**
 * V1_SEGUR_LAP through the running API, the server restarted with its clock moved on (guide §I.1,
 * second reading): the LAP declared by the doctor and named, the reference lists, justificatifs with
 * their subjects, and the Ségur deadline of 31/01/2024 that the window's extension does not move.
 */
describe('V1_SEGUR_LAP on the running system (rules 1–5, INT-7)', () => {
  const sut = new PgTestSystem('segur_e2e', { AUTH_JWT_SECRET: SECRET, REDIS_URL: 'redis://127.0.0.1:6379' });
  const tokens: Record<string, string> = {};

  const at = (clock: string) => sut.at(clock);
  const call = (method: string, path: string, who: string, body?: unknown) => request(sut.url, method, path, tokens[who], body);
  const head = async () => sut.running.runtime.store.headPosition();
  const refused = (status: number, code: string, send: () => Promise<{ status: number; body: Json }>) => expectRefused(head, status, code, send);
  const declareSegur = (who: string, rpps: string, value: Json) =>
    call('POST', `/v1/doctors/${rpps}/campaigns/2023/declarations`, who, { indicator: 'V1_SEGUR_LAP', value, attestation: false });
  const upload = (who: string, rpps: string, subjects?: string[] | string, fields: Record<string, string> = {}) => {
    const form = new FormData();
    form.append('indicator', 'V1_SEGUR_LAP');
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    if (Array.isArray(subjects)) for (const s of subjects) form.append('subjects', s);
    else if (subjects !== undefined) form.append('subjects', subjects);
    form.append('file', new Blob([PDF]), 'facture.pdf');
    return call('POST', `/v1/doctors/${rpps}/campaigns/2023/justificatifs`, who, form);
  };
  const segurOf = async (rpps: string, who: string) =>
    ((await call('GET', `/v1/doctors/${rpps}/campaigns/2023/entitlement`, who)).body.volet1.indicators as Json[]).find((i) => i.code === 'V1_SEGUR_LAP')!;

  beforeAll(async () => {
    const claims = {
      admin: { role: 'admin' },
      system: { role: 'system' },
      gp: { role: 'doctor', rpps: GP },
      cardio: { role: 'doctor', rpps: CARDIO },
      agent441: { role: 'agent', caisse: '441' },
      agent751: { role: 'agent', caisse: '751' },
    } as const;
    Object.assign(tokens, await mintTokens(SECRET, claims));
  });
  afterAll(() => sut.close());

  it('names the LAP, checks the reference lists, records subjects, and closes the Ségur part on 31/01/2024', async () => {
    // 20 January 2024, inside the window and before the Ségur deadline.
    await at('2024-01-20T10:00:00+01:00');
    expect(
      (
        await call('POST', '/v1/campaigns', 'admin', {
          year: 2023,
          ruleset: 'FS-2023',
          opensAt: '2023-12-11T00:00:00+01:00',
          closesAt: '2024-02-04T23:59:59.999+01:00',
        })
      ).status,
    ).toBe(201);
    expect((await call('PUT', `/v1/doctors/${GP}`, 'system', { specialty: 'medecine-generale', caisse: '441', department: '44' })).status).toBe(200);
    expect((await call('PUT', `/v1/doctors/${CARDIO}`, 'system', { specialty: 'cardiologie', caisse: '751', department: '75' })).status).toBe(200);

    // api.md: SONS's lapCertified is accepted and ignored (guide §I.1.b « le sous indicateur LAP certifié HAS ne sera pas renseigné »).
    const prefill = await call('POST', '/v1/imports/prefills', 'system', {
      source: 'SONS',
      items: [{ rpps: GP, year: 2023, indicator: 'V1_SEGUR_LAP', value: { segurSoftware: MEDILOG, lapCertified: true } }],
    });
    expect(prefill.body).toMatchObject({ appended: 1, rejected: [] });
    expect(await segurOf(GP, 'gp')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/^LAP non déclaré : le pré-remplissage SONS ne renseigne pas le LAP/),
    });

    // The caisse loads hasLap; a LAP not on it, or unnamed, is refused (422 SOFTWARE_NOT_REFERENCED), nothing recorded.
    const amended = await call('POST', '/v1/campaigns/2023/rule-amendments', 'admin', {
      changes: { list: 'hasLap', add: [{ editor: 'Éditeur', name: 'MédiLog LAP' }] },
      reason: 'Liste HAS des LAP certifiés',
    });
    expect(amended.status).toBe(201);
    await refused(422, 'SOFTWARE_NOT_REFERENCED', () =>
      declareSegur('gp', GP, { segurSoftware: MEDILOG, lapCertified: true, lap: { ...LAP, name: 'Autre LAP' } }),
    );
    await refused(422, 'SOFTWARE_NOT_REFERENCED', () => declareSegur('gp', GP, { segurSoftware: MEDILOG, lapCertified: true }));
    await refused(400, 'VALIDATION_FAILED', () =>
      declareSegur('gp', GP, { segurSoftware: MEDILOG, lapCertified: true, lap: { ...LAP, certification: 'bientôt' } }),
    );
    // Matched ignoring case and surrounding spaces.
    expect((await declareSegur('gp', GP, { segurSoftware: MEDILOG, lapCertified: true, lap: { ...LAP, name: ' médilog lap ' } })).status).toBe(201);
    expect(await segurOf(GP, 'gp')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/pré-rempli \(SONS\), LAP .* ; pas de justificatif requis \(INT-1\)/),
    });

    // The cardiologist declares a software not pre-filled: a justificatif for SEGUR and LAP (INT-7).
    expect(
      (await declareSegur('cardio', CARDIO, { segurSoftware: { ...MEDILOG, name: 'CardioDoc' }, lapCertified: true, lap: { ...LAP, name: 'MédiLog LAP' } }))
        .status,
    ).toBe(201);
    const byDefault = await upload('cardio', CARDIO);
    expect(byDefault.status).toBe(201);
    expect(byDefault.body).toMatchObject({
      status: 'pending',
      subjects: ['SEGUR', 'LAP'],
      counts: true,
      notices: [expect.stringMatching(/aucune donnée médicale/)],
      notice: expect.stringMatching(/donnée médicale/),
    });
    const asJson = await upload('cardio', CARDIO, '["LAP"]');
    expect(asJson.body).toMatchObject({ subjects: ['LAP'], counts: true });
    const repeated = await upload('cardio', CARDIO, ['SEGUR', 'LAP_CERTIFICATION_EN_COURS']);
    expect(repeated.body).toMatchObject({ subjects: ['SEGUR', 'LAP_CERTIFICATION_EN_COURS'] });
    await refused(400, 'VALIDATION_FAILED', () => upload('cardio', CARDIO, 'FACTURE'));

    // What it proves is recorded in its event: the software and LAP in force when it was sent.
    const history = await call('GET', `/v1/doctors/${CARDIO}/history?year=2023`, 'agent751');
    const submitted = (history.body.events as Json[]).find((e) => e.type === 'JustificatifSubmitted' && e.data.justificatifId === byDefault.body.id)!;
    expect(submitted.data).toMatchObject({
      subjects: ['SEGUR', 'LAP'],
      proves: { segurSoftware: { editor: 'Éditeur', name: 'CardioDoc', kind: 'cabinet' }, lap: { name: 'MédiLog LAP' } },
    });

    // The worklist shows the subjects, so the agent validates the right thing.
    await sut.running.runtime.projector!.waitFor(await head());
    const worklist = await call('GET', '/v1/justificatifs?caisse=751&status=pending', 'agent751');
    expect(worklist.body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: byDefault.body.id, rpps: CARDIO, indicator: 'V1_SEGUR_LAP', subjects: ['SEGUR', 'LAP'] })]),
    );
    expect(await segurOf(CARDIO, 'cardio')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/^justificatif requis \(non pré-rempli\) pour SEGUR .* : non encore validé par la CPAM/),
    });

    // 2 February 2024: the window is open, the Ségur deadline has passed (seed 002: « jusqu'au 31 janvier 2024 … »).
    await at('2024-02-02T10:00:00+01:00');
    const late = await refused(409, 'SEGUR_DEADLINE_PASSED', () =>
      declareSegur('cardio', CARDIO, { segurSoftware: { ...MEDILOG, name: 'CardioDoc' }, lapCertified: true, lap: LAP }),
    );
    expect(late.message).toMatch(/31\/01\/2024/);
    expect(
      (
        await call('POST', `/v1/doctors/${CARDIO}/campaigns/2023/declarations`, 'cardio', {
          indicator: 'V2_CODAGE',
          value: { answer: true },
          attestation: true,
        })
      ).status,
    ).toBe(201);
    // A justificatif sent now is recorded, and the answer says it does not count.
    const tooLate = await upload('cardio', CARDIO);
    expect(tooLate.status).toBe(201);
    expect(tooLate.body).toMatchObject({
      counts: false,
      notices: [expect.stringMatching(/donnée médicale/), expect.stringMatching(/après la date limite Ségur du 31\/01\/2024/)],
    });
    // A postal one counts on the day the caisse received it (rule 3), keyed later by an agent.
    const postal = await upload('agent751', CARDIO, ['SEGUR'], { channel: 'paper', effectiveAt: '2024-01-30T10:00:00+01:00' });
    expect(postal.body).toMatchObject({ status: 'pending', subjects: ['SEGUR'], counts: true });
    // Its event is dated when the caisse received it, not when it was keyed (the rules date it so).
    const postalEvents = (
      (await call('GET', `/v1/doctors/${CARDIO}/history?year=2023`, 'agent751')).body.events as {
        type: string;
        effectiveAt: string;
        data: { justificatifId?: string };
      }[]
    ).filter((e) => e.type === 'JustificatifSubmitted' && e.data.justificatifId === postal.body.id);
    expect(postalEvents.map((e) => e.effectiveAt)).toEqual(['2024-01-30T09:00:00.000Z']);
    // api.md: 403 EFFECTIVE_AT_NOT_ALLOWED (details.reason kept for earlier consumers).
    expect(
      (await refused(403, 'EFFECTIVE_AT_NOT_ALLOWED', () => upload('cardio', CARDIO, undefined, { effectiveAt: '2024-01-30T10:00:00+01:00' }))).details,
    ).toEqual({ reason: 'EFFECTIVE_AT_NOT_ALLOWED' });
    // The CPAM validates later: the one sent in time counts, the late one does not.
    expect((await call('POST', `/v1/justificatifs/${tooLate.body.id}/decision`, 'agent751', { decision: 'validated' })).status).toBe(201);
    expect(await segurOf(CARDIO, 'cardio')).toMatchObject({ met: false, reason: expect.stringMatching(/non encore validé par la CPAM/) });
    expect((await call('POST', `/v1/justificatifs/${byDefault.body.id}/decision`, 'agent751', { decision: 'validated' })).status).toBe(201);
    expect(await segurOf(CARDIO, 'cardio')).toMatchObject({ met: true, reason: expect.stringMatching(/validé par la CPAM pour SEGUR, LAP/) });

    // 6 February: outside the window, CAMPAIGN_CLOSED is checked first.
    await at('2024-02-06T10:00:00+01:00');
    // The closing job (due since 4 Feb) appends CampaignClosed on its own: let it, so that "nothing
    // written" below is about the refused commands alone (bounded: a hang fails here).
    for (let i = 0; i < 100 && (await call('GET', '/v1/campaigns/2023', 'admin')).body.status !== 'closed'; i += 1)
      await new Promise((r) => setTimeout(r, 100));
    expect((await call('GET', '/v1/campaigns/2023', 'admin')).body.status).toBe('closed');
    await refused(409, 'CAMPAIGN_CLOSED', () => declareSegur('gp', GP, { segurSoftware: MEDILOG, lapCertified: true, lap: LAP }));

    // INT-8, the paper path: a form received today (6 Feb), postmarked on 3 Feb, keyed by an agent.
    const form = {
      indicator: 'V2_CODAGE',
      value: { answer: true },
      attestation: true,
      channel: 'paper',
      effectiveAt: '2024-02-06T09:00:00+01:00',
      postmarkedAt: '2024-02-03T12:00:00+01:00',
    };
    const declare = (who: string, body: Json) => call('POST', `/v1/doctors/${GP}/campaigns/2023/declarations`, who, body);
    // Dated by its receipt (paperDatedBy's default): after the close.
    await refused(409, 'CAMPAIGN_CLOSED', () => declare('agent441', form));
    // Only an agent keys a postmark; only on paper; never after the receipt.
    expect(
      (
        await refused(403, 'EFFECTIVE_AT_NOT_ALLOWED', () =>
          declare('gp', { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true, postmarkedAt: form.postmarkedAt }),
        )
      ).details,
    ).toEqual({ reason: 'EFFECTIVE_AT_NOT_ALLOWED' });
    await refused(422, 'VALUE_INVALID', () => declare('agent441', { ...form, channel: 'back-office' }));
    await refused(422, 'VALUE_INVALID', () => declare('agent441', { ...form, postmarkedAt: '2024-02-06T10:00:00+01:00' }));
    await refused(400, 'VALIDATION_FAILED', () => declare('agent441', { ...form, postmarkedAt: 'le 3 février' }));
    // A postal justificatif received on 5 Feb, postmarked on 31 Jan: by receipt, after the Ségur deadline.
    const postalLate = await upload('agent751', CARDIO, ['SEGUR'], {
      channel: 'paper',
      effectiveAt: '2024-02-05T10:00:00+01:00',
      postmarkedAt: '2024-01-31T18:00:00+01:00',
    });
    expect(postalLate.body).toMatchObject({ status: 'pending', counts: false });
    await refused(403, 'EFFECTIVE_AT_NOT_ALLOWED', () => upload('cardio', CARDIO, undefined, { postmarkedAt: '2024-01-31T18:00:00+01:00' }));

    // The caisse dates paper by its postmark from now on (rules spec, "Parameters": paperDatedBy).
    expect(
      (
        await call('POST', '/v1/campaigns/2023/rule-amendments', 'admin', {
          changes: { parameter: 'paperDatedBy', value: 'postmark' },
          reason: 'Cachet de la poste faisant foi',
        })
      ).status,
    ).toBe(201);
    await refused(422, 'AMENDMENT_INVALID', () =>
      call('POST', '/v1/campaigns/2023/rule-amendments', 'admin', { changes: { parameter: 'paperDatedBy', value: 'stamp' }, reason: 'r' }),
    );
    const keyed = await declare('agent441', form);
    expect(keyed.status).toBe(201);
    const postal2 = await upload('agent751', CARDIO, ['SEGUR'], {
      channel: 'paper',
      effectiveAt: '2024-02-05T10:00:00+01:00',
      postmarkedAt: '2024-01-31T18:00:00+01:00',
    });
    expect(postal2.body).toMatchObject({ status: 'pending', counts: true });
    // Who keyed it, when it was received, its postmark: all in the history.
    const gpHistory = await call('GET', `/v1/doctors/${GP}/history?year=2023`, 'agent441');
    expect((gpHistory.body.events as Json[]).find((e) => e.eventId === keyed.body.eventId)).toMatchObject({
      channel: 'paper',
      effectiveAt: '2024-02-06T08:00:00.000Z',
      actor: { role: 'agent', caisse: '441' },
      data: { indicator: 'V2_CODAGE', postmarkedAt: '2024-02-03T11:00:00.000Z' },
    });
    const codage = ((await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement`, 'gp')).body.volet2.indicators as Json[]).find(
      (i) => i.code === 'V2_CODAGE',
    )!;
    expect(codage).toMatchObject({
      met: true,
      reason: expect.stringContaining('envoi papier reçu le 06/02/2024, cachet de la poste du 03/02/2024 : daté par le cachet de la poste, INT-8'),
    });
  });
});

/**
 * guide §I.1.c NB, over HTTP: a hospital practitioner with a private practice at the hospital who
 * uses the establishment's referenced DPI declares it (never pre-filled) and proves it by the
 * establishment's attestation (subject DPI_USAGE), validated by the CPAM. Then issue 13's « doctor
 * with no profile »: a declaration is accepted, and the entitlement is 404 only for a doctor with
 * neither a profile nor an event.
 */
describe('rule 5: the DPI of the establishment, and a doctor without a profile (running system)', () => {
  const sut = new PgTestSystem('segur_dpi_e2e', { AUTH_JWT_SECRET: SECRET, REDIS_URL: 'redis://127.0.0.1:6379' });
  const tokens: Record<string, string> = {};
  const HOSPITAL = '10000000033'; // caisse 751, cardiologie, private practice at the hospital
  const NO_PROFILE = '10000000041';
  const NOBODY = '10000000058';
  const DPI = { editor: 'Éditeur Hospitalier', name: 'DPI Hôpital', version: '12', acquiredOn: '2022-06-01', kind: 'DPI_ETABLISSEMENT' };
  const call = (method: string, path: string, who: string, body?: unknown) => request(sut.url, method, path, tokens[who], body);
  const head = async () => sut.running.runtime.store.headPosition();
  const segurOf = async (rpps: string, who: string) =>
    ((await call('GET', `/v1/doctors/${rpps}/campaigns/2023/entitlement`, who)).body.volet1.indicators as Json[]).find((i) => i.code === 'V1_SEGUR_LAP')!;
  const upload = (subjects?: string[]) => {
    const form = new FormData();
    form.append('indicator', 'V1_SEGUR_LAP');
    for (const s of subjects ?? []) form.append('subjects', s);
    form.append('file', new Blob([PDF]), 'attestation-etablissement.pdf');
    return call('POST', `/v1/doctors/${HOSPITAL}/campaigns/2023/justificatifs`, 'hospital', form);
  };

  beforeAll(async () => {
    const claims = {
      admin: { role: 'admin' },
      system: { role: 'system' },
      hospital: { role: 'doctor', rpps: HOSPITAL },
      noProfile: { role: 'doctor', rpps: NO_PROFILE },
      agent751: { role: 'agent', caisse: '751' },
      auditor: { role: 'auditor' },
    } as const;
    Object.assign(tokens, await mintTokens(SECRET, claims));
  });
  afterAll(() => sut.close());

  it('guide §I.1.c NB « attestation de l’établissement »: declared DPI_ETABLISSEMENT, never pre-filled, met once the establishment’s attestation (DPI_USAGE) and the LAP are validated', async () => {
    await sut.at('2024-01-20T10:00:00+01:00');
    expect(
      (
        await call('POST', '/v1/campaigns', 'admin', {
          year: 2023,
          ruleset: 'FS-2023',
          opensAt: '2023-12-11T00:00:00+01:00',
          closesAt: '2024-02-04T23:59:59.999+01:00',
        })
      ).status,
    ).toBe(201);
    expect((await call('PUT', `/v1/doctors/${HOSPITAL}`, 'system', { specialty: 'cardiologie', caisse: '751', department: '75' })).status).toBe(200);

    // Never pre-filled: SONS cannot send a DPI (the item is refused with its index, the batch answered).
    const prefill = await call('POST', '/v1/imports/prefills', 'system', {
      source: 'SONS',
      items: [{ rpps: HOSPITAL, year: 2023, indicator: 'V1_SEGUR_LAP', value: { segurSoftware: DPI } }],
    });
    expect(prefill.body).toMatchObject({ appended: 0, rejected: [expect.objectContaining({ index: 0 })] });

    const declared = await call('POST', `/v1/doctors/${HOSPITAL}/campaigns/2023/declarations`, 'hospital', {
      indicator: 'V1_SEGUR_LAP',
      value: { segurSoftware: DPI, lapCertified: true, lap: LAP },
      attestation: false,
    });
    expect(declared.status).toBe(201);
    expect(await segurOf(HOSPITAL, 'hospital')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/^justificatif requis \(non pré-rempli\) pour DPI_USAGE .*, LAP \(LAP certifié HAS\) : non transmis$/),
    });

    // An editor's invoice (subject SEGUR) proves nothing for a DPI, even validated.
    const invoice = await upload(['SEGUR']);
    expect(invoice.status).toBe(201);
    expect((await call('POST', `/v1/justificatifs/${invoice.body.id}/decision`, 'agent751', { decision: 'validated' })).status).toBe(201);
    expect(await segurOf(HOSPITAL, 'hospital')).toMatchObject({ met: false });

    // Uploaded without subjects: those the doctor-year needs, and the answer says what the attestation is.
    const attestation = await upload();
    expect(attestation.body).toMatchObject({
      status: 'pending',
      subjects: ['DPI_USAGE', 'LAP'],
      counts: true,
      notices: expect.arrayContaining([expect.stringMatching(/attestation de l’établissement .* une facture d’éditeur ne suffit pas/)]),
    });
    await sut.running.runtime.projector!.waitFor(await head());
    const worklist = await call('GET', '/v1/justificatifs?caisse=751&status=pending', 'agent751');
    expect(worklist.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ id: attestation.body.id, subjects: ['DPI_USAGE', 'LAP'] })]));
    expect((await call('POST', `/v1/justificatifs/${attestation.body.id}/decision`, 'agent751', { decision: 'validated' })).status).toBe(201);
    expect(await segurOf(HOSPITAL, 'hospital')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/\(DPI de l’établissement\) déclaré, LAP Éditeur MédiLog LAP .* validé par la CPAM pour DPI_USAGE, LAP/),
    });
  });

  it('issue 13 « a declaration for a doctor with no profile »: accepted (the profile import may come later); the entitlement is 404 DOCTOR_NOT_FOUND only with neither a profile nor an event', async () => {
    const declared = await call('POST', `/v1/doctors/${NO_PROFILE}/campaigns/2023/declarations`, 'noProfile', {
      indicator: 'V2_CODAGE',
      value: { answer: true },
      attestation: true,
    });
    expect(declared.status).toBe(201);
    const known = await call('GET', `/v1/doctors/${NO_PROFILE}/campaigns/2023/entitlement`, 'auditor');
    expect(known.status).toBe(200);
    expect(known.body).toMatchObject({ rpps: NO_PROFILE });
    expect(known.body.profile ?? null).toBeNull();
    expect((known.body.volet2.indicators as Json[]).find((i) => i.code === 'V2_CODAGE')).toMatchObject({ met: true });
    const before = await head();
    const unknown = await call('GET', `/v1/doctors/${NOBODY}/campaigns/2023/entitlement`, 'auditor');
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 404, code: 'DOCTOR_NOT_FOUND' });
    // As known at an instant too; and the read wrote nothing.
    const replay = await call('GET', `/v1/doctors/${NOBODY}/campaigns/2023/entitlement?knownAt=2024-01-20T10:00:00%2B01:00`, 'auditor');
    expect(replay.status).toBe(404);
    // The explanation of that entitlement answers as it does; the known doctor's is explained.
    const why = await call('GET', `/v1/doctors/${NOBODY}/campaigns/2023/entitlement/explanation`, 'auditor');
    expect({ status: why.status, code: why.body.code }).toEqual({ status: 404, code: 'DOCTOR_NOT_FOUND' });
    expect((await call('GET', `/v1/doctors/${NO_PROFILE}/campaigns/2023/entitlement/explanation`, 'auditor')).status).toBe(200);
    expect(await head()).toBe(before);
  });
});
