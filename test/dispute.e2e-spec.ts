import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COSIGNATURE_V1, generateSignerKey, parseSignerKey, runWitness, vkeyOf } from '@forfait/store';
import { PgTestSystem, mintTokens, request, type Json } from './support/e2e';
import { expectFramedPages, pageTexts, qrCodesPerPage, spawnAsync, toolsPresent } from './support/pdf-pages';

const SECRET = 'dispute-e2e-secret-dispute-e2e-secret-01';
const GP = '10000000017';
const VERIFY = join(__dirname, '..', 'scripts', 'verify-bundle.mjs');
// Refreshed for the README with UPDATE_SCREENSHOTS=1; an ordinary run renders under the OS temp dir (a clean tree after npm test).
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', 'docs', 'screenshots') : join(tmpdir(), 'forfait-pdf-screenshots');

/**
 * The JSON Schema keywords the bundle's schema uses (type, const, enum, pattern, required,
 * properties, additionalProperties, items, anyOf): where `value` breaks `schema`, each place.
 */
function schemaErrors(schema: Json, value: unknown, at = '$'): string[] {
  if (schema.anyOf) return (schema.anyOf as Json[]).some((s) => schemaErrors(s, value, at).length === 0) ? [] : [`${at}: matches none of anyOf`];
  const errors: string[] = [];
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (schema.type && !(schema.type === kind || (schema.type === 'number' && kind === 'integer')))
    return [`${at}: ${kind} where ${schema.type as string} is expected`];
  if ('const' in schema && value !== schema.const) errors.push(`${at}: not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errors.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern as string).test(value))
    errors.push(`${at}: "${value}" does not match ${schema.pattern as string}`);
  if (kind === 'object') {
    const object = value as Json;
    for (const key of (schema.required ?? []) as string[]) if (!(key in object)) errors.push(`${at}.${key}: required`);
    for (const [key, v] of Object.entries(object)) {
      const sub = (schema.properties as Json | undefined)?.[key] as Json | undefined;
      if (sub) errors.push(...schemaErrors(sub, v, `${at}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${at}.${key}: not in the schema`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...schemaErrors(schema.additionalProperties as Json, v, `${at}.${key}`));
    }
  }
  if (kind === 'array' && schema.items) (value as unknown[]).forEach((v, i) => errors.push(...schemaErrors(schema.items as Json, v, `${at}[${i}]`)));
  return errors;
}

/** Every event of a bundle, stream after stream. */
function byStream(bundle: Json): Json[] {
  return (bundle.streams as Json[]).flatMap((st) => st.events as Json[]);
}

/** The text of a PDF, page after page, as a reader would extract it (Mozilla's pdf.js). */
/** The whole text, pages one after the other. */
async function pdfText(data: Buffer): Promise<string> {
  return (await pageTexts(data)).join(' ');
}

/**
 * A whole dispute, the server restarted with its clock moved on between phases (as the caisse's
 * system lives through a year): campaign, payment, control, finding, indu, contestation, reversal.
 */
describe('a dispute, from the campaign to the reversal of a finding', () => {
  const sut = new PgTestSystem('dispute', { AUTH_JWT_SECRET: SECRET, REDIS_URL: 'redis://127.0.0.1:1' });
  const dataDir = sut.dataDir;
  const tokens: Record<string, string> = {};

  const at = (clock: string) => sut.at(clock);
  const call = (method: string, path: string, who: string, body?: unknown) => request(sut.url, method, path, tokens[who], body);
  const now = async () => (await call('GET', '/health', '')).body.now as string;

  beforeAll(async () => {
    const claims = {
      admin: { role: 'admin' },
      system: { role: 'system' },
      gp: { role: 'doctor', rpps: GP },
      controller: { role: 'controller', caisse: '441' },
      controller751: { role: 'controller', caisse: '751' },
      auditor: { role: 'auditor' },
      witness: { role: 'witness', sub: 'witness.test/dispute' },
    } as const;
    Object.assign(tokens, await mintTokens(SECRET, claims));
  });
  afterAll(() => sut.close());

  it('keeps every step in the timeline, and answers what was known the day it paid', async () => {
    // January 2024: the campaign, the doctor's pre-fills, measures and declarations.
    await at('2024-01-15T10:00:00+01:00');
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
    expect(
      (await call('PUT', `/v1/doctors/${GP}`, 'system', { name: '  Éloïse   Le Dû-Martin ', specialty: 'medecine-generale', caisse: '441', department: '44' }))
        .body,
    ).toMatchObject({ name: 'Éloïse Le Dû-Martin', changed: true });
    // The name (an extension of api.md): checked, and searched by the start of a word, case and accents ignored.
    expect(
      (await call('PUT', `/v1/doctors/${GP}`, 'system', { name: '<script>', specialty: 'medecine-generale', caisse: '441', department: '44' })).body,
    ).toMatchObject({ code: 'VALIDATION_FAILED' });
    for (const [q, found] of [
      ['eloise', [GP]],
      ['LE DU', [GP]],
      ['martin', [GP]],
      ['dû-mar', [GP]],
      ['artin', []],
      ['10000000017', [GP]],
      ['Lefèvre', []],
    ] as const) {
      expect({ q, found: ((await call('GET', `/v1/doctors?q=${encodeURIComponent(q)}`, 'controller')).body.doctors as Json[]).map((d) => d.rpps) }).toEqual({
        q,
        found,
      });
    }
    await call('POST', '/v1/imports/prefills', 'system', {
      source: 'SONS',
      items: [
        {
          rpps: GP,
          year: 2023,
          indicator: 'V1_SEGUR_LAP',
          value: { segurSoftware: { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-01-01' }, lapCertified: true },
        },
      ],
    });
    await call('POST', '/v1/imports/prefills', 'system', {
      source: 'ANNUAIRE_SANTE',
      items: [{ rpps: GP, year: 2023, indicator: 'V1_HORAIRES', value: { displayed: true }, effectiveAt: '2023-11-20T10:00:00+01:00' }],
    });
    await call('POST', '/v1/imports/measures', 'system', {
      source: 'SNDS',
      items: [
        { rpps: GP, year: 2023, indicator: 'V1_TELETRANSMISSION', numerator: 90, denominator: 100, teletransmittedPreviousYear: true },
        { rpps: GP, year: 2023, indicator: 'V2_MSS', numerator: 5, denominator: 100 },
      ],
    });
    for (const body of [
      // Rule 2: the doctor names the LAP of the pre-filled software.
      {
        indicator: 'V1_SEGUR_LAP',
        value: {
          segurSoftware: { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-01-01' },
          lapCertified: true,
          lap: { editor: 'E', name: 'N LAP', certification: 'definitive' },
        },
        attestation: false,
      },
      { indicator: 'V2_COORDINATION', value: { answer: true, modalities: ['MSP'] }, attestation: true },
      { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true },
    ])
      expect((await call('POST', `/v1/doctors/${GP}/campaigns/2023/declarations`, 'gp', body)).status).toBe(201);

    // April: the yearly calculation and the payment. 280 + DCMT 22.5 + MSS 40 + coordination 120 + codage 50.
    await at('2024-04-15T10:00:00+02:00');
    const calc = await call('POST', '/v1/campaigns/2023/calculations', 'system', { rpps: GP });
    expect(calc.body).toMatchObject({ recorded: true, totalPoints: 512.5, amountCents: 358_750 });
    expect(
      (await call('POST', `/v1/doctors/${GP}/campaigns/2023/payments`, 'system', { amountCents: 358_750, paidAt: '2024-04-15T10:00:00+02:00' })).status,
    ).toBe(201);
    const paidDay = await now();

    // September: a controller of 441 opens a control, asks for evidence, invalidates two indicators, closes.
    await at('2024-09-02T09:00:00+02:00');
    expect(
      (await call('POST', '/v1/controls', 'controller751', { rpps: GP, year: 2023, indicators: ['V2_COORDINATION'], reason: 'ciblage' })).body,
    ).toMatchObject({ code: 'FORBIDDEN' });
    const c1 = await call('POST', '/v1/controls', 'controller', {
      rpps: GP,
      year: 2023,
      indicators: ['V2_COORDINATION'],
      reason: 'contrôle ciblé exercice coordonné',
    });
    expect(c1.status).toBe(201);
    const id1 = c1.body.controlId as string;
    expect(id1).toMatch(/^ctl-2023-10000000017-[0-9a-f]{12}$/);
    expect(
      (await call('POST', `/v1/controls/${id1}/evidence-requests`, 'controller', { items: ['statuts de la MSP'], dueAt: '2024-10-01T00:00:00+02:00' })).status,
    ).toBe(201);
    expect(
      (await call('POST', `/v1/controls/${id1}/findings`, 'controller', { indicator: 'V2_CODAGE', outcome: 'invalidated', reason: 'hors contrôle' })).body.code,
    ).toBe('INDICATOR_NOT_CONTROLLED');
    expect(
      (
        await call('POST', `/v1/controls/${id1}/findings`, 'controller', {
          indicator: 'V2_COORDINATION',
          outcome: 'invalidated',
          reason: 'aucune MSP au nom du médecin',
        })
      ).status,
    ).toBe(201);
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
    const diff = await call(
      'GET',
      `/v1/doctors/${GP}/campaigns/2023/entitlement/diff?from=${encodeURIComponent(paidDay)}&to=${encodeURIComponent(afterControls)}`,
      'auditor',
    );
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
    expect((diff.body.events as Json[]).map((e) => e.type)).toEqual([
      'ControlOpened',
      'ControlEvidenceRequested',
      'ControlFindingRecorded',
      'ControlClosed',
      'ControlOpened',
      'ControlFindingRecorded',
      'ControlClosed',
    ]);

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
    // GET /v1/controls/{id}: the control's state and events, with the stream's ETag.
    const control = await call('GET', `/v1/controls/${id1}`, 'auditor');
    expect(control.body).toMatchObject({
      controlId: id1,
      rpps: GP,
      year: 2023,
      status: 'closed',
      notification: 'recovery',
      findings: { V2_COORDINATION: 'invalidated' },
      contestation: { status: 'decided', outcome: 'reversed' },
    });
    expect((control.body.events as Json[]).map((e) => e.type)).toEqual([
      'ControlOpened',
      'ControlEvidenceRequested',
      'ControlFindingRecorded',
      'ControlClosed',
      'ContestationFiled',
      'ContestationDecided',
    ]);
    expect((await call('GET', `/v1/controls/${id1}`, 'controller751')).status).toBe(403);
    expect((await call('GET', '/v1/controls/ctl-2023-10000000017-000000000000', 'auditor')).body.code).toBe('CONTROL_NOT_FOUND');
    const end = await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement`, 'gp');
    expect(end.body).toMatchObject({ amountCents: 323_750, paidCents: 358_750, balanceCents: -35_000 });

    // Every step is in the timeline, and nothing was altered.
    const history = await call('GET', `/v1/doctors/${GP}/history?year=2023`, 'auditor');
    const types = (history.body.events as Json[]).map((e) => e.type);
    for (const type of [
      'PaymentRecorded',
      'EntitlementCalculated',
      'ControlOpened',
      'ControlEvidenceRequested',
      'ControlFindingRecorded',
      'ControlClosed',
      'ContestationFiled',
      'ContestationDecided',
    ])
      expect(types).toContain(type);
    // A witness cosigns the latest checkpoint: the bundle's proofs then stand on a cosigned one.
    const witnessKey = generateSignerKey('witness.test/dispute', COSIGNATURE_V1);
    expect((await call('POST', '/v1/log/witnesses', 'admin', { vkey: vkeyOf(parseSignerKey(witnessKey)) })).status).toBe(201);
    const witness = await runWitness({ url: sut.url, keyText: witnessKey, statePath: join(dataDir, 'witness-state.json'), token: tokens.witness });
    expect(witness).toMatchObject({ ok: true });
    const witnessVkey = vkeyOf(parseSignerKey(witnessKey));
    // The audit bundle: the whole story, verifiable offline by a script that shares no code with the system.
    const bundle = await call('GET', `/v1/doctors/${GP}/campaigns/2023/audit-bundle`, 'auditor');
    expect(bundle.status).toBe(200);
    expect(bundle.body).toMatchObject({
      format: 'forfait-structure-audit-bundle/2',
      rpps: GP,
      year: 2023,
      verification: { ok: true },
      entitlement: { amountCents: 323_750, balanceCents: -35_000 },
    });
    expect(bundle.body.hashing.description).toMatch(/RFC 8785/);
    expect(bundle.body.doctor).toEqual({
      rpps: GP,
      name: 'Éloïse Le Dû-Martin',
      specialty: 'medecine-generale',
      specialtyLabel: 'médecine générale',
      caisse: '441',
      caisseName: 'CPAM de la Loire-Atlantique',
      department: '44',
    });
    expect(bundle.body.payments).toMatchObject([{ amountCents: 358_750 }]);
    expect((bundle.body.controls as Json[]).map((c) => [c.reason, (c.findingsDetail as Json[]).map((f) => f.reason), c.closure?.balanceCents])).toEqual([
      ['contrôle ciblé exercice coordonné', ['aucune MSP au nom du médecin'], -84_000],
      ['contrôle codage', ['aucun registre'], -119_000],
    ]);
    expect(bundle.body.log).toMatchObject({ status: 'included', checkpoint: { treeSize: witness.size, cosignatures: 1 }, witnesses: [witnessVkey] });
    const eventCount = (bundle.body.streams as Json[]).reduce((n, st) => n + (st.events as Json[]).length, 0);
    expect(bundle.body.log.inclusion).toHaveLength(eventCount);
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
    // The published schema describes it (required keys at every level the schema names).
    const schema = (await (await fetch(`${sut.url}/v1/schemas/audit-bundle.json`)).json()) as Json;
    expect(Object.keys(bundle.body).sort()).toEqual([...(schema.required as string[])].sort());
    expect(schemaErrors(schema, bundle.body)).toEqual([]);
    expect(schemaErrors(schema, { ...bundle.body, log: { ...bundle.body.log, status: 'lost' }, extra: 1 })).toEqual([
      '$.log.status: "lost" not in ["included","pending"]',
      '$.extra: not in the schema',
    ]);
    // Offline, with the caisse's published key: everything verifies.
    const vkey = (await call('GET', '/v1/log/public-key', 'auditor')).body.vkey as string;
    const file = join(dataDir, 'bundle.json');
    const verify = async (edited: Json) => {
      writeFileSync(file, JSON.stringify(edited));
      return spawnAsync(process.execPath, [VERIFY, file, '--vkey', vkey, '--witness', witnessVkey]);
    };
    const ok = await verify(bundle.body);
    expect(ok.stderr).not.toMatch(/NOTE: checked with the key the bundle carries/);
    expect(ok.stderr).toContain('1 witness cosignature(s) verified');
    expect(ok.stdout).toMatch(
      /^OK: \d+ events in 3 streams of 10000000017\/2023, every hash chain verifies, every event is in the signed checkpoint, the bundle signature verifies/,
    );
    expect(ok.status).toBe(0);
    const edit = async (change: (b: Json) => void) => {
      const copy = JSON.parse(JSON.stringify(bundle.body)) as Json;
      change(copy);
      return verify(copy);
    };
    // An event's data: its chain link, its leaf and the bundle's signature break, the chain first.
    const decl = (bundle.body.streams as Json[]).find((st) => st.streamId === `declaration-${GP}-2023`)!;
    const payment = (decl.events as Json[]).find((e) => e.type === 'PaymentRecorded')!;
    const broken = await edit((b) => {
      ((b.streams as Json[]).find((st) => st.streamId === decl.streamId)!.events as Json[]).find((e) => e.eventId === payment.eventId)!.data.amountCents =
        999_999;
    });
    expect(broken.status).toBe(2);
    expect(broken.stdout).toMatch(
      new RegExp(`^BROKEN: declaration-${GP}-2023 revision ${payment.revision} \\(event ${payment.eventId}\\): hash .* does not match its content`),
    );
    expect(broken.stdout).toContain(`BROKEN: leaf declaration-${GP}-2023 revision ${payment.revision} (event ${payment.eventId}): the leaf at index`);
    expect(broken.stdout).toContain('BROKEN: signature signature:');
    // The entitlement: only the caisse's signature covers it.
    const amount = await edit((b) => (b.entitlement.amountCents = 999_999));
    expect(amount.status).toBe(2);
    expect(amount.stdout).toMatch(/^BROKEN: signature signature: the caisse's Ed25519 signature over the bundle does not verify/);
    expect(amount.stdout).toContain('1 problem(s)');
    // A proof hash: that event's audit path no longer leads to the root.
    const proven = (bundle.body.log.inclusion as Json[]).find((p) => (p.proof as string[]).length > 0)!;
    const target = [...byStream(bundle.body)].find((e) => e.eventId === proven.eventId)!;
    const proof = await edit((b) => {
      const p = (b.log.inclusion as Json[]).find((x) => x.eventId === proven.eventId)!;
      p.proof[0] = Buffer.alloc(32, 7).toString('base64');
    });
    expect(proof.status).toBe(2);
    expect(proof.stdout).toContain(
      `BROKEN: inclusion ${target.streamId} revision ${target.revision} (event ${target.eventId}): the audit path of leaf ${proven.leafIndex} does not lead to the checkpoint's root`,
    );
    // The checkpoint: another root (its signature fails, and every proof with it).
    const checkpoint = await edit((b) => {
      const lines = (b.log.checkpoint.note as string).split('\n');
      lines[2] = Buffer.alloc(32, 9).toString('base64');
      b.log.checkpoint.note = lines.join('\n');
      b.log.checkpoint.rootHash = lines[2];
    });
    expect(checkpoint.status).toBe(2);
    expect(checkpoint.stdout).toMatch(/^BROKEN: checkpoint log\.checkpoint\.note: the log's signature of the checkpoint \(size \d+\) does not verify/m);
    // A witness the bundle's checkpoint was not cosigned by: said so.
    const unknownWitness = vkeyOf(parseSignerKey(generateSignerKey('witness.test/other', COSIGNATURE_V1)));
    writeFileSync(file, JSON.stringify(bundle.body));
    const uncosigned = await spawnAsync(process.execPath, [VERIFY, file, '--vkey', vkey, '--witness', unknownWitness]);
    expect(uncosigned.status).toBe(2);
    expect(uncosigned.stdout).toContain('BROKEN: cosignature log.checkpoint.note: no cosignature by the witness witness.test/other');
    // Another key than the caisse's: refused.
    const other = await spawnAsync(process.execPath, [VERIFY, file, '--vkey', 'caisse.test/other+00000000+AQ==']);
    expect(other.status).toBe(2);
    // A downgrade: the signed bundle edited to claim format 1 (chains only) with its entitlement changed.
    const downgraded = await edit((b) => {
      b.format = 'forfait-structure-audit-bundle/1';
      b.entitlement.amountCents = 999_999;
    });
    expect(downgraded.status).toBe(2);
    expect(downgraded.stdout).toMatch(/^BROKEN: format format: the bundle claims forfait-structure-audit-bundle\/1 but carries log and signature of format 2/m);
    expect(downgraded.stdout).not.toMatch(/^OK/m);
    // The same with format 2's parts removed: a format 1 bundle is refused unless asked for.
    const stripped = await edit((b) => {
      b.format = 'forfait-structure-audit-bundle/1';
      delete b.log;
      delete b.signature;
    });
    expect(stripped.status).toBe(2);
    expect(stripped.stdout).toMatch(/^BROKEN: format format: forfait-structure-audit-bundle\/1 is unsigned and carries no inclusion proof/m);
    const asked = await spawnAsync(process.execPath, [VERIFY, file, '--accept-format-1']);
    expect(asked.stdout).toMatch(/^OK: \d+ events in 3 streams/);
    expect(asked.status).toBe(0);
    const askedWithKey = await spawnAsync(process.execPath, [VERIFY, file, '--accept-format-1', '--vkey', vkey]);
    expect(askedWithKey.status).toBe(2);
    expect(askedWithKey.stdout).toContain('carries no checkpoint nor signature to check with --vkey');

    // Staff reads were journaled: who, when, what. A doctor reading their own is not.
    await call('GET', `/v1/doctors/${GP}/history?year=2023`, 'gp');
    const journal = await call('GET', `/v1/access-journal?rpps=${GP}`, 'auditor');
    expect((journal.body.reads as Json[]).map((r) => [r.actor.role, r.resource])).toEqual([
      ['auditor', 'entitlement-diff'],
      ['auditor', 'history'],
      ['auditor', 'audit-bundle'],
    ]);
    expect((await call('GET', `/v1/access-journal?rpps=${GP}`, 'controller')).status).toBe(403);
    // api.md's path, for the auditor and for the doctor's own.
    expect((await call('GET', `/v1/doctors/${GP}/access-journal`, 'auditor')).body.reads).toEqual(journal.body.reads);
    expect((await call('GET', `/v1/doctors/${GP}/access-journal`, 'gp')).body.reads).toHaveLength(3);
    expect((await call('GET', `/v1/doctors/${GP}/access-journal`, 'controller')).status).toBe(403);

    // The timeline, folded in one pass, says what the entitlement endpoint says at each of its instants.
    for (const step of bundle.body.timeline as Json[]) {
      const then = await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement?knownAt=${encodeURIComponent(step.at as string)}`, 'auditor');
      expect({
        at: step.at,
        totalPoints: then.body.totalPoints,
        amountCents: then.body.amountCents,
        paidCents: then.body.paidCents,
        balanceCents: then.body.balanceCents,
      }).toEqual({ at: step.at, totalPoints: step.totalPoints, amountCents: step.amountCents, paidCents: step.paidCents, balanceCents: step.balanceCents });
    }

    // The same bundle as a readable PDF, and the doctor's declaration summary: their text, checked.
    const pdf = await fetch(`${sut.url}/v1/doctors/${GP}/campaigns/2023/audit-bundle`, {
      headers: { authorization: `Bearer ${tokens.auditor}`, accept: 'application/pdf' },
    });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toMatch(/^application\/pdf/);
    const pdfBytes = Buffer.from(await pdf.arrayBuffer());
    const text = await pdfText(pdfBytes);
    if (process.env.DUMP_PDF_TEXT) writeFileSync(process.env.DUMP_PDF_TEXT, text);
    expect(text).toContain("Dossier d'audit — Forfait structure 2023");
    expect(text).toContain('Caisse CPAM de la Loire-Atlantique (441)');
    expect(text).toContain('Médecin Éloïse Le Dû-Martin — RPPS 10000000017 — médecine générale, département 44');
    expect(text).toContain('Solde -350,00 € (indu à recouvrer)');
    expect(text).toMatch(/V2_COORDINATION — Implication dans des démarches de prise en charge coordonnée atteint 120 points 840,00 €/);
    expect(text).toContain('invalidé par le contrôle a posteriori : aucune MSP au nom du médecin');
    expect(text).toContain('constats annulés');
    expect(text).toContain('Décision sur le recours');
    expect(text).toMatch(/Chaînes vérifiées : \d+ événements dans 3 flux/);
    // Paper a reader can check: reference, full hashes, page x/y, the checkpoint and how to verify, in French.
    const pages = Number(/page 1\/(\d+)/.exec(text)?.[1]);
    expect(pages).toBeGreaterThan(1);
    expect(text).toContain(`page ${pages}/${pages}`);
    expect(text).toMatch(/Référence DA-2023-10000000017-\d{14}/);
    for (const e of byStream(bundle.body)) expect(text).toContain(e.hash as string);
    // Another request, another signature (generatedAt moves): the PDF prints its own, in full.
    expect(text).toMatch(/Racine de l’arbre de Merkle \(base64\) : [A-Za-z0-9+/]{43}= /);
    expect(text).toMatch(/Signature de la caisse \(Ed25519, base64\) : [A-Za-z0-9+/]{86}== /);
    expect(text).toMatch(
      /Texte du point de contrôle signé \(format C2SP tlog-checkpoint\) : forfait-structure\.localhost\/log \d+ [A-Za-z0-9+/]{43}= — forfait-structure\.localhost\/log [A-Za-z0-9+/]{91}= /,
    );
    expect(text).toContain('Comment vérifier ce dossier');
    // (the line may wrap after a hyphen)
    expect(text).toMatch(/node scripts\/verify-bundle\.mjs dossier-\s?audit-\s?10000000017-\s?2023\.json --vkey/);
    expect(ok.stdout).toMatch(/SHA-256 of the bundle \(RFC 8785 JSON, as printed on the PDF\): [0-9a-f]{64}/);
    expect(text).toMatch(/empreinte SHA-256 du dossier JSON signé \(RFC 8785\) : page 1\/\d+ [0-9a-f]{64} /);
    // The control with its dates, finding reasons, the indu's computation and the contestation deadline.
    expect(text).toContain('Ouvert le 02/09/2024 09:00 (heure de Paris)');
    expect(text).toContain('montant recalculé 2 747,50 € − montant versé 3 587,50 € = -840,00 €, soit indu de 840,00 €');
    expect(text).toMatch(/Recours amiable possible jusqu’au \d{2}\/11\/2024 \d{2}:\d{2} \(heure de Paris\)/);
    expect(text).toContain('motif : aucune MSP au nom du médecin');
    // Payments listed.
    expect(text).toMatch(/Paiements Date du paiement Référence Montant Enregistré le \(heure de Paris\) 15\/04\/2024 — 3 587,50 €/);
    // French throughout: no ISO date, no slug, no ">=", no "0 points", no English paragraph.
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    expect(text).not.toContain('medecine-generale');
    expect(text).not.toMatch(/segurSolutions|hasLap|sasDepartements|certification definitive/);
    expect(text).not.toContain('>=');
    expect(text).not.toMatch(/\b[01] points\b/);
    expect(text).not.toMatch(/no dependency|Each event|verifies/);
    const recap = await fetch(`${sut.url}/v1/doctors/${GP}/campaigns/2023/recap.pdf`, { headers: { authorization: `Bearer ${tokens.gp}` } });
    expect(recap.status).toBe(200);
    const recapBytes = Buffer.from(await recap.arrayBuffer());
    const recapText = await pdfText(recapBytes);
    expect(recapText).toContain('Récapitulatif de la déclaration — Forfait structure 2023');
    expect(recapText).toContain('Caisse CPAM de la Loire-Atlantique (441)');
    expect(recapText).toContain('Médecin Éloïse Le Dû-Martin — RPPS 10000000017 — médecine générale, département 44');
    expect(recapText).toContain('médecine générale');
    expect(recapText).toContain('Déclaré : oui (MSP)');
    expect(recapText).toContain('LAP certifié HAS : E N LAP (certification définitive)');
    expect(recapText).toContain('15/01/2024 10:00');
    expect(recapText).toContain('via amelipro');
    expect(recapText).not.toContain('par amelipro');
    expect(recapText).toMatch(/Référence RC-2023-10000000017-\d{14}/);
    expect(recapText).toMatch(/empreinte SHA-256 du contenu \(JSON RFC 8785\) : page 1\/1 [0-9a-f]{64}/);
    expect(recapText).toContain('page 1/1');
    const integrity = await call('GET', '/v1/integrity', 'auditor');
    expect(integrity.body).toMatchObject({ ok: true, events: Number(integrity.body.headPosition) });
    expect((await call('GET', '/v1/integrity', 'gp')).status).toBe(403);

    // Last, the slow local tools (no request after them: an idle keep-alive socket may be closed meanwhile).
    // The paper carries its signed JSON: extracted (poppler's pdfdetach), it verifies, and its hash is the footer's.
    const footerHash = /empreinte SHA-256 du dossier JSON signé \(RFC 8785\) : page 1\/\d+ ([0-9a-f]{64}) /.exec(text)![1]!;
    if (await toolsPresent([{ cmd: 'pdfdetach', args: ['-v'], pkg: 'poppler-utils' }])) {
      const source = join(dataDir, 'dossier.pdf');
      writeFileSync(source, pdfBytes);
      expect((await spawnAsync('pdfdetach', ['-saveall', '-o', dataDir, source])).status).toBe(0);
      const attached = await spawnAsync(process.execPath, [VERIFY, join(dataDir, 'dossier-audit-10000000017-2023.json'), '--vkey', vkey]);
      expect(attached.status).toBe(0);
      expect(attached.stdout).toContain(`SHA-256 of the bundle (RFC 8785 JSON, as printed on the PDF): ${footerHash}`);
    }
    // Every page of each carries the header, the footer (reference, hash, page x/y) and, rendered
    // (poppler's pdftoppm) and read (zbar's zbarimg), one QR code of the reference and the hash.
    const documents = [
      {
        name: 'dossier-audit',
        bytes: pdfBytes,
        title: 'Dossier d’audit — forfait structure 2023',
        hashOf: 'du dossier JSON signé (RFC 8785)',
        footer: /Référence (DA-\S+) — empreinte SHA-256 [^:]+: page 1\/\d+ ([0-9a-f]{64}) /.exec(text)!,
      },
      {
        name: 'recapitulatif',
        bytes: recapBytes,
        title: 'Récapitulatif forfait structure 2023',
        hashOf: 'du contenu (JSON RFC 8785)',
        footer: /Référence (RC-\S+) — empreinte SHA-256 [^:]+: page 1\/\d+ ([0-9a-f]{64})\b/.exec(recapText)!,
      },
    ];
    for (const d of documents) {
      const [, reference, sha256] = d.footer as unknown as [string, string, string];
      const pages = await pageTexts(d.bytes);
      expectFramedPages(pages, { title: d.title, reference, hashOf: d.hashOf, sha256 });
      if (
        await toolsPresent([
          { cmd: 'pdftoppm', args: ['-v'], pkg: 'poppler-utils' },
          { cmd: 'zbarimg', args: ['--version'], pkg: 'zbar-tools' },
        ])
      ) {
        const codes = await qrCodesPerPage(d.bytes, pages.length);
        expect(codes).toEqual(pages.map(() => [`${reference} sha256:${sha256}`]));
        // Page 1 as a reader sees it, for the README (docs/screenshots with UPDATE_SCREENSHOTS=1).
        mkdirSync(SCREENSHOTS, { recursive: true });
        const source = join(dataDir, `${d.name}.pdf`);
        writeFileSync(source, d.bytes);
        expect(
          (await spawnAsync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', source, join(SCREENSHOTS, `${d.name}-page-1`)])).status,
        ).toBe(0);
        expect(existsSync(join(SCREENSHOTS, `${d.name}-page-1.png`))).toBe(true);
      }
    }
  });
});
