import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streams, withRppsCheckDigit } from '@forfait/events';
import { QUEUES } from '@forfait/platform';
import { REBUILD_JOB, readEntitlement } from '@forfait/read-models';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { DATABASE_URL, mintTokens, request, schemaName, startTestSystem, type Json } from './support/e2e';
import { dropSchemas, until as eventually } from './support/servers';

const SECRET = 'jobs-e2e-secret-jobs-e2e-secret-0123456789';

describe('jobs on PostgreSQL and Redis (BullMQ)', () => {
  const schema = schemaName('jobs_e2e');
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-jobs-'));
  let system: StartedSystem;
  let token: Record<string, string>;
  const call = (method: string, path: string, who: string, body?: unknown, contentType?: string) =>
    request(system.url, method, path, token[who], body, { contentType });
  const jobDone = (id: string) =>
    eventually(
      async () => {
        const r = await call('GET', `/v1/jobs/${encodeURIComponent(id)}`, 'system');
        if (r.body.state === 'failed') throw new Error(`job ${id} failed: ${r.body.failedReason}`);
        return r.body.state === 'completed' ? r.body : undefined;
      },
      30_000,
      `job ${id}`,
    );
  const eventsOf = async (stream: string) => system.runtime.store.readStream(stream);

  beforeAll(async () => {
    system = await startTestSystem({ STORE: 'postgres', DATABASE_URL, DATABASE_SCHEMA: schema, DATA_DIR: dataDir, AUTH_JWT_SECRET: SECRET });
    expect(system.runtime.jobs).toBeDefined();
    token = await mintTokens(SECRET, { admin: { role: 'admin' }, system: { role: 'system' } });
  });
  afterAll(async () => {
    const jobs = system.runtime.jobs!;
    for (const q of Object.values(QUEUES))
      await jobs
        .queue(q)
        .obliterate({ force: true })
        .catch(() => undefined);
    await system.close();
    await dropSchemas(DATABASE_URL, schema, `${schema}_rm`);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('closes the campaign at its deadline, moved by an extension, once', async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    // Five seconds for the extension to be recorded before the first deadline, even on a loaded machine.
    expect(
      (await call('POST', '/v1/campaigns', 'admin', { year: 2023, ruleset: 'FS-2023', opensAt: iso(now - 3_600_000), closesAt: iso(now + 5000) })).status,
    ).toBe(201);
    const extended = iso(now + 7000);
    expect((await call('POST', '/v1/campaigns/2023/deadline-extensions', 'admin', { closesAt: extended, reason: 'prolongation' })).status).toBe(201);
    const closed = await eventually(async () => (await eventsOf(streams.campaign(2023))).find((e) => e.type === 'CampaignClosed'), 20_000, 'CampaignClosed');
    expect(closed.data).toEqual({ year: 2023, closesAt: extended });
    expect(Date.parse(closed.metadata.recordedAt)).toBeGreaterThanOrEqual(Date.parse(extended));
    // The first deadline's job was moved, not run: one closing only, even after a while.
    await new Promise((r) => setTimeout(r, 500));
    expect((await eventsOf(streams.campaign(2023))).filter((e) => e.type === 'CampaignClosed')).toHaveLength(1);
    expect((await call('GET', '/v1/campaigns/2023', 'system')).body).toMatchObject({ status: 'closed', closesAt: extended });
  });

  it('imports a CSV extract as a job: line-numbered errors, valid lines kept, a re-send imports nothing', async () => {
    const a = withRppsCheckDigit('1200000001');
    const b = withRppsCheckDigit('1200000002');
    const csv = [
      'rpps,year,indicator,numerator,denominator,participates,teletransmittedPreviousYear,months',
      `${a},2023,V2_AAT,75,100,,,`,
      `${a},2023,V2_SAS,,,true,,`,
      `12345678901,2023,V2_AAT,1,2,,,`,
      `${b},2023,V1_TELETRANSMISSION,,,,false,2023-05:10/100;2023-06:90/100`,
      `${b},2023,V2_DMP,abc,100,,,`,
      `${b},2023,V2_APCV,3,,,,`,
    ].join('\n');
    const first = await call('POST', '/v1/imports/measures?source=SNDS', 'system', csv, 'text/csv');
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ jobId: expect.stringMatching(/^import-SNDS-[0-9a-f]{64}$/), statusUrl: `/v1/jobs/${first.body.jobId}` });
    const done = await jobDone(first.body.jobId);
    expect(done.result).toMatchObject({ received: 6, appended: 4, duplicates: 0, rejectedCount: 2 });
    expect((done.result.rejected as Json[]).map((r) => r.line)).toEqual([4, 6]);
    // Issue 18.5: the text "abc" is said to be no integer, not to be "less than 0".
    expect((done.result.rejected as Json[])[1]!.message).toMatch(/numerator: numerator must be an integer number$/);
    expect(done.progress).toMatchObject({ lines: 6, appended: 4, rejected: 2 });
    // Issue 13.1: the job's status carries a report that a batch with rejected items cannot pass for a success.
    expect(done.report).toEqual({
      status: 'partial',
      received: 6,
      accepted: 4,
      rejectedCount: 2,
      rejected: [
        { index: 2, line: 4, code: 'VALIDATION_FAILED', message: expect.stringMatching(/rpps/) },
        { index: 4, line: 6, code: 'VALIDATION_FAILED', message: expect.stringMatching(/numerator must be an integer number$/) },
      ],
      summary: '6 lignes de données : 4 événements ajoutés, 0 déjà importées, 2 rejetées',
    });
    expect((await eventsOf(streams.declaration(a, 2023))).map((e) => (e.data as Json).indicator)).toEqual(['V2_AAT', 'V2_SAS']);

    const head = await system.runtime.store.headPosition();
    const again = await call('POST', '/v1/imports/measures?source=SNDS', 'system', csv, 'text/csv');
    expect(again.body.jobId).toBe(first.body.jobId);
    // The same content under a new job id would still append nothing: ids derive from content.
    const reordered = await call('POST', '/v1/imports/measures?source=SNDS', 'system', `${csv}\n`, 'text/csv');
    expect(reordered.body.jobId).not.toBe(first.body.jobId);
    expect((await jobDone(reordered.body.jobId)).result).toMatchObject({ appended: 0, duplicates: 4 });
    expect(await system.runtime.store.headPosition()).toBe(head);
  });

  it('issue 13.1: past the first batch of 1 000 lines, a rejected item keeps its index among the extract’s data lines', async () => {
    const a = withRppsCheckDigit('1200000003');
    const lines = Array.from({ length: 1001 }, (_, i) => `${a},2023,V2_AAT,${i % 100},100,,,`);
    const csv = ['rpps,year,indicator,numerator,denominator,participates,teletransmittedPreviousYear,months', ...lines, `${a},2023,V2_AAT,101,100,,,`].join(
      '\n',
    );
    const job = await call('POST', '/v1/imports/measures?source=SNDS', 'system', csv, 'text/csv');
    expect(job.status).toBe(202);
    const done = await jobDone(job.body.jobId);
    expect(done.report).toMatchObject({
      status: 'partial',
      received: 1002,
      accepted: 1001,
      rejectedCount: 1,
      rejected: [{ index: 1001, line: 1003, code: expect.stringMatching(/^[A-Z_]+$/) }],
    });
  });

  it('fans the yearly calculation out per caisse; re-running records nothing new', async () => {
    const doctors = [
      [withRppsCheckDigit('1300000001'), '441'],
      [withRppsCheckDigit('1300000002'), '441'],
      [withRppsCheckDigit('1300000003'), '751'],
    ] as const;
    for (const [rpps, caisse] of doctors) {
      expect((await call('PUT', `/v1/doctors/${rpps}`, 'system', { specialty: 'cardiologie', caisse, department: '44' })).status).toBe(200);
      await call('POST', '/v1/imports/measures', 'system', {
        source: 'SNDS',
        items: [{ rpps, year: 2023, indicator: 'V2_AAT', numerator: 80, denominator: 100 }],
      });
    }
    const run = await call('POST', '/v1/campaigns/2023/calculations', 'system', {});
    expect(run.status).toBe(202);
    expect(run.body.caisses).toEqual(
      expect.arrayContaining([
        { caisse: '441', doctors: 2 },
        { caisse: '751', doctors: 1 },
      ]),
    );
    await jobDone(run.body.jobId);
    for (const [rpps] of doctors) {
      const calculated = (await eventsOf(streams.declaration(rpps, 2023))).filter((e) => e.type === 'EntitlementCalculated');
      expect(calculated).toHaveLength(1);
      expect(calculated[0]!.data).toMatchObject({
        ruleset: 'FS-2023',
        rulesetVersion: '1',
        rulesetHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        lastPosition: expect.any(String),
      });
    }
    const completed = (await eventsOf(streams.campaign(2023))).filter((e) => e.type === 'CampaignCalculationCompleted');
    expect(completed).toHaveLength(1);

    const rerun = await call('POST', '/v1/campaigns/2023/calculations', 'system', {});
    await jobDone(rerun.body.jobId);
    for (const [rpps] of doctors) expect((await eventsOf(streams.declaration(rpps, 2023))).filter((e) => e.type === 'EntitlementCalculated')).toHaveLength(1);
    expect((await eventsOf(streams.campaign(2023))).filter((e) => e.type === 'CampaignCalculationCompleted')).toHaveLength(1);
    // After the calculation, the campaign can no longer be extended.
    expect((await call('POST', '/v1/campaigns/2023/deadline-extensions', 'admin', { closesAt: '2030-01-01T00:00:00Z', reason: 'r' })).body.code).toBe(
      'CALCULATION_ALREADY_RUN',
    );
  });

  it('rebuilds a projection beside the live one with progress, and swaps it in', async () => {
    const runtime = system.runtime;
    const rpps = withRppsCheckDigit('1300000003');
    const before = await readEntitlement(runtime.readDb, runtime.readModelSchema, rpps, 2023);
    expect(before).toBeDefined();
    const job = await runtime.jobs!.queue(QUEUES.rebuilds).add(REBUILD_JOB, { projections: ['entitlement'] }, { jobId: `rebuild-test-${Date.now()}` });
    const done = await jobDone(job.id!);
    expect(done.result).toMatchObject({ projections: ['entitlement'], position: (await runtime.store.headPosition()).toString() });
    expect(done.progress).toMatchObject({ phase: 'done', percent: 100 });
    expect(await readEntitlement(runtime.readDb, runtime.readModelSchema, rpps, 2023)).toEqual(before);
    // Still live after the swap: a new measure reaches the swapped-in read model.
    await call('POST', '/v1/imports/measures', 'system', {
      source: 'SNDS',
      items: [{ rpps, year: 2023, indicator: 'V2_PSE', numerator: 90, denominator: 100 }],
    });
    await runtime.projector!.waitFor(await runtime.store.headPosition());
    const after = await readEntitlement(runtime.readDb, runtime.readModelSchema, rpps, 2023);
    expect(after!.volet2.indicators.find((i) => i.code === 'V2_PSE')).toMatchObject({ met: true });
  });
});
