import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDevToken } from '@forfait/platform';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { DEMO_DOCTORS } from '../apps/api/src/seed/demo-seed';
import { request, startTestSystem, type Json } from './support/e2e';

// Issue 12.2: current-state queries served from the read models, with read-your-writes by position;
// `knownAt` queries replay the streams. On the demo data, both answer the same.
const SECRET = 'read-models-secret-read-models-secret-0123';
const YEAR = 2023;
const WAIT_MS = 1000;
const ANSWER_BOUND_MS = 15_000; // tells a bounded refusal from a hang on a loaded machine

describe('current-state queries from the read models (embedded, demo data)', () => {
  let system: StartedSystem;
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-reads-'));

  beforeAll(async () => {
    system = await startTestSystem({
      DATA_DIR: dataDir,
      CLOCK: '2024-02-20T10:00:00+01:00',
      SEED_DEMO: 'true',
      AUTH_JWT_SECRET: SECRET,
      REDIS_URL: 'redis://127.0.0.1:1',
      READ_MODELS_WAIT_MS: String(WAIT_MS),
    });
  }, 120_000);
  afterAll(async () => {
    await system?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const get = (path: string, token: string) => request(system.url, 'GET', path, token);
  const serverNow = async () => (await request(system.url, 'GET', '/health', null)).body.now as string;

  it('answers from the read model what the replay answers, entitlement and history, for every demo doctor', async () => {
    expect(system.seeded.events).toBeGreaterThan(0);
    const auditor = await signDevToken(SECRET, { role: 'auditor' });
    const totals: number[] = [];
    for (const { rpps } of DEMO_DOCTORS) {
      const current = await get(`/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement`, auditor);
      const at = await serverNow();
      const replayed = await get(`/v1/doctors/${rpps}/campaigns/${YEAR}/entitlement?knownAt=${encodeURIComponent(at)}`, auditor);
      expect(current.status).toBe(200);
      expect(replayed.status).toBe(200);
      // The same entitlement and the same ETag; only the instant it is "as known at" differs.
      expect({ ...current.body, knownAt: undefined }).toEqual({ ...replayed.body, knownAt: undefined });
      totals.push(current.body.totalPoints as number);
      expect(current.headers.get('etag')).toMatch(/^"\d+"$/);
      expect(current.headers.get('etag')).toBe(replayed.headers.get('etag'));

      const trail = await get(`/v1/doctors/${rpps}/history?year=${YEAR}`, auditor);
      const replayedTrail = await get(`/v1/doctors/${rpps}/history?year=${YEAR}&knownAt=${encodeURIComponent(await serverNow())}`, auditor);
      expect(trail.status).toBe(200);
      expect(trail.body.events.length).toBeGreaterThan(1);
      expect({ ...trail.body, knownAt: undefined }).toEqual({ ...replayedTrail.body, knownAt: undefined });
      expect(trail.headers.get('etag')).toBe(current.headers.get('etag'));
      const all = await get(`/v1/doctors/${rpps}/history`, auditor);
      const allReplayed = await get(`/v1/doctors/${rpps}/history?knownAt=${encodeURIComponent(await serverNow())}`, auditor);
      expect({ ...all.body, knownAt: undefined }).toEqual({ ...allReplayed.body, knownAt: undefined });
    }
    // Not a comparison of empty answers: the demo's doctors have points.
    expect(Math.max(...totals)).toBeGreaterThan(0);
  });

  it('says, for every query of the OpenAPI document, where it is served from, and documents minPosition and READ_MODELS_BEHIND on the read-model ones', async () => {
    const doc = (await (await fetch(`${system.url}/docs/openapi.json`)).json()) as Json;
    const gets = Object.entries(doc.paths as Record<string, Json>).filter(([, item]) => item.get);
    expect(gets.length).toBeGreaterThan(20);
    for (const [path, item] of gets) expect([path, item.get.description]).toEqual([path, expect.stringMatching(/Servi depuis : .+\.$/)]);
    for (const path of [
      '/v1/doctors/{rpps}/campaigns/{year}/entitlement',
      '/v1/doctors/{rpps}/history',
      '/v1/doctors',
      '/v1/justificatifs',
      '/v1/controls',
      '/v1/contestations',
      '/v1/campaigns/{year}/dashboard',
    ]) {
      const op = doc.paths[path].get as Json;
      expect([path, op.description]).toEqual([path, expect.stringMatching(/modèles? de lecture/)]);
      expect([path, (op.parameters as Json[]).some((p) => p.name === 'minPosition' && p.in === 'query')]).toEqual([path, true]);
      expect([path, op.responses['503'].description]).toEqual([path, expect.stringMatching(/READ_MODELS_BEHIND/)]);
    }
    expect(doc.paths['/v1/doctors/{rpps}/campaigns/{year}/entitlement'].get.responses['200'].headers).toHaveProperty('ETag');
  });

  it('sees a command’s write with its position, refuses a position past the head within its bound, and a bad one with 400', async () => {
    const [gp] = DEMO_DOCTORS;
    const doctor = await signDevToken(SECRET, { role: 'doctor', rpps: gp.rpps });
    // 20 February 2024: the campaign is closed; a payment is a command that still records.
    const system_ = await signDevToken(SECRET, { role: 'system' });
    const paid = await fetch(`${system.url}/v1/doctors/${gp.rpps}/campaigns/${YEAR}/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${system_}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amountCents: 1234, paidAt: '2024-02-20T09:00:00+01:00', reference: 'VIR-READS-1' }),
    });
    expect(paid.status).toBe(201);
    const answer = (await paid.json()) as Json;
    const seen = await get(`/v1/doctors/${gp.rpps}/campaigns/${YEAR}/entitlement?minPosition=${answer.position}`, doctor);
    expect(seen.status).toBe(200);
    expect(seen.body.paidCents).toBe(1234);
    expect(seen.headers.get('etag')).toBe(`"${answer.revision}"`);

    const beyond = (BigInt(answer.position) + 1000n).toString();
    for (const path of [
      `/v1/doctors/${gp.rpps}/campaigns/${YEAR}/entitlement?minPosition=${beyond}`,
      `/v1/doctors/${gp.rpps}/history?minPosition=${beyond}`,
      `/v1/doctors?minPosition=${beyond}`,
      `/v1/justificatifs?minPosition=${beyond}`,
      `/v1/controls?minPosition=${beyond}`,
      `/v1/contestations?minPosition=${beyond}`,
      `/v1/campaigns/${YEAR}/dashboard?minPosition=${beyond}`,
    ]) {
      const token = await signDevToken(SECRET, { role: 'auditor' });
      const started = Date.now();
      const behind = await get(path, path.includes('entitlement') || path.includes('history') ? doctor : token);
      const ms = Date.now() - started;
      expect([path, behind.status, behind.body.code]).toEqual([path, 503, 'READ_MODELS_BEHIND']);
      expect(behind.body.message).toMatch(/n’ont pas atteint la position/);
      expect(behind.headers.get('retry-after')).toBe('1');
      expect(ms).toBeGreaterThanOrEqual(WAIT_MS - 50);
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
    }
    for (const bad of ['-1', 'abc', '1.5', '99999999999999999999']) {
      const refused = await get(`/v1/doctors/${gp.rpps}/campaigns/${YEAR}/entitlement?minPosition=${bad}`, doctor);
      expect([bad, refused.status, refused.body.code]).toEqual([bad, 400, 'VALIDATION_FAILED']);
    }
  });
});
