import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Ajv from 'ajv';
import { loadConfig, signDevToken } from '@forfait/platform';
import { COSIGNATURE_V1, generateSignerKey, parseSignerKey, runWitness, vkeyOf } from '@forfait/store';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';
import { OPERATION_ANSWERS } from '../apps/api/src/openapi-answers';
import { inferSchema, sameShape, trimExample } from '../apps/api/src/openapi-shapes';
import { demoJustificatifPdf } from '../apps/api/src/seed/demo-seed';

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

const SECRET = 'openapi-answers-secret-openapi-answers-secret';
const GP = '10000000017'; // demo, caisse 441
const EXAMPLES_FILE = resolve(__dirname, '../apps/api/src/openapi-answers.ts');

/** Every object schema that lists its properties is closed: an undocumented field fails. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- Object.fromEntries infers any values: the cast says what the schema is
  const s = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'example' ? v : closed(v)])) as Json;
  if (s.properties && s.additionalProperties === undefined) s.additionalProperties = false;
  return s;
}

/**
 * Each operation of the OpenAPI document called on the seeded demo (clock 20/01/2024), its answer
 * validated against the documented schema (closed: a field the document does not name fails), and
 * the documented example checked to have the answer's shape. `UPDATE_OPENAPI_EXAMPLES=1` rewrites
 * apps/api/src/openapi-answers.ts from these answers (examples, and the schemas inferred where
 * openapi.ts writes none).
 */
describe('the OpenAPI document against what the API answers', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-openapi-answers-'));
  let system: StartedSystem | undefined;
  const tokens: Record<string, string> = {};
  const answers = new Map<string, Answer>();

  afterAll(async () => {
    await system?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (op: string, path: string, who: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const [method] = op.split(' ');
    const isForm = body instanceof FormData;
    const res = await fetch(`${system!.url}${path}`, {
      method,
      headers: {
        ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}),
        ...(body !== undefined && !isForm ? { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : isForm ? body : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const contentType = res.headers.get('content-type') ?? '';
    const raw = Buffer.from(await res.arrayBuffer());
    const parsed: unknown = /json/.test(contentType) ? JSON.parse(raw.toString('utf8')) : /^text\//.test(contentType) ? raw.toString('utf8') : raw.length;
    const answer = { status: res.status, contentType, body: parsed };
    if (res.status >= 400) throw new Error(`${op} ${path} answered ${res.status}: ${JSON.stringify(parsed)}`);
    if (!answers.has(op)) answers.set(op, answer);
    return answer;
  };

  it('answers every operation as documented', async () => {
    system = await startSystem(
      loadConfig({
        STORE: 'embedded',
        DATA_DIR: dataDir,
        PORT: '0',
        SEED_DEMO: 'true',
        CLOCK: '2024-01-20T10:00:00+01:00',
        AUTH_JWT_SECRET: SECRET,
        REDIS_URL: 'redis://127.0.0.1:6379',
        NODE_ENV: 'test',
      }),
      { logger: false },
    );
    const claims = {
      admin: { role: 'admin' },
      system: { role: 'system' },
      auditor: { role: 'auditor' },
      gp: { role: 'doctor', rpps: GP },
      agent441: { role: 'agent', caisse: '441' },
      agent751: { role: 'agent', caisse: '751' },
      controller: { role: 'controller', caisse: '441' },
      witness: { role: 'witness', sub: 'witness.test/openapi' },
    };
    for (const [name, c] of Object.entries(claims)) tokens[name] = await signDevToken(SECRET, c as never);

    // Public and configuration, once the read models have caught up with the seed.
    for (let i = 0; i < 200 && (await fetch(`${system.url}/health/ready`)).status !== 200; i += 1) await new Promise((r) => setTimeout(r, 100));
    await call('GET /health', '/health', null);
    await call('GET /health/ready', '/health/ready', null);
    await call('GET /health/metrics', '/health/metrics', null);
    await call('GET /v1/schemas/audit-bundle.json', '/v1/schemas/audit-bundle.json', null);
    await call('GET /v1/console/sign-in', '/v1/console/sign-in', null);
    await call('GET /v1/console/me', '/v1/console/me', 'agent441');

    // Campaigns.
    await call('POST /v1/campaigns', '/v1/campaigns', 'admin', {
      year: 2024,
      ruleset: 'FS-2024',
      opensAt: '2024-12-09T00:00:00+01:00',
      closesAt: '2025-02-09T23:59:59.999+01:00',
    });
    await call('GET /v1/campaigns', '/v1/campaigns', 'agent441');
    await call('GET /v1/campaigns/{year}', '/v1/campaigns/2023', 'agent441');
    await call('POST /v1/campaigns/{year}/rule-amendments', '/v1/campaigns/2023/rule-amendments', 'admin', {
      changes: { list: 'segurSolutions', add: [{ editor: 'Éditeur Santé', name: 'MédiLog Cabinet' }] },
      reason: 'Ajout d’une solution référencée Ségur (vague 2)',
      reference: 'ANS, liste des solutions référencées',
    });
    await call('POST /v1/campaigns/{year}/deadline-extensions', '/v1/campaigns/2023/deadline-extensions', 'admin', {
      closesAt: '2024-02-11T23:59:59.999+01:00',
      reason: 'Report de la date limite de déclaration',
      reference: 'ameli.fr, 2023',
    });

    // Doctors, declarations, imports.
    await call('PUT /v1/doctors/{rpps}', '/v1/doctors/10000000041', 'system', {
      name: 'Lucie Garnier',
      specialty: 'pediatrie',
      caisse: '441',
      department: '44',
    });
    await call('GET /v1/doctors', '/v1/doctors?q=mart', 'agent441');
    await call('POST /v1/imports/prefills', '/v1/imports/prefills', 'system', {
      source: 'ANNUAIRE_SANTE',
      items: [{ rpps: '10000000041', year: 2023, indicator: 'V1_HORAIRES', value: { displayed: true }, effectiveAt: '2023-11-20T10:00:00+01:00' }],
    });
    await call('POST /v1/imports/measures', '/v1/imports/measures', 'system', {
      source: 'SNDS',
      items: [{ rpps: '10000000041', year: 2023, indicator: 'V2_MSS', numerator: 12, denominator: 100 }],
    });
    await call('POST /v1/doctors/{rpps}/campaigns/{year}/declarations', `/v1/doctors/${GP}/campaigns/2023/declarations`, 'gp', {
      indicator: 'V2_MAITRE_STAGE',
      value: { answer: true },
      attestation: true,
    });
    const upload = new FormData();
    upload.append('indicator', 'V2_MAITRE_STAGE');
    upload.append('file', new Blob([demoJustificatifPdf()], { type: 'application/pdf' }), 'convention-de-stage.pdf');
    await call('POST /v1/doctors/{rpps}/campaigns/{year}/justificatifs', `/v1/doctors/${GP}/campaigns/2023/justificatifs`, 'gp', upload);
    const sas = new FormData();
    for (const [k, v] of [
      ['year', '2023'],
      ['cpts', 'CPTS Nantes Nord'],
      ['software', 'Logiciel SAS'],
      ['rpps', JSON.stringify([GP])],
    ] as const)
      sas.append(k, v);
    sas.append('file', new Blob([demoJustificatifPdf()], { type: 'application/pdf' }), 'attestation-president-cpts.pdf');
    await call('POST /v1/sas-attestations', '/v1/sas-attestations', 'agent441', sas);
    await call('POST /v1/doctors/{rpps}/campaigns/{year}/transmissions', `/v1/doctors/${GP}/campaigns/2023/transmissions`, 'gp', {});
    const worklist = await call('GET /v1/justificatifs', '/v1/justificatifs?caisse=751&status=pending', 'agent751');
    const pending = (worklist.body as { items: { id: string }[] }).items[0]!.id;
    await call('GET /v1/justificatifs/{id}/file', `/v1/justificatifs/${pending}/file`, 'agent751');
    await call('POST /v1/justificatifs/{id}/decision', `/v1/justificatifs/${pending}/decision`, 'agent751', { decision: 'validated' });

    // Calculation, payment, reads.
    await call('POST /v1/campaigns/{year}/calculations', '/v1/campaigns/2023/calculations', 'system', { rpps: GP });
    await call('POST /v1/doctors/{rpps}/campaigns/{year}/payments', `/v1/doctors/${GP}/campaigns/2023/payments`, 'system', {
      amountCents: 100_000,
      paidAt: '2024-01-20T09:00:00+01:00',
      reference: 'VIR-2024-01-20-000001',
    });
    await call('GET /v1/doctors/{rpps}/campaigns/{year}/entitlement', `/v1/doctors/${GP}/campaigns/2023/entitlement`, 'gp');
    await call(
      'GET /v1/doctors/{rpps}/campaigns/{year}/entitlement/diff',
      `/v1/doctors/${GP}/campaigns/2023/entitlement/diff?from=${encodeURIComponent('2024-01-10T10:00:00+01:00')}&to=${encodeURIComponent('2024-01-20T10:00:00+01:00')}`,
      'auditor',
    );
    await call('GET /v1/doctors/{rpps}/campaigns/{year}/entitlement/explanation', `/v1/doctors/${GP}/campaigns/2023/entitlement/explanation`, 'auditor');
    await call('GET /v1/imports', '/v1/imports', 'auditor');
    await call('GET /v1/doctors/{rpps}/history', `/v1/doctors/${GP}/history?year=2023`, 'auditor');
    await call('GET /v1/campaigns/{year}/dashboard', '/v1/campaigns/2023/dashboard', 'agent441');

    // A control, to its closure and a contestation.
    const opened = await call('POST /v1/controls', '/v1/controls', 'controller', {
      rpps: GP,
      year: 2023,
      indicators: ['V2_COORDINATION'],
      reason: 'contrôle ciblé exercice coordonné',
    });
    const control = (opened.body as { controlId: string }).controlId;
    await call('POST /v1/controls/{id}/evidence-requests', `/v1/controls/${control}/evidence-requests`, 'controller', {
      items: ['statuts de la MSP'],
      dueAt: '2024-03-01T00:00:00+01:00',
    });
    await call('GET /v1/controls', '/v1/controls?status=open', 'controller');
    await call('POST /v1/controls/{id}/findings', `/v1/controls/${control}/findings`, 'controller', {
      indicator: 'V2_COORDINATION',
      outcome: 'invalidated',
      reason: 'aucune MSP au nom du médecin',
    });
    await call('POST /v1/controls/{id}/closure', `/v1/controls/${control}/closure`, 'controller');
    await call('POST /v1/controls/{id}/contestations', `/v1/controls/${control}/contestations`, 'gp', { reason: 'je suis membre de la MSP depuis 2019' });
    await call('GET /v1/contestations', '/v1/contestations', 'controller');
    await call('POST /v1/controls/{id}/contestations/decision', `/v1/controls/${control}/contestations/decision`, 'controller', {
      outcome: 'reversed',
      reason: 'statuts de la MSP produits',
    });
    await call('GET /v1/controls/{id}', `/v1/controls/${control}`, 'auditor');

    // The log: a witness cosigns (POST /v1/log/cosignatures), then the audit documents and proofs.
    const witnessKey = generateSignerKey('witness.test/openapi', COSIGNATURE_V1);
    await call('POST /v1/log/witnesses', '/v1/log/witnesses', 'admin', { vkey: vkeyOf(parseSignerKey(witnessKey)) });
    const witness = await runWitness({ url: system.url, keyText: witnessKey, statePath: join(dataDir, 'witness-state.json'), token: tokens.witness });
    expect(witness).toMatchObject({ ok: true });
    answers.set('POST /v1/log/cosignatures', { status: 204, contentType: '', body: undefined });
    const checkpoint = await call('GET /v1/log/checkpoint', '/v1/log/checkpoint', 'auditor');
    const size = Number((checkpoint.body as string).split('\n')[1]);
    await call('GET /v1/log/public-key', '/v1/log/public-key', 'auditor');
    await call('GET /v1/log/leaves', '/v1/log/leaves?from=0&count=2', 'auditor');
    await call('GET /v1/log/proof/inclusion', `/v1/log/proof/inclusion?leafIndex=0&treeSize=${size}`, 'auditor');
    await call('GET /v1/log/proof/consistency', `/v1/log/proof/consistency?from=1&to=${size}`, 'auditor');
    await call('GET /v1/doctors/{rpps}/campaigns/{year}/audit-bundle', `/v1/doctors/${GP}/campaigns/2023/audit-bundle`, 'auditor');
    await call('GET /v1/doctors/{rpps}/campaigns/{year}/recap.pdf', `/v1/doctors/${GP}/campaigns/2023/recap.pdf`, 'gp');
    await call('GET /v1/doctors/{rpps}/access-journal', `/v1/doctors/${GP}/access-journal`, 'auditor');
    await call('GET /v1/access-journal', `/v1/access-journal?rpps=${GP}`, 'auditor');
    await call('GET /v1/integrity', '/v1/integrity', 'auditor');

    // Jobs: the whole campaign's calculation and a CSV import run in the background.
    const job = await call('POST /v1/campaigns/{year}/calculations', '/v1/campaigns/2023/calculations', 'system', {});
    const jobId = (job.body as { jobId: string }).jobId;
    for (let i = 0; i < 100; i += 1) {
      const state = await fetch(`${system.url}/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${tokens.system}` } }).then(
        (r) => r.json() as Promise<Json>,
      );
      if (state.state === 'completed' || state.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await call('GET /v1/jobs/{id}', `/v1/jobs/${jobId}`, 'system');

    const doc = (await (await fetch(`${system.url}/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown; example?: unknown }> }> }>>;
      components: { schemas: Record<string, unknown> };
    };
    const operations = Object.entries(doc.paths)
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .filter((op) => !op.includes('/v1/dev/'));

    if (process.env.UPDATE_OPENAPI_EXAMPLES === '1') {
      const recorded = Object.fromEntries(
        operations
          .filter((op) => answers.has(op))
          .map((op) => {
            const a = answers.get(op)!;
            const json = /json/.test(a.contentType);
            // The bundle's schema is its own JSON Schema (openapi.ts): not inferred.
            const infer = json && op !== 'GET /v1/doctors/{rpps}/campaigns/{year}/audit-bundle' && op !== 'GET /v1/schemas/audit-bundle.json';
            return [
              op,
              {
                status: a.status,
                ...(json
                  ? { example: trimExample(a.body), ...(infer ? { schema: inferSchema(a.body) } : {}) }
                  : typeof a.body === 'string'
                    ? { example: a.body }
                    : {}),
              },
            ];
          }),
      );
      const lines = Object.entries(recorded).map(([op, v]) => `  ${JSON.stringify(op)}: ${JSON.stringify(v)},`);
      writeFileSync(
        EXAMPLES_FILE,
        [
          '// Generated by test/openapi-answers.e2e-spec.ts (UPDATE_OPENAPI_EXAMPLES=1) from what the API answered on the seeded demo',
          '// (clock 20/01/2024); do not edit. Examples are the answers (arrays cut to two items); the schemas, inferred from',
          '// them, complete those openapi.ts writes (apps/api/src/openapi-shapes.ts). One operation a line.',
          'export const OPERATION_ANSWERS: Record<string, { status: number; example?: unknown; schema?: Record<string, unknown> }> = {',
          ...lines,
          '};',
          '',
        ].join('\n'),
      );
    }

    // Ajv 6 (eslint's): OpenAPI 3.0's `nullable` understood, its `binary` format let through.
    const ajv = new Ajv({ allErrors: true, nullable: true, unknownFormats: 'ignore' });
    const problems: string[] = [];
    const said = (errors: typeof ajv.errors) =>
      [
        ...new Set(
          (errors ?? []).map((e) =>
            `${e.dataPath || '$'} ${e.message ?? ''}${'additionalProperty' in e.params ? ` (${e.params.additionalProperty})` : ''}`.replace(/\[\d+\]/g, '[]'),
          ),
        ),
      ]
        .slice(0, 6)
        .join('; ');
    for (const op of operations) {
      const answer = answers.get(op);
      if (!answer) {
        problems.push(`${op}: not called by this test`);
        continue;
      }
      const [method, path] = op.split(' ') as [string, string];
      const documented = doc.paths[path]![method.toLowerCase()]!.responses[String(answer.status)];
      if (!documented) {
        problems.push(`${op}: answered ${answer.status}, which the document does not list`);
        continue;
      }
      if (answer.status === 204) continue;
      const media = Object.entries(documented.content ?? {}).find(([type]) => type === '*/*' || answer.contentType.startsWith(type))?.[1];
      if (!media) {
        problems.push(`${op}: answered ${answer.contentType}, which the document does not list`);
        continue;
      }
      if (media.example === undefined && !/pdf|octet|\*\/\*/.test(answer.contentType)) problems.push(`${op}: no example`);
      if (!/json/.test(answer.contentType)) continue;
      const schema = closed(media.schema);
      const validate = ajv.compile({ ...(schema as object), components: { schemas: closed(doc.components.schemas) } });
      if (!validate(answer.body)) problems.push(`${op}: the answer does not match the documented schema: ${said(validate.errors)}`);
      if (!validate(media.example)) problems.push(`${op}: the example does not match the documented schema: ${said(validate.errors)}`);
      const shape = sameShape(media.example, answer.body);
      if (shape) problems.push(`${op}: the example's shape is not the answer's: ${shape}`);
    }
    // An answer that changed on purpose: UPDATE_OPENAPI_EXAMPLES=1 on this test, then npm run docs:api; a new
    // operation: a call above first. A hand-written schema the answer does not match: fix it in openapi.ts.
    expect({
      problems,
      fix: 'UPDATE_OPENAPI_EXAMPLES=1 NODE_OPTIONS=--experimental-vm-modules npx jest test/openapi-answers.e2e-spec.ts && npm run docs:api',
    }).toEqual({ problems: [], fix: expect.any(String) as unknown });
    expect(Object.keys(OPERATION_ANSWERS).length).toBeGreaterThan(40);
  }, 180_000);
});
