import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withRppsCheckDigit } from '@forfait/events';
import { loadConfig } from '@forfait/platform';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';
import { signDevToken } from '../apps/api/src/auth/token-verifier';
import { request, type Json } from './support/e2e';
import { Cluster, freePort, until } from './support/servers';

// Issue 17.14: the API's queries served by a real streaming standby (pg_basebackup -R) of a primary
// of this test's own, both on spare ports (55450-55459), never the shared server on 5432.
const SECRET = 'standby-secret-standby-secret-standby-0123';
const ME = 'standby-test'; // application_name of this test's own connections
const YEAR = 2023;
const WAIT_MS = 2000; // READ_MODELS_WAIT_MS of the API under test
const ANSWER_BOUND_MS = 15_000; // tells a bounded refusal from a hang on a loaded machine

/** Index and sequential scans of the read-model tables the queries read, as `cluster`'s statistics count them. */
async function readScans(cluster: Cluster): Promise<number> {
  const rows = await cluster.sql<{ n: string }>(
    `SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::text AS n FROM pg_stat_user_tables
     WHERE schemaname = 'rm' AND relname IN ('entitlements', 'doctors', 'doctor_years')`,
  );
  return Number(rows[0]!.n);
}

describe('queries served from a streaming standby (READ_DATABASE_URL)', () => {
  let primary: Cluster;
  let standby: Cluster;
  let system: StartedSystem;
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-standby-'));
  const rpps = withRppsCheckDigit('1300000000');

  beforeAll(async () => {
    primary = new Cluster(await freePort(25450, 25459), ME);
    await primary.init();
    standby = new Cluster(await freePort(25450, 25459, [primary.port]), ME);
    await standby.initStandbyOf(primary);
    expect(await standby.sql('SELECT pg_is_in_recovery() AS r')).toEqual([{ r: true }]);
    system = await startSystem(
      loadConfig({
        STORE: 'postgres',
        DATABASE_URL: primary.url,
        READ_DATABASE_URL: standby.url,
        READ_MODELS_WAIT_MS: String(WAIT_MS),
        PORT: '0',
        AUTH_JWT_SECRET: SECRET,
        SEED_DEMO: 'false',
        CLOCK: '2024-01-15T10:00:00+01:00',
        REDIS_URL: 'redis://127.0.0.1:1',
        DATA_DIR: dataDir,
      }),
      { logger: false },
    );
  }, 120_000);
  afterAll(async () => {
    await system?.close();
    await standby?.destroy();
    await primary?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, token: string, body?: unknown) => request(system.url, method, path, token, body);
  const declare = async (token: string, indicator: string, answer: boolean) =>
    call('POST', `/v1/doctors/${rpps}/campaigns/${YEAR}/declarations`, token, { indicator, value: { answer }, attestation: true });

  it('serves entitlement, history and the doctor search from the standby, each seeing the write whose position it names', async () => {
    const admin = await signDevToken(SECRET, { role: 'admin' });
    const doctor = await signDevToken(SECRET, { role: 'doctor', rpps });
    const controller = await signDevToken(SECRET, { role: 'controller', caisse: '441' });
    expect(
      (
        await call('POST', '/v1/campaigns', admin, {
          year: YEAR,
          ruleset: 'FS-2023',
          opensAt: '2023-12-11T00:00:00+01:00',
          closesAt: '2024-02-04T23:59:59.999+01:00',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await call('PUT', `/v1/doctors/${rpps}`, await signDevToken(SECRET, { role: 'system' }), {
          specialty: 'medecine-generale',
          caisse: '441',
          department: '44',
        })
      ).status,
    ).toBe(200);

    const written = await declare(doctor, 'V2_VIDEO', true);
    expect(written.status).toBe(201);
    const position = written.body.position as string;

    // Right after the command, with its position: the standby has replayed the projection's commit.
    const entitlement = await call('GET', `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement?minPosition=${position}`, doctor);
    expect(entitlement.status).toBe(200);
    expect(entitlement.headers.get('etag')).toBe(`"${written.body.revision}"`);
    expect(entitlement.body.volet2.indicators.find((i: Json) => i.code === 'V2_VIDEO')).toMatchObject({
      met: true,
      evidence: expect.arrayContaining([written.body.eventId]),
    });
    const history = await call('GET', `/v1/doctors/${rpps}/history?year=${YEAR}&minPosition=${position}`, controller);
    expect(history.status).toBe(200);
    expect(history.body.events.map((e: Json) => e.eventId)).toContain(written.body.eventId);
    const search = await call('GET', `/v1/doctors?q=${rpps}&minPosition=${position}`, controller);
    expect(search.status).toBe(200);
    expect(search.body.doctors).toEqual([
      { rpps, name: null, specialty: 'medecine-generale', caisse: '441', caisseName: 'CPAM de la Loire-Atlantique', department: '44', years: [YEAR] },
    ]);

    const health = (await (await fetch(`${system.url}/health`)).json()) as Json;
    expect(health.readModels.standby.projections.map((p: Json) => p.name).sort()).toEqual([
      'audit_trail',
      'campaign_deadlines',
      'entitlement',
      'registry',
      'worklists',
    ]);

    // Who served them: the API's query pool is connected to the standby, and only there.
    const named = "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'forfait-read'";
    expect((await standby.sql<{ n: number }>(named))[0]!.n).toBeGreaterThan(0);
    expect((await primary.sql<{ n: number }>(named))[0]!.n).toBe(0);

    // And the reads' scans of the read-model tables are counted on the standby, not on the primary
    // (no write meanwhile: the doctor's own reads and an auditor's search are not journaled).
    const auditor = await signDevToken(SECRET, { role: 'auditor' });
    // An idle backend flushes its statistics within 10 s (PGSTAT_IDLE_INTERVAL): at rest when a
    // count holds for longer than that, the projector's own scans of the writes above included.
    await until(
      async () => {
        const before = await readScans(primary);
        await new Promise((r) => setTimeout(r, 11_000));
        return (await readScans(primary)) === before ? true : undefined;
      },
      60_000,
      'the primary’s statistics at rest',
    );
    const primaryBefore = await readScans(primary);
    const standbyBefore = await readScans(standby);
    for (let i = 0; i < 5; i += 1) {
      expect((await call('GET', `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement`, doctor)).status).toBe(200);
      expect((await call('GET', `/v1/doctors?caisse=441`, auditor)).status).toBe(200);
    }
    // Statistics are flushed at most every 10 s by an idle backend: the standby's count moves...
    await until(async () => ((await readScans(standby)) > standbyBefore ? true : undefined), 30_000, 'the standby counting the reads');
    // ...and, past the same delay, the primary's has not.
    await new Promise((r) => setTimeout(r, 11_000));
    expect(await readScans(primary)).toBe(primaryBefore);
  }, 180_000);

  it('answers 503 READ_MODELS_BEHIND, not a stale answer, while the standby is paused, and the write once it resumes', async () => {
    const doctor = await signDevToken(SECRET, { role: 'doctor', rpps });
    await standby.sql('SELECT pg_wal_replay_pause()');
    try {
      await until(
        async () => ((await standby.sql<{ s: string }>('SELECT pg_get_wal_replay_pause_state() AS s'))[0]!.s === 'paused' ? true : undefined),
        10_000,
        'replay paused',
      );
      const written = await declare(doctor, 'V2_CODAGE', true);
      expect(written.status).toBe(201);
      // The projector committed it on the primary; the standby has not replayed it.
      const primaryCheckpoint = await until(
        async () => {
          const rows = await primary.sql<{ p: string }>(
            "SELECT min(position)::text AS p FROM rm.projection_checkpoints WHERE name IN ('entitlement', 'audit_trail')",
          );
          return BigInt(rows[0]!.p) >= BigInt(written.body.position as string) ? true : undefined;
        },
        20_000,
        'the projection on the primary',
      );
      expect(primaryCheckpoint).toBe(true);

      for (const path of [
        `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement?minPosition=${written.body.position}`,
        `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement`,
      ]) {
        const started = Date.now();
        const behind = await call('GET', path, doctor);
        const ms = Date.now() - started;
        expect(behind.status).toBe(503);
        expect(behind.body).toMatchObject({ statusCode: 503, code: 'READ_MODELS_BEHIND', message: expect.stringMatching(/modèles de lecture.*position/) });
        expect(behind.headers.get('retry-after')).toBe('1');
        expect(ms).toBeGreaterThanOrEqual(WAIT_MS - 50);
        expect(ms).toBeLessThan(ANSWER_BOUND_MS);
      }
      // /health says where the queries stand: the standby behind, so not ready.
      const health = (await (await fetch(`${system.url}/health`)).json()) as Json;
      expect(health.ready).toBe(false);
      expect(health.readModels.standby.projections.find((p: Json) => p.name === 'entitlement')).toMatchObject({ behind: true });
      // A position the standby has already replayed is served (what it shows is at least that recent).
      const earlier = await call('GET', `/v1/doctors/${rpps}/history?year=${YEAR}&minPosition=1`, doctor);
      expect(earlier.status).toBe(200);
      expect(earlier.body.events.map((e: Json) => e.eventId)).not.toContain(written.body.eventId);

      await standby.sql('SELECT pg_wal_replay_resume()');
      const caughtUp = await call('GET', `/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement?minPosition=${written.body.position}`, doctor);
      expect(caughtUp.status).toBe(200);
      expect(caughtUp.headers.get('etag')).toBe(`"${written.body.revision}"`);
      await until(async () => (((await (await fetch(`${system.url}/health`)).json()) as Json).ready === true ? true : undefined), 20_000, 'ready again');
      expect(caughtUp.body.volet2.indicators.find((i: Json) => i.code === 'V2_CODAGE')).toMatchObject({
        met: true,
        evidence: expect.arrayContaining([written.body.eventId]),
      });
    } finally {
      await standby.sql('SELECT pg_wal_replay_resume()').catch(() => undefined);
    }
  }, 120_000);

  it("serves the console's worklists and dashboard from the standby: at a replayed position they show the standby's rows, not the primary's newer ones", async () => {
    // The routes the console calls for its worklists (ControlsView, ContestationsView,
    // JustificatifsView) and its dashboard (DashboardView), as it calls them, with the position of
    // the command it made. With the standby paused, the primary's read models hold three writes
    // the standby does not: an answer read on the primary would show them.
    const rpps2 = withRppsCheckDigit('1300000001');
    const admin = await signDevToken(SECRET, { role: 'admin' });
    const doctor = await signDevToken(SECRET, { role: 'doctor', rpps: rpps2 });
    const controller = await signDevToken(SECRET, { role: 'controller', caisse: '441' });
    const agent = await signDevToken(SECRET, { role: 'agent', caisse: '441' });
    const campaign = await call('POST', '/v1/campaigns', admin, {
      year: YEAR,
      ruleset: 'FS-2023',
      opensAt: '2023-12-11T00:00:00+01:00',
      closesAt: '2024-02-04T23:59:59.999+01:00',
    });
    expect([201, 409]).toContain(campaign.status);
    expect(
      (
        await call('PUT', `/v1/doctors/${rpps2}`, await signDevToken(SECRET, { role: 'system' }), {
          specialty: 'medecine-generale',
          caisse: '441',
          department: '44',
        })
      ).status,
    ).toBe(200);
    const first = await call('POST', `/v1/doctors/${rpps2}/campaigns/${YEAR}/declarations`, doctor, {
      indicator: 'V2_VIDEO',
      value: { answer: true },
      attestation: true,
    });
    expect(first.status).toBe(201);
    const views = [
      ['/v1/controls', controller],
      ['/v1/contestations', controller],
      ['/v1/justificatifs', agent],
      [`/v1/campaigns/${YEAR}/dashboard`, controller],
    ] as const;
    const readAll = async (position?: string) => {
      const answers: Record<string, { status: number; body: Json }> = {};
      for (const [path, token] of views) answers[path] = await call('GET', position ? `${path}?minPosition=${position}` : path, token);
      return answers;
    };
    const before = await readAll(first.body.position as string);
    for (const [path] of views) expect({ path, status: before[path]!.status }).toEqual({ path, status: 200 });

    await standby.sql('SELECT pg_wal_replay_pause()');
    let controlId: string;
    let justificatifId: string;
    let last: string;
    try {
      await until(
        async () => ((await standby.sql<{ s: string }>('SELECT pg_get_wal_replay_pause_state() AS s'))[0]!.s === 'paused' ? true : undefined),
        10_000,
        'replay paused',
      );
      const control = await call('POST', '/v1/controls', controller, {
        rpps: rpps2,
        year: YEAR,
        indicators: ['V2_VIDEO'],
        reason: 'Ciblage : vidéotransmission déclarée sans justificatif',
      });
      expect(control.status).toBe(201);
      controlId = control.body.controlId as string;
      const form = new FormData();
      form.append('indicator', 'V2_VIDEO');
      form.append('file', new Blob([Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n')]), 'facture-visio.pdf');
      const upload = await call('POST', `/v1/doctors/${rpps2}/campaigns/${YEAR}/justificatifs`, doctor, form);
      expect(upload.status).toBe(201);
      justificatifId = upload.body.id as string;
      const declared = await call('POST', `/v1/doctors/${rpps2}/campaigns/${YEAR}/declarations`, doctor, {
        indicator: 'V2_CODAGE',
        value: { answer: true },
        attestation: true,
      });
      expect(declared.status).toBe(201);
      last = declared.body.position as string;
      // The primary's worklists and registry hold all three (committed with their checkpoints).
      await until(
        async () => {
          const rows = await primary.sql<{ p: string }>(
            "SELECT min(position)::text AS p FROM rm.projection_checkpoints WHERE name IN ('worklists', 'registry')",
          );
          return BigInt(rows[0]!.p) >= BigInt(last) ? true : undefined;
        },
        20_000,
        'the worklists and registry on the primary',
      );

      // At the position already replayed, each view answers what the standby has: as before.
      const stale = await readAll(first.body.position as string);
      for (const [path] of views)
        expect({ path, status: stale[path]!.status, body: stale[path]!.body }).toEqual({ path, status: 200, body: before[path]!.body });
      expect(JSON.stringify(stale['/v1/controls']!.body)).not.toContain(controlId);
      expect(JSON.stringify(stale['/v1/justificatifs']!.body)).not.toContain(justificatifId);
      // At the latest write, and at the head (no position), each refuses rather than answer stale.
      for (const position of [last, undefined]) {
        const behind = await readAll(position);
        for (const [path] of views)
          expect({ path, status: behind[path]!.status, code: behind[path]!.body.code }).toEqual({ path, status: 503, code: 'READ_MODELS_BEHIND' });
      }
    } finally {
      await standby.sql('SELECT pg_wal_replay_resume()').catch(() => undefined);
    }

    // Replay resumed: at the latest write each view shows it.
    const after = await readAll(last);
    for (const [path] of views) expect({ path, status: after[path]!.status }).toEqual({ path, status: 200 });
    expect(JSON.stringify(after['/v1/controls']!.body)).toContain(controlId);
    expect(JSON.stringify(after['/v1/justificatifs']!.body)).toContain(justificatifId);
    expect(after[`/v1/campaigns/${YEAR}/dashboard`]!.body).not.toEqual(before[`/v1/campaigns/${YEAR}/dashboard`]!.body);
  }, 150_000);
});
