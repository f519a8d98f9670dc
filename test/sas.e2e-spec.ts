import { withRppsCheckDigit } from '@forfait/events';
import { PgTestSystem, expectRefused, mintTokens, request, type Json } from './support/e2e';

/**
 * guide §II.2 indicateur 8 (SAS), route (b), on the running system: « le président de la CPTS devra
 * attester de la liste des médecins qui ont renseigné des disponibilités de soins non programmés en
 * 2023 et ont répondu aux demandes du SAS », and « Seuls les médecins exerçant dans un département
 * dans lequel le SAS est déployé peuvent prétendre à cette rémunération ».
 */
const SECRET = 'sas-e2e-secret-sas-e2e-secret-0123456789';
const YEAR = 2023;
const A = withRppsCheckDigit('4400000001'); // caisse 441, Loire-Atlantique (44)
const B = withRppsCheckDigit('4400000002'); // caisse 441, 44
const C = withRppsCheckDigit('4400000003'); // caisse 441, practising in Vendée (85): SAS not deployed there
const P = withRppsCheckDigit('7500000001'); // caisse 751

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

describe('SAS: a CPTS president’s attestation, one document for every doctor it lists (PostgreSQL)', () => {
  const sut = new PgTestSystem('sas_e2e', { AUTH_JWT_SECRET: SECRET, CLOCK: '2024-01-15T10:00:00+01:00', REDIS_URL: 'redis://127.0.0.1:6379' });
  const tokens: Record<string, string> = {};

  const call = (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) =>
    request(sut.url, method, path, token, body, { headers });
  const head = async () => sut.running.runtime.store.headPosition();
  const refused = (status: number, code: string, send: () => Promise<{ status: number; body: Json }>) => expectRefused(head, status, code, send);
  /** The multipart form of api.md: `rpps` as repeated fields, or as one JSON array. */
  const attestation = (rpps: string[], o: { json?: boolean; software?: string; effectiveAt?: string } = {}) => {
    const form = new FormData();
    form.append('year', String(YEAR));
    form.append('cpts', 'CPTS Nantes Nord');
    form.append('software', o.software ?? ' logiciel sas ');
    if (o.json) form.append('rpps', JSON.stringify(rpps));
    else for (const r of rpps) form.append('rpps', r);
    if (o.effectiveAt) form.append('effectiveAt', o.effectiveAt);
    form.append('file', new Blob([PDF]), 'attestation-president-cpts.pdf');
    return form;
  };
  const sas = async (rpps: string, knownAt?: string) => {
    const res = await call(
      'GET',
      `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement${knownAt ? `?knownAt=${encodeURIComponent(knownAt)}` : ''}`,
      tokens.auditor!,
    );
    expect(res.status).toBe(200);
    return (res.body.volet2.indicators as Json[]).find((i) => i.code === 'V2_SAS')!;
  };

  beforeAll(async () => {
    await sut.at();
    Object.assign(
      tokens,
      await mintTokens(SECRET, {
        admin: { role: 'admin' },
        system: { role: 'system' },
        auditor: { role: 'auditor' },
        agent441: { role: 'agent', caisse: '441' },
        agent751: { role: 'agent', caisse: '751' },
      }),
    );
  });
  afterAll(() => sut.close());

  it('recorded by the caisse, in the worklist, validated once: both listed doctors of a département where the SAS is deployed meet V2_SAS; one outside does not; a replay before the validation does not', async () => {
    expect(
      (
        await call('POST', '/v1/campaigns', tokens.admin!, {
          year: YEAR,
          ruleset: 'FS-2023',
          opensAt: '2023-12-11T00:00:00+01:00',
          closesAt: '2024-02-04T23:59:59.999+01:00',
        })
      ).status,
    ).toBe(201);
    for (const [rpps, caisse, department] of [
      [A, '441', '44'],
      [B, '441', '44'],
      [C, '441', '85'],
      [P, '751', '75'],
    ] as const) {
      expect((await call('PUT', `/v1/doctors/${rpps}`, tokens.system!, { specialty: 'medecine-generale', caisse, department })).status).toBe(200);
    }
    // The campaign's lists, as the caisse loads them.
    for (const changes of [
      { list: 'sasDepartements', add: ['44'] },
      { list: 'sasSoftware', add: ['Logiciel SAS'] },
    ]) {
      expect((await call('POST', `/v1/campaigns/${YEAR}/rule-amendments`, tokens.admin!, { changes, reason: 'liste du ministère' })).status).toBe(201);
    }

    // An agent of 441 cannot attest for a doctor of 751, even beside one of its own.
    await refused(403, 'FORBIDDEN', () => call('POST', '/v1/sas-attestations', tokens.agent441!, attestation([A, P])));

    const upload = await call('POST', '/v1/sas-attestations', tokens.agent441!, attestation([A, B]), { 'idempotency-key': 'cpts-nantes-nord-2023' });
    expect(upload.status).toBe(201);
    expect(upload.body).toMatchObject({
      id: expect.stringMatching(/^sas-2023-[0-9a-f]{12}$/),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      rpps: [A, B],
      status: 'pending',
      software: 'logiciel sas',
    });
    // The same key and form: the same answer, nothing appended.
    const before = await head();
    const again = await call('POST', '/v1/sas-attestations', tokens.agent441!, attestation([A, B]), { 'idempotency-key': 'cpts-nantes-nord-2023' });
    expect(again.body).toEqual(upload.body);
    expect(await head()).toBe(before);
    const id = upload.body.id as string;
    expect((await sut.running.runtime.store.readStream(`sas-attestation-${id}`)).map((e) => e.type)).toEqual(['SasAttestationReceived']);

    const outside = await call('POST', '/v1/sas-attestations', tokens.agent441!, attestation([C], { json: true, effectiveAt: '2024-01-12T09:00:00+01:00' }));
    expect(outside.body).toMatchObject({ rpps: [C], status: 'pending', effectiveAt: '2024-01-12T08:00:00.000Z' });

    // The agents' worklist shows each attestation once, with the doctors it lists.
    await sut.running.runtime.projector!.waitFor(await head());
    const worklist = await call('GET', '/v1/justificatifs?caisse=441&status=pending', tokens.agent441!);
    expect(worklist.status).toBe(200);
    expect(worklist.body.items).toEqual([
      expect.objectContaining({ kind: 'sas-attestation', id: outside.body.id, rpps: [C], indicator: 'V2_SAS', status: 'pending' }),
      expect.objectContaining({
        kind: 'sas-attestation',
        id,
        rpps: [A, B],
        year: YEAR,
        indicator: 'V2_SAS',
        sha256: upload.body.sha256,
        mediaType: 'application/pdf',
        status: 'pending',
        cpts: 'CPTS Nantes Nord',
      }),
    ]);
    expect((await call('GET', '/v1/justificatifs?caisse=751&status=pending', tokens.agent751!)).body.items).toEqual([]);

    // Decided by the CPAM of the doctors it lists, once; a rejection needs its reason.
    await refused(403, 'FORBIDDEN', () => call('POST', `/v1/justificatifs/${id}/decision`, tokens.agent751!, { decision: 'validated' }));
    await refused(422, 'REASON_REQUIRED', () => call('POST', `/v1/justificatifs/${id}/decision`, tokens.agent441!, { decision: 'rejected' }));
    const beforeValidation = new Date(
      Date.parse((await sut.running.runtime.store.readAll({ maxCount: 10_000 })).at(-1)!.metadata.recordedAt) + 1,
    ).toISOString();
    expect((await sas(A)).met).toBe(false);
    // If-Match: the attestation's own stream as the worklist row shows it (revision 0 while pending); a stale one is 412, nothing recorded.
    const row = (worklist.body.items as Json[]).find((i) => i.id === id)!;
    expect(row.revision).toBe(0);
    await refused(412, 'STALE_REVISION', () =>
      call('POST', `/v1/justificatifs/${id}/decision`, tokens.agent441!, { decision: 'validated' }, { 'If-Match': '"3"' }),
    );
    const validated = await call(
      'POST',
      `/v1/justificatifs/${id}/decision`,
      tokens.agent441!,
      { decision: 'validated' },
      { 'If-Match': `"${String(row.revision)}"` },
    );
    expect(validated.status).toBe(201);
    expect(validated.headers.get('etag')).toBe('"1"');
    expect(validated.body).toMatchObject({ id, status: 'validated', rpps: [A, B] });
    await refused(409, 'JUSTIFICATIF_ALREADY_DECIDED', () =>
      call('POST', `/v1/justificatifs/${id}/decision`, tokens.agent441!, { decision: 'rejected', reason: 'doublon' }),
    );
    await refused(409, 'JUSTIFICATIF_ALREADY_DECIDED', () => call('POST', `/v1/justificatifs/${id}/decision`, tokens.agent441!, { decision: 'validated' }));

    // Both listed doctors meet V2_SAS through route (b); the decision is linked into each doctor-year.
    for (const rpps of [A, B]) {
      const indicator = await sas(rpps);
      expect(indicator).toMatchObject({ met: true });
      expect(indicator.reason).toMatch(/^route \(b\) : attestation du président de la CPTS « CPTS Nantes Nord » reçue le 15\/01\/2024, validée par la CPAM/);
      expect(indicator.reason).toContain('département 44 sur la liste des départements où le SAS est déployé');
      const links = (await sut.running.runtime.store.readStream(`declaration-${rpps}-${YEAR}`)).filter((e) => e.type === 'SasAttestationDecisionLinked');
      expect(links).toHaveLength(1);
      expect(links[0]!.data).toMatchObject({
        rpps,
        year: YEAR,
        attestationId: id,
        cpts: 'CPTS Nantes Nord',
        software: 'logiciel sas',
        decision: 'validated',
        receivedAt: upload.body.effectiveAt,
      });
    }
    // A replay as known before the validation does not count it.
    expect(await sas(A, beforeValidation)).toMatchObject({ met: false });

    // A doctor of a département where the SAS is not deployed: validated, and still not met.
    expect((await call('POST', `/v1/justificatifs/${outside.body.id}/decision`, tokens.agent441!, { decision: 'validated' })).status).toBe(201);
    const c = await sas(C);
    expect(c).toMatchObject({ met: false });
    expect(c.reason).toMatch(/^département 85 hors liste des départements où le SAS est déployé/);

    await sut.running.runtime.projector!.waitFor(await head());
    expect((await call('GET', '/v1/justificatifs?caisse=441&status=pending', tokens.agent441!)).body.items).toEqual([]);
    expect((await call('GET', '/v1/justificatifs?caisse=441&status=validated', tokens.agent441!)).body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ id, kind: 'sas-attestation', status: 'validated', decidedAt: expect.any(String) })]),
    );
  });

  it('a decision cut short before its links (a crash) gets them on the next attempt, which answers 409; a rejection is linked with its reason', async () => {
    const upload = await call('POST', '/v1/sas-attestations', tokens.agent441!, attestation([B, C], { software: 'Logiciel SAS' }));
    expect(upload.status).toBe(201);
    const stream = `sas-attestation-${upload.body.id}`;
    // The decision committed, the process gone before any doctor-year got its link.
    await sut.running.runtime.store.append(
      stream,
      [
        {
          eventId: '00000000-0000-4000-8000-000000000001',
          type: 'SasAttestationValidated',
          schemaVersion: 1,
          data: { attestationId: upload.body.id, year: YEAR, rpps: [B, C] },
          metadata: {
            effectiveAt: '2024-01-15T10:05:00+01:00',
            actor: { sub: 'agent', role: 'agent', caisse: '441' },
            channel: 'back-office',
            correlationId: 'crash',
            causationId: null,
          },
        },
      ],
      { expectedRevision: 0 },
    );
    const linked = async (rpps: string) =>
      (await sut.running.runtime.store.readStream(`declaration-${rpps}-${YEAR}`)).filter(
        (e) => e.type === 'SasAttestationDecisionLinked' && (e.data as Json).attestationId === upload.body.id,
      );
    expect(await linked(B)).toHaveLength(0);
    const retry = await call('POST', `/v1/justificatifs/${upload.body.id}/decision`, tokens.agent441!, { decision: 'validated' });
    expect({ status: retry.status, code: retry.body.code }).toEqual({ status: 409, code: 'JUSTIFICATIF_ALREADY_DECIDED' });
    for (const rpps of [B, C]) expect((await linked(rpps)).map((e) => (e.data as Json).decisionEventId)).toEqual(['00000000-0000-4000-8000-000000000001']);
    // Linked once: another attempt appends nothing.
    const before = await head();
    expect((await call('POST', `/v1/justificatifs/${upload.body.id}/decision`, tokens.agent441!, { decision: 'validated' })).status).toBe(409);
    expect(await head()).toBe(before);

    // Software off the loaded list: recorded (a later list may count it), and the answer says so.
    const rejected = await call('POST', '/v1/sas-attestations', tokens.agent441!, attestation([A], { software: 'Agenda maison' }));
    expect(rejected.body.notices).toEqual([
      expect.stringMatching(/donnée médicale/),
      'Le logiciel « Agenda maison » n’est pas sur la liste des logiciels SAS : l’attestation ne vaudra que s’il y est ajouté.',
    ]);
    expect(
      (
        await call('POST', `/v1/justificatifs/${rejected.body.id}/decision`, tokens.agent441!, {
          decision: 'rejected',
          reason: 'liste non signée par le président',
        })
      ).status,
    ).toBe(201);
    const rejection = (await sut.running.runtime.store.readStream(`declaration-${A}-${YEAR}`)).filter(
      (e) => e.type === 'SasAttestationDecisionLinked' && (e.data as Json).attestationId === rejected.body.id,
    );
    expect(rejection.map((e) => e.data)).toEqual([expect.objectContaining({ decision: 'rejected', reason: 'liste non signée par le président' })]);
    // A rejected attestation takes nothing away: still met through the first one, validated.
    expect((await sas(A)).met).toBe(true);
  });
});
