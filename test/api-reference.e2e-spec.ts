import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderApiReference } from '../apps/api/src/api-reference';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { startTestSystem } from './support/e2e';

/**
 * docs/api-reference.md is generated (`npm run docs:api`) from the OpenAPI document the running API
 * serves: the committed page must be what the code documents today.
 */
describe('docs/api-reference.md', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-api-ref-'));
  let system: StartedSystem | undefined;

  afterAll(async () => {
    await system?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is the page generated from the OpenAPI document the API serves (else: npm run docs:api)', async () => {
    system = await startTestSystem({
      STORE: 'embedded',
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: 'api-reference-secret-api-reference-secret',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    const res = await fetch(`${system.url}/docs/openapi.json`);
    expect(res.status).toBe(200);
    const generated = renderApiReference((await res.json()) as Parameters<typeof renderApiReference>[0]);
    const committed = readFileSync(resolve(__dirname, '../docs/api-reference.md'), 'utf8');
    // Each operation the API serves has its section, with its responses and error codes.
    expect(generated).toMatch(
      /### POST \/v1\/doctors\/\{rpps\}\/campaigns\/\{year\}\/declarations[\s\S]*?\| 409 \| codes : CAMPAIGN_CLOSED, SEGUR_DEADLINE_PASSED \|/,
    );
    expect({ stale: committed !== generated, fix: 'npm run docs:api' }).toEqual({ stale: false, fix: 'npm run docs:api' });
  }, 60_000);
});
