import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '@forfait/platform';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';
import { signDevToken } from '../apps/api/src/auth/token-verifier';

const SECRET = 'dispute-e2e-secret-dispute-e2e-secret-01';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const GP = '10000000017';
const VERIFY = join(__dirname, '..', 'scripts', 'verify-bundle.mjs');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The text of a PDF, page after page, as a reader would extract it (Mozilla's pdf.js). */
async function pdfText(data: Buffer): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pdfjs = require('pdfjs-dist/legacy/build/pdf.js') as { getDocument(o: object): { promise: Promise<{ numPages: number; getPage(n: number): Promise<{ getTextContent(): Promise<{ items: { str: string; hasEOL?: boolean }[] }> }> }> } };
  const doc = await pdfjs.getDocument({ data: new Uint8Array(data), disableWorker: true, verbosity: 0, standardFontDataUrl: join(__dirname, '..', 'node_modules', 'pdfjs-dist', 'standard_fonts') + '/' }).promise;
  let out = '';
  for (let n = 1; n <= doc.numPages; n += 1) {
    const content = await (await doc.getPage(n)).getTextContent();
    out += content.items.map((i) => i.str + (i.hasEOL ? '\n' : '')).join('') + '\n';
  }
  // Lines wrap where the page ends them: compare with white space folded, as a reader reads.
  return out.replace(/\s+/g, ' ');
}

/**
 * A whole dispute, the server restarted with its clock moved on between phases (as the caisse's
 * system lives through a year): campaign, payment, control, finding, indu, contestation, reversal.
 */
describe('a dispute, from the campaign to the reversal of a finding', () => {
  const schema = `dispute_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-dispute-'));
  let system: StartedSystem | undefined;
  const tokens: Record<string, string> = {};

  const at = async (clock: string) => {
    await system?.close();
    system = await startSystem(loadConfig({ STORE: 'postgres', DATABASE_URL, DATABASE_SCHEMA: schema, DATA_DIR: dataDir, PORT: '0', AUTH_JWT_SECRET: SECRET, SEED_DEMO: 'false', CLOCK: clock, REDIS_URL: 'redis://127.0.0.1:1' }), { logger: false });
  };
  const call = async (method: string, path: string, who: string, body?: unknown) => {
    const res = await fetch(`${system!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const now = async () => (await (await fetch(`${system!.url}/health`)).json() as Json).now as string;

  beforeAll(async () => {
    for (const [name, claims] of Object.entries({ admin: { role: 'admin' }, system: { role: 'system' }, gp: { role: 'doctor', rpps: GP }, controller: { role: 'controller', caisse: '441' }, controller751: { role: 'controller', caisse: '751' }, auditor: { role: 'auditor' } })) {
      tokens[name] = await signDevToken(SECRET, claims as never);
    }
  });
  afterAll(async () => {
    await system?.close();
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}_rm" CASCADE`);
    await pg.end();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every step in the timeline, and answers what was known the day it paid', async () => {
    // January 2024: the campaign, the doctor's pre-fills, measures and declarations.
    await at('2024-01-15T10:00:00+01:00');
    expect((await call('POST', '/v1/campaigns', 'admin', { year: 2023, ruleset: 'FS-2023', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' })).status).toBe(201);
    await call('PUT', `/v1/doctors/${GP}`, 'system', { specialty: 'medecine-generale', caisse: '441', department: '44' });
    await call('POST', '/v1/imports/prefills', 'system', { source: 'SONS', items: [{ rpps: GP, year: 2023, indicator: 'V1_SEGUR_LAP', value: { segurSoftware: { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-01-01' }, lapCertified: true } }] });
    await call('POST', '/v1/imports/prefills', 'system', { source: 'ANNUAIRE_SANTE', items: [{ rpps: GP, year: 2023, indicator: 'V1_HORAIRES', value: { displayed: true }, effectiveAt: '2023-11-20T10:00:00+01:00' }] });
    await call('POST', '/v1/imports/measures', 'system', { source: 'SNDS', items: [{ rpps: GP, year: 2023, indicator: 'V1_TELETRANSMISSION', numerator: 90, denominator: 100, teletransmittedPreviousYear: true }, { rpps: GP, year: 2023, indicator: 'V2_MSS', numerator: 5, denominator: 100 }] });
    for (const body of [
      { indicator: 'V2_COORDINATION', value: { answer: true, modalities: ['MSP'] }, attestation: true },
      { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true },
    ]) expect((await call('POST', `/v1/doctors/${GP}/campaigns/2023/declarations`, 'gp', body)).status).toBe(201);

    // April: the yearly calculation and the payment. 280 + DCMT 22.5 + MSS 40 + coordination 120 + codage 50.
    await at('2024-04-15T10:00:00+02:00');
    const calc = await call('POST', '/v1/campaigns/2023/calculations', 'system', { rpps: GP });
    expect(calc.body).toMatchObject({ recorded: true, totalPoints: 512.5, amountCents: 358_750 });
    expect((await call('POST', `/v1/doctors/${GP}/campaigns/2023/payments`, 'system', { amountCents: 358_750, paidAt: '2024-04-15T10:00:00+02:00' })).status).toBe(201);
    const paidDay = await now();

    // September: a controller of 441 opens a control, asks for evidence, invalidates two indicators, closes.
    await at('2024-09-02T09:00:00+02:00');
    expect((await call('POST', '/v1/controls', 'controller751', { rpps: GP, year: 2023, indicators: ['V2_COORDINATION'], reason: 'ciblage' })).body).toMatchObject({ code: 'FORBIDDEN' });
    const c1 = await call('POST', '/v1/controls', 'controller', { rpps: GP, year: 2023, indicators: ['V2_COORDINATION'], reason: 'contrôle ciblé exercice coordonné' });
    expect(c1.status).toBe(201);
    const id1 = c1.body.controlId as string;
    expect(id1).toMatch(/^ctl-2023-10000000017-[0-9a-f]{12}$/);
    expect((await call('POST', `/v1/controls/${id1}/evidence-requests`, 'controller', { items: ['statuts de la MSP'], dueAt: '2024-10-01T00:00:00+02:00' })).status).toBe(201);
    expect((await call('POST', `/v1/controls/${id1}/findings`, 'controller', { indicator: 'V2_CODAGE', outcome: 'invalidated', reason: 'hors contrôle' })).body.code).toBe('INDICATOR_NOT_CONTROLLED');
    expect((await call('POST', `/v1/controls/${id1}/findings`, 'controller', { indicator: 'V2_COORDINATION', outcome: 'invalidated', reason: 'aucune MSP au nom du médecin' })).status).toBe(201);
    const closed = await call('POST', `/v1/controls/${id1}/closure`, 'controller');
    expect(closed.body).toMatchObject({ notification: 'recovery', paidCents: 358_750, recomputedAmountCents: 274_750, balanceCents: -84_000 });
    const c2 = await call('POST', '/v1/controls', 'controller', { rpps: GP, year: 2023, indicators: ['V2_CODAGE'], reason: 'contrôle codage' });
    const id2 = c2.body.controlId as string;
    await call('POST', `/v1/controls/${id2}/findings`, 'controller', { indicator: 'V2_CODAGE', outcome: 'invalidated', reason: 'aucun registre' });
    expect((await call('POST', `/v1/controls/${id2}/closure`, 'controller')).body).toMatchObject({ notification: 'recovery', balanceCents: -119_000 });
    const afterControls = await now();

    // What the caisse knew the day it paid, what changed since, and why.
    const paid = await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement?knownAt=${encodeURIComponent(paidDay)}`, 'auditor');
    expect(paid.body).toMatchObject({ amountCents: 358_750, paidCents: 358_750, balanceCents: 0 });
    const diff = await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement/diff?from=${encodeURIComponent(paidDay)}&to=${encodeURIComponent(afterControls)}`, 'auditor');
    expect(diff.status).toBe(200);
    expect(diff.body.totals).toEqual({
      from: { volet1Met: true, totalPoints: 512.5, amountCents: 358_750, paidCents: 358_750, balanceCents: 0 },
      to: { volet1Met: true, totalPoints: 342.5, amountCents: 239_750, paidCents: 358_750, balanceCents: -119_000 },
    });
    expect((diff.body.indicators as Json[]).map((i) => [i.code, i.from.met, i.to.met])).toEqual([
      ['V2_CODAGE', true, false],
      ['V2_COORDINATION', true, false],
    ]);
    expect((diff.body.indicators as Json[])[1]!.to.reason).toBe('invalidé par le contrôle a posteriori : aucune MSP au nom du médecin');
    expect((diff.body.events as Json[]).map((e) => e.type)).toEqual(['ControlOpened', 'ControlEvidenceRequested', 'ControlFindingRecorded', 'ControlClosed', 'ControlOpened', 'ControlFindingRecorded', 'ControlClosed']);

    // October, within two months of the notification: the doctor contests the first control.
    await at('2024-10-20T10:00:00+02:00');
    expect((await call('POST', `/v1/controls/${id1}/contestations`, 'gp', { reason: 'je suis membre de la MSP depuis 2019' })).status).toBe(201);
    expect((await call('POST', `/v1/controls/${id1}/contestations`, 'gp', { reason: 'bis' })).body.code).toBe('CONTESTATION_EXISTS');

    // January 2025: the second control can no longer be contested; the first is reversed.
    await at('2025-01-10T10:00:00+01:00');
    const late = await call('POST', `/v1/controls/${id2}/contestations`, 'gp', { reason: 'trop tard' });
    expect(late).toMatchObject({ status: 409, body: { code: 'CONTESTATION_TOO_LATE' } });
    const decision = await call('POST', `/v1/controls/${id1}/contestations/decision`, 'controller', { outcome: 'reversed' });
    expect(decision.body).toMatchObject({ outcome: 'reversed', indicators: ['V2_COORDINATION'] });
    const end = await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement`, 'gp');
    expect(end.body).toMatchObject({ amountCents: 323_750, paidCents: 358_750, balanceCents: -35_000 });

    // Every step is in the timeline, and nothing was altered.
    const history = await call('GET', `/v1/doctors/${GP}/history?year=2023`, 'auditor');
    const types = (history.body.events as Json[]).map((e) => e.type);
    for (const type of ['PaymentRecorded', 'EntitlementCalculated', 'ControlOpened', 'ControlEvidenceRequested', 'ControlFindingRecorded', 'ControlClosed', 'ContestationFiled', 'ContestationDecided']) expect(types).toContain(type);
    // The audit bundle: the whole story, verifiable offline by a script that shares no code with the system.
    const bundle = await call('GET', `/v1/doctors/${GP}/campaigns/2023/audit-bundle`, 'auditor');
    expect(bundle.status).toBe(200);
    expect(bundle.body).toMatchObject({ format: 'forfait-structure-audit-bundle/1', rpps: GP, year: 2023, verification: { ok: true }, entitlement: { amountCents: 323_750, balanceCents: -35_000 } });
    expect(bundle.body.hashing.description).toMatch(/RFC 8785/);
    const coordination = (bundle.body.timeline as Json[]).filter((t) => (t.changed as Json[]).some((c) => c.code === 'V2_COORDINATION'));
    expect(coordination.map((t) => [t.type, (t.changed as Json[]).find((c) => c.code === 'V2_COORDINATION')!.met])).toEqual([
      ['CampaignOpened', false],
      ['IndicatorDeclared', true],
      ['ControlFindingRecorded', false],
      ['ContestationDecided', true],
    ]);
    const why = (bundle.body.explanation.indicators as Json[]).find((i) => i.code === 'V2_COORDINATION')!;
    expect(why).toMatchObject({ met: true, points: 120, euros: 840, rule: { kind: 'declared', points: 120 } });
    expect((why.evidence as Json[])[0]).toMatchObject({ type: 'IndicatorDeclared' });
    const file = join(dataDir, 'bundle.json');
    writeFileSync(file, JSON.stringify(bundle.body));
    const ok = spawnSync(process.execPath, [VERIFY, file], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^OK: \d+ events in 3 streams of 10000000017\/2023, every hash chain verifies/);
    const tampered = JSON.parse(JSON.stringify(bundle.body)) as Json;
    const decl = (tampered.streams as Json[]).find((st) => st.streamId === `declaration-${GP}-2023`)!;
    const payment = (decl.events as Json[]).find((e) => e.type === 'PaymentRecorded')!;
    payment.data.amountCents = 999_999;
    writeFileSync(file, JSON.stringify(tampered));
    const broken = spawnSync(process.execPath, [VERIFY, file], { encoding: 'utf8' });
    expect(broken.status).toBe(2);
    expect(broken.stdout).toMatch(new RegExp(`^BROKEN: declaration-${GP}-2023 revision ${payment.revision} \\(event ${payment.eventId}\\): hash .* does not match its content`));

    // Staff reads were journaled: who, when, what. A doctor reading their own is not.
    await call('GET', `/v1/doctors/${GP}/history?year=2023`, 'gp');
    const journal = await call('GET', `/v1/access-journal?rpps=${GP}`, 'auditor');
    expect((journal.body.reads as Json[]).map((r) => [r.actor.role, r.resource])).toEqual([
      ['auditor', 'entitlement-diff'],
      ['auditor', 'history'],
      ['auditor', 'audit-bundle'],
    ]);
    expect((await call('GET', `/v1/access-journal?rpps=${GP}`, 'controller')).status).toBe(403);

    // The same bundle as a readable PDF, and the doctor's declaration summary: their text, checked.
    const pdf = await fetch(`${system!.url}/v1/doctors/${GP}/campaigns/2023/audit-bundle`, { headers: { authorization: `Bearer ${tokens.auditor}`, accept: 'application/pdf' } });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toMatch(/^application\/pdf/);
    const text = await pdfText(Buffer.from(await pdf.arrayBuffer()));
    expect(text).toContain("Dossier d'audit — Forfait structure 2023");
    expect(text).toContain('Médecin (RPPS) : 10000000017');
    expect(text).toContain('Solde : -350,00 € (indu à recouvrer)');
    expect(text).toContain('V2_COORDINATION — Implication dans des démarches de prise en charge coordonnée : atteint, 120 points (840,00 €)');
    expect(text).toContain('invalidé par le contrôle a posteriori : aucune MSP au nom du médecin');
    expect(text).toContain('Recours : constats annulés');
    expect(text).toContain('Décision sur le recours');
    expect(text).toMatch(/Chaînes vérifiées : \d+ événements dans 3 flux/);
    const recap = await fetch(`${system!.url}/v1/doctors/${GP}/campaigns/2023/recap.pdf`, { headers: { authorization: `Bearer ${tokens.gp}` } });
    expect(recap.status).toBe(200);
    const recapText = await pdfText(Buffer.from(await recap.arrayBuffer()));
    expect(recapText).toContain('Récapitulatif de la déclaration — Forfait structure 2023');
    expect(recapText).toContain('Déclaré : oui (MSP)');
    expect(recapText).toContain("Attestation sur l'honneur : oui");
    expect(recapText).toContain('Le 15/01/2024 10:00:');
    expect(recapText).toContain('par amelipro');

    const integrity = await call('GET', '/v1/integrity', 'auditor');
    expect(integrity.body).toMatchObject({ ok: true, events: Number(integrity.body.headPosition) });
    expect((await call('GET', '/v1/integrity', 'gp')).status).toBe(403);
  });
});
