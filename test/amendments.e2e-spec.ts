import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@forfait/platform';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';
import { signDevToken } from '../apps/api/src/auth/token-verifier';
import { request, type Json } from './support/e2e';
import { dropSchemas } from './support/servers';

const SECRET = 'amendments-e2e-secret-amendments-e2e-0123';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Rules spec, "Parameters and lists a caisse can amend", walked whole through the running API: every
 * list, every parameter and every indicator's `target`, `points`, `neutralised` is changed by a
 * rule-amendment event (api.md), shown by GET /v1/campaigns/{year}, while `?knownAt=` just before the
 * amendment shows the old value; an unknown name or a bad value is 422 AMENDMENT_INVALID, nothing
 * written. The names are the spec's, written out here (not read from the code), so that a list or
 * parameter the code lost or renamed fails this test.
 */
const LISTS: { list: string; add?: unknown[]; remove?: unknown[]; bad: unknown[] }[] = [
  { list: 'coordinationModalities', remove: ['RCP'], bad: ['rcp', 42] },
  { list: 'servicesModalities', remove: ['CLIC'], bad: [''] },
  { list: 'connectedDevices', add: ['SPIROMETRE_CONNECTE'], bad: ['spiromètre'] },
  { list: 'lapExemptSpecialties', add: ['cardiologie'], bad: ['chirurgie-du-dimanche'] },
  { list: 'dcmtNeutralisedSpecialties', add: ['pediatrie'], bad: ['Pédiatrie'] },
  { list: 'sasDepartements', add: ['01', '2A', '971'], bad: ['2a', 44, '1', '99'] },
  { list: 'sasSoftware', add: ['Logiciel SAS'], bad: ['', 12] },
  { list: 'segurSolutions', add: [{ editor: 'Éditeur', name: 'MédiLog' }], bad: [{ editor: 'Éditeur' }, 'MédiLog', { editor: 'E', name: 'N', version: '5' }] },
  { list: 'hasLap', add: [{ editor: 'Éditeur', name: 'MédiLog LAP' }], bad: [{ name: 'LAP' }, { editor: ' ', name: 'LAP' }] },
];
const PARAMETERS: { parameter: string; value: unknown; bad: unknown[] }[] = [
  { parameter: 'segurDeadline', value: '2024-02-15T23:59:59.999+01:00', bad: ['2024-02-15', '2024-02-15T23:59:59', 20240215, '2024-02-30T23:59:59.999+01:00'] },
  { parameter: 'sasAttestationDeadline', value: '2024-01-31T23:59:59.999+01:00', bad: ['demain', true] },
  { parameter: 'hoursServiceDeadline', value: '2024-01-15T23:59:59.999+01:00', bad: ['31/12/2023', null] },
  { parameter: 'hoursBackOfficeDeadline', value: '2024-02-15T23:59:59.999+01:00', bad: ['2024-02-30T10:00:00+01:00x'] },
  { parameter: 'dcmtNeutralisation', value: 'excluded', bad: ['neutral', false] },
  { parameter: 'mssReportOver', value: 'six-teleservices', bad: ['half', ''] },
  { parameter: 'firstYearWithoutHistory', value: true, bad: ['true', 1] },
  { parameter: 'dpiRequiresLap', value: false, bad: [0, 'non'] },
  { parameter: 'paperDatedBy', value: 'postmark', bad: ['stamp'] },
  { parameter: 'eligibility', value: 'at-assessment-date', bad: ['any-day', null] },
  { parameter: 'recoveryLimitationYears', value: 5, bad: [2.5, 0, '3'] },
  { parameter: 'segurCarryOverFrom', value: 2022, bad: [2024, 2016, '2022', 2022.5] },
];
/** Per indicator (api.md): what each takes, then what it refuses. `shown` is GET's `indicators[code]` after it. */
const INDICATORS: { indicator: string; changes: Json; shown: Json }[] = [
  { indicator: 'V1_SEGUR_LAP', changes: { neutralised: 'deemed-met' }, shown: { neutralised: 'deemed-met' } },
  { indicator: 'V1_SEGUR_LAP', changes: { neutralised: false }, shown: { neutralised: false } },
  // guide §I.3, letter: neutralised for 2023; the caisse can measure it again.
  { indicator: 'V1_SESAM_VITALE', changes: { neutralised: false }, shown: { neutralised: false } },
  { indicator: 'V1_SESAM_VITALE', changes: { neutralised: 'deemed-met' }, shown: { neutralised: 'deemed-met' } },
  { indicator: 'V1_TELETRANSMISSION', changes: { target: '3/4' }, shown: { target: '3/4' } },
  // While neutralised no target is in force (GET shows null); measured again, the amended target is back.
  { indicator: 'V1_TELETRANSMISSION', changes: { neutralised: 'deemed-met' }, shown: { neutralised: 'deemed-met', target: null } },
  { indicator: 'V1_TELETRANSMISSION', changes: { neutralised: false }, shown: { neutralised: false, target: '3/4' } },
  { indicator: 'V1_HORAIRES', changes: { neutralised: 'deemed-met' }, shown: { neutralised: 'deemed-met' } },
  ...['V2_AAT', 'V2_CMATMP', 'V2_PSE', 'V2_DCMT', 'V2_SPE', 'V2_DSG', 'V2_DMP', 'V2_MSS', 'V2_ORDONNANCE_NUMERIQUE'].flatMap((indicator) => [
    { indicator, changes: { target: 12.5 }, shown: { target: 12.5 } },
    { indicator, changes: { points: 11 }, shown: { points: 11 } },
    { indicator, changes: { neutralised: 'excluded' }, shown: { neutralised: 'excluded' } },
    { indicator, changes: { neutralised: false }, shown: { neutralised: false } },
  ]),
  { indicator: 'V2_APCV', changes: { target: 3 }, shown: { target: 3 } },
  { indicator: 'V2_APCV', changes: { points: 20, neutralised: 'deemed-met' }, shown: { points: 20, neutralised: 'deemed-met' } },
  ...['V2_CODAGE', 'V2_COORDINATION', 'V2_SERVICES_PATIENTS', 'V2_MAITRE_STAGE', 'V2_VIDEO', 'V2_EQUIPEMENT_CONNECTE', 'V2_SAS'].flatMap((indicator) => [
    { indicator, changes: { points: 7.5 }, shown: { points: 7.5 } },
    { indicator, changes: { neutralised: 'deemed-met' }, shown: { neutralised: 'deemed-met' } },
  ]),
];
const INDICATOR_BAD: { indicator: string; changes: Json }[] = [
  ...['V1_SEGUR_LAP', 'V1_SESAM_VITALE', 'V1_TELETRANSMISSION', 'V1_HORAIRES'].flatMap((indicator) => [
    { indicator, changes: { points: 10 } },
    { indicator, changes: { neutralised: 'excluded' } },
    { indicator, changes: { neutralised: 'maybe' } },
  ]),
  { indicator: 'V1_TELETRANSMISSION', changes: { target: '4/3' } },
  { indicator: 'V1_TELETRANSMISSION', changes: { target: 66 } },
  { indicator: 'V1_HORAIRES', changes: { target: '2/3' } },
  { indicator: 'V2_DMP', changes: { target: 120 } },
  { indicator: 'V2_DMP', changes: { target: 0 } },
  { indicator: 'V2_DMP', changes: { points: -1 } },
  { indicator: 'V2_DMP', changes: {} },
  { indicator: 'V2_APCV', changes: { target: 1.5 } },
  { indicator: 'V2_CODAGE', changes: { target: 10 } },
  { indicator: 'V2_SAS', changes: { points: 'deux cents' } },
];

describe('rules spec « Parameters and lists a caisse can amend », the whole table (api.md rule-amendments)', () => {
  const schema = `amend_e2e_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-amend-'));
  let system: StartedSystem;
  let admin = '';

  const call = (method: string, path: string, body?: unknown) => request(system.url, method, path, admin, body);
  const rules = (c: Json) => ({ indicators: c.indicators, lists: c.lists, parameters: c.parameters });
  const campaign = async (knownAt?: string) => {
    const res = await call('GET', `/v1/campaigns/2023${knownAt ? `?knownAt=${encodeURIComponent(knownAt)}` : ''}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  /** Amends, then checks: GET shows `expected` (a function of the rules before), and GET ?knownAt= 1 ms before it shows the rules before. */
  const amend = async (body: Json, expected: (before: ReturnType<typeof rules>) => ReturnType<typeof rules>) => {
    const before = rules(await campaign());
    const res = await call('POST', '/v1/campaigns/2023/rule-amendments', { ...body, reason: 'arrêté de la caisse', reference: 'réf. 2024-01' });
    expect({ body, status: res.status }).toEqual({ body, status: 201 });
    const now = await campaign();
    const amendment = (now.amendments as Json[]).find((a) => a.eventId === res.body.eventId)!;
    expect(amendment).toMatchObject({ changes: body.changes, reason: 'arrêté de la caisse', reference: 'réf. 2024-01' });
    expect({ body, rules: rules(now) }).toEqual({ body, rules: expected(before) });
    const justBefore = new Date(Date.parse(amendment.recordedAt) - 1).toISOString();
    expect({ body, rules: rules(await campaign(justBefore)) }).toEqual({ body, rules: before });
    expect({ body, rules: rules(await campaign(amendment.recordedAt)) }).toEqual({ body, rules: expected(before) });
  };
  const refusedAmendment = async (body: Json) => {
    const head = await system.runtime.store.headPosition();
    const res = await call('POST', '/v1/campaigns/2023/rule-amendments', { ...body, reason: 'r' });
    expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status: 422, code: 'AMENDMENT_INVALID' });
    expect(typeof res.body.message).toBe('string');
    expect(await system.runtime.store.headPosition()).toBe(head);
  };

  beforeAll(async () => {
    system = await startSystem(
      loadConfig({
        STORE: 'postgres',
        DATABASE_URL,
        DATABASE_SCHEMA: schema,
        DATA_DIR: dataDir,
        PORT: '0',
        AUTH_JWT_SECRET: SECRET,
        SEED_DEMO: 'false',
        CLOCK: '2024-01-10T10:00:00+01:00',
        REDIS_URL: 'redis://127.0.0.1:6379',
      }),
      { logger: false },
    );
    admin = await signDevToken(SECRET, { role: 'admin', sub: 'admin' } as never);
    expect(
      (await call('POST', '/v1/campaigns', { year: 2023, ruleset: 'FS-2023', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' }))
        .status,
    ).toBe(201);
  });
  afterAll(async () => {
    await system?.close();
    await dropSchemas(DATABASE_URL, schema, `${schema}_rm`);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows every list and parameter of the table, with the spec’s defaults', async () => {
    const c = await campaign();
    expect(Object.keys(c.lists).sort()).toEqual(LISTS.map((l) => l.list).sort());
    expect(Object.keys(c.parameters).sort()).toEqual(PARAMETERS.map((p) => p.parameter).sort());
    expect(c.lists).toMatchObject({ sasDepartements: [], sasSoftware: [], segurSolutions: [], hasLap: [], dcmtNeutralisedSpecialties: ['medecine-generale'] });
    expect(c.lists.coordinationModalities).toEqual(['MSP', 'ESP', 'ESS', 'CPTS', 'RCP', 'RESEAU', 'HAD_EHPAD', 'ASALEE']);
    expect(c.parameters).toEqual({
      segurDeadline: '2024-01-31T23:59:59.999+01:00',
      sasAttestationDeadline: null,
      hoursServiceDeadline: '2023-12-31T23:59:59.999+01:00',
      hoursBackOfficeDeadline: '2024-01-31T23:59:59.999+01:00',
      dcmtNeutralisation: 'deemed-met',
      mssReportOver: 'all-nine',
      firstYearWithoutHistory: false,
      dpiRequiresLap: true,
      paperDatedBy: 'receipt',
      eligibility: 'any-day-of-year',
      recoveryLimitationYears: 3,
      segurCarryOverFrom: 2023,
    });
    expect(Object.keys(c.indicators).sort()).toEqual([...new Set([...INDICATORS.map((i) => i.indicator)])].sort());
  });

  it('every list: add or remove by an amendment, shown as known at knownAt; a bad entry or an unknown list is 422', async () => {
    for (const { list, add, remove, bad } of LISTS) {
      await amend({ changes: { list, ...(add ? { add } : {}), ...(remove ? { remove } : {}) } }, (before) => {
        const current = before.lists[list] as unknown[];
        const kept = current.filter((x) => !(remove ?? []).some((r) => JSON.stringify(r) === JSON.stringify(x)));
        return { ...before, lists: { ...before.lists, [list]: [...kept, ...(add ?? [])] } };
      });
      for (const entry of bad) await refusedAmendment({ changes: { list, add: [entry] } });
      await refusedAmendment({ changes: { list } });
      await refusedAmendment({ indicator: 'V2_COORDINATION', changes: { list, add: add ?? remove } });
    }
    await refusedAmendment({ changes: { list: 'sasDepartement', add: ['44'] } });
    await refusedAmendment({ changes: { list: 'hasLAP', add: [{ editor: 'E', name: 'N' }] } });
  });

  it('every parameter: set by an amendment, shown as known at knownAt; a bad value or an unknown parameter is 422', async () => {
    for (const { parameter, value, bad } of PARAMETERS) {
      for (const v of bad) await refusedAmendment({ changes: { parameter, value: v } });
      await refusedAmendment({ changes: { parameter } });
      await amend({ changes: { parameter, value } }, (before) => ({ ...before, parameters: { ...before.parameters, [parameter]: value } }));
    }
    await refusedAmendment({ changes: { parameter: 'segurDeadLine', value: '2024-02-15T23:59:59.999+01:00' } });
    await refusedAmendment({ changes: { parameter: 'pointValue', value: 8 } });
  });

  it('every indicator: target, points, neutralised as api.md allows them, shown as known at knownAt; what a rule cannot take is 422', async () => {
    for (const bad of INDICATOR_BAD) await refusedAmendment(bad);
    for (const { indicator, changes, shown } of INDICATORS) {
      await amend({ indicator, changes }, (before) => ({
        ...before,
        indicators: { ...before.indicators, [indicator]: { ...before.indicators[indicator], ...shown } },
      }));
    }
  });
});
