import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '@forfait/platform';
import { quoteIdent } from '@forfait/store';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';
import { signDevToken } from '../apps/api/src/auth/token-verifier';
import { request, type Answer, type Json } from './support/e2e';

// Issue 11, points 1 to 3: amounts, idempotency and contention, against the real API on PostgreSQL.
const SECRET = 'money-e2e-secret-money-e2e-secret-0123456';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const API = join(__dirname, '..', 'dist', 'apps', 'api', 'src', 'main.js');
const GP = '10000000017';
const CARDIO = '10000000025';
const YEAR = 2023;
const CLOCK = '2024-03-01T10:00:00+01:00';

const schema = `money_${process.pid}_${randomBytes(3).toString('hex')}`;
const dataDir = mkdtempSync(join(tmpdir(), 'forfait-money-'));
const tokens: Record<string, string> = {};

const call = (base: string, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
  request(base, method, path, token, body, { headers, contentType: 'application/json' });

const sql = new Client({ connectionString: DATABASE_URL });
const q = async <R extends Json = Json>(text: string, params: unknown[] = []): Promise<R[]> =>
  (await sql.query(text.replaceAll('$S', quoteIdent(schema)), params)).rows as R[];
const paymentsOf = async (rpps: string) =>
  Number((await q(`SELECT count(*)::int AS n FROM $S.es_events WHERE stream_id = $1 AND type = 'PaymentRecorded'`, [`declaration-${rpps}-${YEAR}`]))[0]!.n);

beforeAll(async () => {
  await sql.connect();
  const sign = (claims: Parameters<typeof signDevToken>[1]) => signDevToken(SECRET, claims);
  tokens.admin = await sign({ role: 'admin' });
  tokens.system = await sign({ role: 'system' });
  tokens.gp = await sign({ role: 'doctor', rpps: GP });
  tokens.agent = await sign({ role: 'agent', caisse: '441' });
  tokens.auditor = await sign({ role: 'auditor' });
});
afterAll(async () => {
  await sql.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await sql.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${schema}_rm`)} CASCADE`);
  await sql.end();
  rmSync(dataDir, { recursive: true, force: true });
});

const env = {
  STORE: 'postgres',
  DATABASE_URL,
  DATABASE_SCHEMA: schema,
  DATA_DIR: dataDir,
  AUTH_JWT_SECRET: SECRET,
  SEED_DEMO: 'false',
  CLOCK,
  REDIS_URL: 'redis://127.0.0.1:6379',
};
const start = () => startSystem(loadConfig({ ...env, PORT: '0' }), { logger: false });

describe('issue 11: money and data stay safe (API on PostgreSQL)', () => {
  let system: StartedSystem;
  let base: string;
  const api = (method: string, path: string, token: string, body?: unknown, headers?: Record<string, string>) => call(base, method, path, token, body, headers);
  const pay = (body: unknown, headers?: Record<string, string>) => api('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/payments`, tokens.system!, body, headers);

  beforeAll(async () => {
    system = await start();
    base = system.url;
    expect(
      (
        await api('POST', '/v1/campaigns', tokens.admin!, {
          year: YEAR,
          ruleset: 'FS-2023',
          opensAt: '2023-12-11T00:00:00+01:00',
          closesAt: '2024-02-11T23:59:59.999+01:00',
        })
      ).status,
    ).toBe(201);
    expect((await api('PUT', `/v1/doctors/${GP}`, tokens.system!, { specialty: 'medecine-generale', caisse: '441', department: '44' })).status).toBe(200);
    expect((await api('PUT', `/v1/doctors/${CARDIO}`, tokens.system!, { specialty: 'cardiologie', caisse: '441', department: '44' })).status).toBe(200);
  });
  afterAll(async () => {
    await system?.close();
  });

  it('11.1 amounts are safe integers within their bounds; nothing stops the entitlement projection', async () => {
    const before = await system.runtime.store.headPosition();
    // 1e20 passes a plain integer check; 2^53 + 1 arrives as 2^53; 1e308 is finite but absurd.
    for (const amount of ['1e20', '9007199254740993', '1e308', '0', '-5', '12.5']) {
      const res = await pay(`{"amountCents": ${amount}, "paidAt": "2024-02-20T10:00:00+01:00"}`);
      expect({ amount, status: res.status, code: res.body.code }).toEqual({ amount, status: 400, code: 'VALIDATION_FAILED' });
    }
    // Above the maximum with the points in force: 1 163 points × 7 € = 814 100 cents (guide §IV).
    const above = await pay({ amountCents: 814_101, paidAt: '2024-02-20T10:00:00+01:00' });
    expect({ status: above.status, code: above.body.code }).toEqual({ status: 422, code: 'PAYMENT_ABOVE_MAXIMUM' });
    // A payment goes to a doctor the caisse knows (issue 13: decided).
    const unknown = await api('POST', `/v1/doctors/10000000066/campaigns/${YEAR}/payments`, tokens.system!, {
      amountCents: 100,
      paidAt: '2024-02-20T10:00:00+01:00',
    });
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 404, code: 'DOCTOR_NOT_FOUND' });
    const future = await pay({ amountCents: 100, paidAt: '2030-01-01T10:00:00+01:00' });
    expect({ status: future.status, code: future.body.code }).toEqual({ status: 422, code: 'EFFECTIVE_AT_IN_FUTURE' });
    // Measures: counts with numerator ≤ denominator, only on automated indicators.
    const measures = await api('POST', '/v1/imports/measures', tokens.system!, {
      source: 'SNDS',
      items: [
        { rpps: GP, year: YEAR, indicator: 'V2_AAT', numerator: 120, denominator: 100 },
        { rpps: GP, year: YEAR, indicator: 'V2_AAT', numerator: 1e20, denominator: 1e21 },
        { rpps: GP, year: YEAR, indicator: 'V2_CODAGE', numerator: 1, denominator: 1 },
        { rpps: GP, year: YEAR, indicator: 'V2_PSE', numerator: 80, denominator: 100 },
      ],
    });
    expect(measures.body).toMatchObject({ received: 4, appended: 1, status: 'partial' });
    expect((measures.body.rejected as Json[]).map((r) => [r.index, r.code])).toEqual([
      [0, 'VALUE_INVALID'],
      [1, 'VALIDATION_FAILED'],
      [2, 'VALIDATION_FAILED'],
    ]);
    // (the campaign's deadline job may close it meanwhile: only the doctor-year's stream is looked at)
    const written = (await system.runtime.store.readAll({ after: before, maxCount: 100 })).filter((e) => e.streamId === `declaration-${GP}-${YEAR}`);
    expect(written.map((e) => e.type)).toEqual(['MeasureRecorded']);
    // A payment at the maximum goes through, one cent more then does not, and every projection keeps up.
    expect((await pay({ amountCents: 814_100, paidAt: '2024-02-20T10:00:00+01:00' })).status).toBe(201);
    expect((await pay({ amountCents: 1, paidAt: '2024-02-21T10:00:00+01:00' })).body.code).toBe('PAYMENT_ABOVE_MAXIMUM');
    await system.runtime.projector!.waitFor(await system.runtime.store.headPosition());
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
  });

  it('11.2 a payment reference is unique per doctor-year, with or without Idempotency-Key', async () => {
    const body = { amountCents: 10_000, paidAt: '2024-02-20T10:00:00+01:00', reference: 'VIR-2024-0001' };
    const rpps = CARDIO;
    const payCardio = (b: unknown, h?: Record<string, string>) => api('POST', `/v1/doctors/${rpps}/campaigns/${YEAR}/payments`, tokens.system!, b, h);
    expect((await payCardio(body)).status).toBe(201);
    const again = await payCardio(body);
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'PAYMENT_DUPLICATE' });
    const keyed = await payCardio(body, { 'idempotency-key': 'another-key-1' });
    expect({ status: keyed.status, code: keyed.body.code }).toEqual({ status: 409, code: 'PAYMENT_DUPLICATE' });
    expect(await paymentsOf(rpps)).toBe(1);
  });

  it('11.2 Idempotency-Key: the same key and body answer as the first time and append nothing; another body is 422', async () => {
    const body = { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true, channel: 'paper', effectiveAt: '2024-02-01T10:00:00+01:00' };
    const declare = (b: unknown, key: string) => api('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/declarations`, tokens.agent!, b, { 'idempotency-key': key });
    const first = await declare(body, 'decl-1');
    expect(first.status).toBe(201);
    const head = await system.runtime.store.headPosition();
    // The same JSON value, keys in another order: the first answer, its ETag, nothing appended.
    const reordered = { attestation: true, effectiveAt: body.effectiveAt, channel: 'paper', value: { answer: true }, indicator: 'V2_CODAGE' };
    const replay = await declare(reordered, 'decl-1');
    expect({ status: replay.status, body: replay.body, etag: replay.headers.get('etag') }).toEqual({
      status: 201,
      body: first.body,
      etag: first.headers.get('etag'),
    });
    expect(await system.runtime.store.headPosition()).toBe(head);
    const reused = await declare({ ...body, value: { answer: false } }, 'decl-1');
    expect({ status: reused.status, code: reused.body.code }).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    // Refusals are kept and replayed too (not a 5xx): the same refused body answers the same refusal.
    const refused = await declare({ ...body, attestation: false }, 'decl-2');
    expect(refused.body.code).toBe('ATTESTATION_REQUIRED');
    expect(await declare({ ...body, attestation: false }, 'decl-2')).toMatchObject({ status: refused.status, body: refused.body });
    // Keys are the caller's: another principal's same key is another request.
    const otherAgent = await signDevToken(SECRET, { role: 'agent', caisse: '441', sub: 'agent-2' });
    expect(
      (await call(base, 'POST', `/v1/doctors/${GP}/campaigns/${YEAR}/declarations`, otherAgent, body, { 'idempotency-key': 'decl-1' })).body.eventId,
    ).not.toBe(first.body.eventId);
    // A multipart upload: the same fields and file bytes replay, another file is 422.
    const upload = (bytes: Buffer) => {
      const form = new FormData();
      form.append('indicator', 'V2_SAS');
      form.append('file', new Blob([bytes]), 'attestation.pdf');
      return call(base, 'POST', `/v1/doctors/${GP}/campaigns/${YEAR}/justificatifs`, tokens.gp!, form, { 'idempotency-key': 'upload-1' });
    };
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    const up1 = await upload(pdf);
    expect(up1.status).toBe(201);
    const headAfterUpload = await system.runtime.store.headPosition();
    expect(await upload(pdf)).toMatchObject({ status: 201, body: up1.body });
    expect(await system.runtime.store.headPosition()).toBe(headAfterUpload);
    expect((await upload(Buffer.concat([pdf, Buffer.from('%changed\n')]))).body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('11.2 Idempotency-Key on a text/csv extract: the same key and extract answer the first answer, another extract under the key is 422 and leaves nothing', async () => {
    const header = 'rpps,year,indicator,numerator,denominator,participates,teletransmittedPreviousYear,months';
    const csv1 = [header, `${GP},${YEAR},V2_AAT,75,100,,,`].join('\n');
    const csv2 = [header, `${GP},${YEAR},V2_AAT,10,100,,,`].join('\n');
    const send = (csv: string, key: string) =>
      api('POST', '/v1/imports/measures?source=SNDS', tokens.system!, csv, { 'content-type': 'text/csv', 'idempotency-key': key });
    const accepted = async () => Number((await q(`SELECT count(*)::int AS n FROM ${quoteIdent(`${schema}_rm`)}.accepted_jobs`))[0]!.n);
    const first = await send(csv1, 'csv-1');
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // The job runs (one measure appended), and is done.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const job = await api('GET', `/v1/jobs/${first.body.jobId}`, tokens.system!);
      if (job.body.state === 'completed') {
        expect(job.body.result).toMatchObject({ appended: 1 });
        break;
      }
      if (Date.now() > deadline) throw new Error(`job ${first.body.jobId}: ${JSON.stringify(job.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const head = await system.runtime.store.headPosition();
    const jobs = await accepted();
    // The same key and extract: the first answer, said to be a replay; nothing enqueued nor appended.
    const replay = await send(csv1, 'csv-1');
    expect({ status: replay.status, body: replay.body, replayed: replay.headers.get('idempotent-replayed') }).toEqual({
      status: 202,
      body: first.body,
      replayed: 'true',
    });
    // Another extract under the key: 422, no job accepted, no file kept, nothing appended.
    const reused = await send(csv2, 'csv-1');
    expect({ status: reused.status, code: reused.body.code }).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await accepted()).toBe(jobs);
    expect(readdirSync(join(dataDir, 'imports'))).toEqual([]);
    expect(await system.runtime.store.headPosition()).toBe(head);
    // The same extract under another key is a request of its own (the extract's content still makes it one job).
    const other = await send(csv2, 'csv-2');
    expect(other.status).toBe(202);
    expect(other.body.jobId).not.toBe(first.body.jobId);
  });

  it('11.2 keys are kept durably: after a restart the same key answers the first answer again', async () => {
    const body = { amountCents: 500, paidAt: '2024-02-22T10:00:00+01:00', reference: 'VIR-2024-0002' };
    const first = await api('POST', `/v1/doctors/${CARDIO}/campaigns/${YEAR}/payments`, tokens.system!, body, { 'idempotency-key': 'pay-restart' });
    expect(first.status).toBe(201);
    await system.close();
    system = await start();
    base = system.url;
    const replay = await api('POST', `/v1/doctors/${CARDIO}/campaigns/${YEAR}/payments`, tokens.system!, body, { 'idempotency-key': 'pay-restart' });
    expect({ status: replay.status, body: replay.body }).toEqual({ status: 201, body: first.body });
    expect(await paymentsOf(CARDIO)).toBe(2);
  });

  it('11.2 keys are kept at least 24 h: the purge removes those older than the retention (48 h) and keeps the younger ones', async () => {
    const pay2 = (reference: string, key: string) =>
      api(
        'POST',
        `/v1/doctors/${CARDIO}/campaigns/${YEAR}/payments`,
        tokens.system!,
        { amountCents: 100, paidAt: '2024-02-22T10:00:00+01:00', reference },
        { 'idempotency-key': key },
      );
    const young = await pay2('VIR-2024-0201', 'pay-47h');
    const old = await pay2('VIR-2024-0202', 'pay-49h');
    expect([young.status, old.status]).toEqual([201, 201]);
    const keys = async () =>
      (
        await q<{ age: string }>(
          `SELECT round(extract(epoch FROM now() - created_at) / 3600)::text AS age FROM $S.api_idempotency WHERE created_at < now() - interval '1 hour' ORDER BY created_at`,
        )
      ).map((r) => r.age);
    // Aged by hand (the table is the durable store; the clock of PostgreSQL dates them): 47 h and 49 h.
    const scopes = await q<{ scope: string }>(`SELECT scope FROM $S.api_idempotency WHERE completed_at IS NOT NULL ORDER BY completed_at DESC LIMIT 2`);
    expect(scopes).toHaveLength(2);
    await q(`UPDATE $S.api_idempotency SET created_at = now() - interval '49 hours' WHERE scope = $1`, [scopes[0]!.scope]);
    await q(`UPDATE $S.api_idempotency SET created_at = now() - interval '47 hours' WHERE scope = $1`, [scopes[1]!.scope]);
    expect(await keys()).toEqual(['49', '47']);
    const payments = await paymentsOf(CARDIO);
    // The purge runs at start (then hourly): after a restart the 49 h key is gone, the 47 h one answers as the first time.
    await system.close();
    system = await start();
    base = system.url;
    const replay = await pay2('VIR-2024-0201', 'pay-47h');
    expect({ status: replay.status, body: replay.body, replayed: replay.headers.get('idempotent-replayed') }).toEqual({
      status: 201,
      body: young.body,
      replayed: 'true',
    });
    expect(await keys()).toEqual(['47']);
    expect(await paymentsOf(CARDIO)).toBe(payments);
  });

  it('11.3 without If-Match no command fails for a race it did not choose: 32 concurrent declarations, 50 concurrent staff reads', async () => {
    const rpps = '10000000033';
    expect((await api('PUT', `/v1/doctors/${rpps}`, tokens.system!, { specialty: 'medecine-generale', caisse: '441', department: '44' })).status).toBe(200);
    const stream = `declaration-${rpps}-${YEAR}`;
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        api('POST', `/v1/doctors/${rpps}/campaigns/${YEAR}/declarations`, tokens.agent!, {
          indicator: 'V2_VIDEO',
          value: { answer: i % 2 === 0 },
          attestation: true,
          channel: 'paper',
          effectiveAt: '2024-02-01T10:00:00+01:00',
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 32 }, () => 201));
    expect(new Set(results.map((r) => r.body.revision)).size).toBe(32);
    expect((await system.runtime.store.readStream(stream)).filter((e) => e.type === 'IndicatorDeclared')).toHaveLength(32);

    const reads = await Promise.all(Array.from({ length: 50 }, () => api('GET', `/v1/doctors/${rpps}/history?year=${YEAR}`, tokens.auditor!)));
    expect(reads.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 200));
    expect((await system.runtime.store.readStream(`access-${rpps}`)).filter((e) => e.type === 'StaffReadRecorded')).toHaveLength(50);
  });

  it('11.1 a projection that cannot apply an event says so: /health names it with the position and the error, readiness fails, the metric too; it is retried in-process and, once the cause is gone, catches up without a restart', async () => {
    await system.runtime.projector!.waitFor(await system.runtime.store.headPosition(), 30_000);
    const rm = quoteIdent(`${schema}_rm`);
    // An operator's mistake: the entitlement projection's table gone from under it.
    await q(`ALTER TABLE ${rm}.entitlements RENAME TO entitlements_away`);
    const paid = await api('POST', `/v1/doctors/${CARDIO}/campaigns/${YEAR}/payments`, tokens.system!, {
      amountCents: 100,
      paidAt: '2024-02-23T10:00:00+01:00',
      reference: 'VIR-2024-0100',
    });
    expect({ status: paid.status, body: paid.body }).toMatchObject({ status: 201 });
    const deadline = Date.now() + 30_000;
    let health: Answer;
    for (;;) {
      health = await api('GET', '/health', tokens.auditor!);
      if ((health.body.readModels?.failing ?? []).length > 0) break;
      if (Date.now() > deadline) throw new Error(`no failing projection reported: ${JSON.stringify(health.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(health.status).toBe(200); // alive: commands and the other read models go on
    expect(health.body.status).toBe('degraded');
    expect(health.body.readModels.failing).toEqual([
      {
        name: 'entitlement',
        position: paid.body.position,
        eventId: paid.body.eventId,
        type: 'PaymentRecorded',
        error: expect.stringMatching(/entitlements/),
        failedAt: expect.any(String),
        detail: expect.stringMatching(
          new RegExp(
            `^la projection entitlement ne peut pas appliquer l’événement PaymentRecorded \\(${paid.body.eventId}\\) à la position ${paid.body.position} : .*entitlements`,
          ),
        ),
      },
    ]);
    const ready = await api('GET', '/health/ready', tokens.auditor!);
    expect({ status: ready.status, ready: ready.body.ready, failing: ready.body.readModels.failing.map((f: Json) => f.name) }).toEqual({
      status: 503,
      ready: false,
      failing: ['entitlement'],
    });
    const metrics = await (await fetch(`${base}/health/metrics`)).text();
    expect(metrics).toContain(`forfait_projection_failed{projection="entitlement",position="${paid.body.position}"} 1`);
    expect(metrics).toContain('forfait_projection_failed{projection="audit_trail"} 0');
    // It stopped just before that event (the rest of its batch applied); the audit trail went past it.
    const checkpoints = Object.fromEntries(
      (await q<{ name: string; position: string }>(`SELECT name, position::text AS position FROM ${rm}.projection_checkpoints`)).map((r) => [
        r.name,
        BigInt(r.position),
      ]),
    );
    expect(checkpoints.entitlement).toBe(BigInt(paid.body.position) - 1n);
    expect(checkpoints.audit_trail! >= BigInt(paid.body.position)).toBe(true);

    // Not stopped for good: applied again in-process, with backoff (the failure recorded anew each time).
    const firstFailedAt = health.body.readModels.failing[0].failedAt as string;
    const retried = Date.now() + 15_000;
    for (;;) {
      const again = await api('GET', '/health', tokens.auditor!);
      const failing = (again.body.readModels?.failing ?? []) as Json[];
      if (failing[0] && failing[0].failedAt !== firstFailedAt) {
        expect(failing[0]).toMatchObject({ name: 'entitlement', position: paid.body.position });
        break;
      }
      if (Date.now() > retried) throw new Error(`the projection was not applied again within 15 s: ${JSON.stringify(again.body.readModels)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The table back, nothing restarted: the projection catches up by itself, the failure is gone.
    await q(`ALTER TABLE ${rm}.entitlements_away RENAME TO entitlements`);
    const caughtUp = Date.now() + 90_000;
    const head = await system.runtime.store.headPosition();
    for (;;) {
      const c = await q<{ position: string }>(`SELECT position::text AS position FROM ${rm}.projection_checkpoints WHERE name = 'entitlement'`);
      if (BigInt(c[0]!.position) >= head) break;
      if (Date.now() > caughtUp) throw new Error(`entitlement did not catch up within 90 s (at ${c[0]!.position}, head ${head})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const after = await api('GET', '/health/ready', tokens.auditor!);
    expect({ status: after.status, failing: after.body.readModels.failing }).toEqual({ status: 200, failing: [] });
    // The payment is in the entitlement now, with those before it.
    expect((await q(`SELECT view::jsonb->>'paidCents' AS paid FROM ${rm}.entitlements WHERE rpps = $1 AND year = $2`, [CARDIO, YEAR]))[0]).toEqual({
      paid: (
        await q<{ n: string }>(`SELECT sum((data->>'amountCents')::bigint)::text AS n FROM $S.es_events WHERE stream_id = $1 AND type = 'PaymentRecorded'`, [
          `declaration-${CARDIO}-${YEAR}`,
        ])
      )[0]!.n,
    });
  });
});

describe('issue 11.2: the API killed after the append commits and before it answers', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  /** The built API as a user runs it; resolves with its URL once it listens. */
  const spawnApi = (): Promise<{ proc: ChildProcess; base: string }> =>
    new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [API], {
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', PORT: '0', ...env, DATABASE_SCHEMA: schema },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let out = '';
      const timer = setTimeout(() => reject(new Error(`API did not start: ${out}`)), 20_000);
      proc.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /API\s+(http:\/\/[^\s]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve({ proc, base: m[1]! });
        }
      });
      proc.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      proc.once('exit', (code) => reject(new Error(`API exited with ${code}: ${out}`)));
    });

  /** Polls a query (bounded: tells progress from a hang) until it returns a row. */
  const until = async (text: string, params: unknown[], what: string): Promise<Json> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const rows = await q(text, params);
      if (rows.length > 0) return rows[0]!;
      if (Date.now() > deadline) throw new Error(`${what}: not seen within 15 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('the retry with the same key appends nothing and answers the committed payment', async () => {
    const rpps = '10000000041';
    const first = await spawnApi();
    expect((await call(first.base, 'PUT', `/v1/doctors/${rpps}`, tokens.system!, { specialty: 'cardiologie', caisse: '441', department: '44' })).status).toBe(
      200,
    );
    const body = { amountCents: 123_400, paidAt: '2024-02-20T10:00:00+01:00', reference: 'VIR-CRASH-1' };
    const headers = { 'idempotency-key': 'pay-crash-1' };

    // Hold the store's append lock, so the API's append waits once its key is recorded as pending…
    const appendLock = new Client({ connectionString: DATABASE_URL });
    const answerLock = new Client({ connectionString: DATABASE_URL });
    await appendLock.connect();
    await answerLock.connect();
    try {
      await appendLock.query('BEGIN');
      await appendLock.query(`SELECT 1 FROM ${quoteIdent(schema)}.es_head WHERE id = 1 FOR UPDATE`);
      const request = call(first.base, 'POST', `/v1/doctors/${rpps}/campaigns/${YEAR}/payments`, tokens.system!, body, headers).then(
        (a) => ({ answered: a.status }),
        () => ({ answered: 'no answer' as const }),
      );
      const pending = await until(`SELECT scope FROM $S.api_idempotency WHERE status IS NULL`, [], 'the pending key');
      // …then hold the key's row, so that the answer cannot be kept, and let the append commit.
      await answerLock.query('BEGIN');
      await answerLock.query(`SELECT 1 FROM ${quoteIdent(schema)}.api_idempotency WHERE scope = $1 FOR UPDATE`, [pending.scope]);
      await appendLock.query('COMMIT');
      const committed = await until(
        `SELECT event_id FROM $S.es_events WHERE stream_id = $1 AND type = 'PaymentRecorded'`,
        [`declaration-${rpps}-${YEAR}`],
        'the committed payment',
      );
      first.proc.kill('SIGKILL');
      await new Promise((r) => first.proc.once('exit', r));
      expect(await request).toEqual({ answered: 'no answer' });
      await answerLock.query('ROLLBACK');

      const second = await spawnApi();
      const retry = await call(second.base, 'POST', `/v1/doctors/${rpps}/campaigns/${YEAR}/payments`, tokens.system!, body, headers);
      expect({ status: retry.status, eventId: retry.body.eventId }).toEqual({ status: 201, eventId: committed.event_id });
      expect(await paymentsOf(rpps)).toBe(1);
      // Without the key, the reference still refuses a second payment.
      expect((await call(second.base, 'POST', `/v1/doctors/${rpps}/campaigns/${YEAR}/payments`, tokens.system!, body)).body.code).toBe('PAYMENT_DUPLICATE');
      expect(await paymentsOf(rpps)).toBe(1);
    } finally {
      await appendLock.end();
      await answerLock.end();
    }
  });
});
