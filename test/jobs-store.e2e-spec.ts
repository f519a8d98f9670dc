import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CURRENT_SCHEMA_VERSION, streams } from '@forfait/events';
import { loadConfig } from '@forfait/platform';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';

// Issue 18.2: jobs belong to the store they were made for (its id, not its path), and the campaign's
// closing follows the server's clock, not Redis' real time. Embedded stores, with Redis.
const YEAR = 2031;

const start = (dataDir: string, clock: string) =>
  startSystem(loadConfig({ DATA_DIR: dataDir, CLOCK: clock, PORT: '0', SEED_DEMO: 'false', NODE_ENV: 'test' }), { logger: false });

async function openCampaign(system: StartedSystem, closesAt: string): Promise<void> {
  await system.runtime.store.append(
    streams.campaign(YEAR),
    [
      {
        eventId: randomUUID(),
        type: 'CampaignOpened',
        schemaVersion: CURRENT_SCHEMA_VERSION.CampaignOpened,
        data: { year: YEAR, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2031-01-01T00:00:00+01:00', closesAt },
        metadata: {
          effectiveAt: '2031-01-01T00:00:00+01:00',
          actor: { sub: 'admin-test', role: 'admin' },
          channel: 'back-office',
          correlationId: randomUUID(),
          causationId: null,
        },
      },
    ],
    { expectedRevision: 'any' },
  );
}

/** Whether the campaign's stream holds its CampaignClosed within `ms`. */
async function closedWithin(system: StartedSystem, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const events = await system.runtime.store.readStream(streams.campaign(YEAR));
    if (events.some((e) => e.type === 'CampaignClosed')) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('jobs of an embedded store (issue 18.2)', () => {
  const root = mkdtempSync(join(tmpdir(), 'forfait-jobs-store-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("a store re-created under the same path does not share the old store's jobs: its campaign closes at its deadline", async () => {
    const dataDir = join(root, 'var');
    const clock = '2031-02-01T10:00:00+01:00';
    const closesAt = '2031-02-01T10:00:03+01:00'; // 3 s after the clock's start
    const old = await start(dataDir, clock);
    try {
      await openCampaign(old, closesAt);
      expect(await closedWithin(old, 20_000)).toBe(true);
    } finally {
      await old.close();
    }
    rmSync(dataDir, { recursive: true, force: true });

    // The same path, the same clock, the same deadline: the old store's completed job (kept 7 days)
    // must not stand for this one.
    const fresh = await start(dataDir, clock);
    try {
      expect(fresh.runtime.jobs!.prefix).not.toBe(old.runtime.jobs!.prefix);
      await openCampaign(fresh, closesAt);
      expect(await closedWithin(fresh, 20_000)).toBe(true);
    } finally {
      await fresh.close();
    }
  }, 60_000);

  it('the closing follows the server clock: a restart with a CLOCK after the deadline closes at once', async () => {
    const dataDir = join(root, 'clock');
    const before = await start(dataDir, '2031-02-01T10:00:00+01:00');
    try {
      await openCampaign(before, '2031-02-01T11:00:00+01:00'); // an hour ahead of this clock: a job delayed an hour of real time
      expect(await closedWithin(before, 3_000)).toBe(false);
    } finally {
      await before.close();
    }
    const after = await start(dataDir, '2031-02-01T12:00:00+01:00');
    try {
      expect(await closedWithin(after, 20_000)).toBe(true);
      const closed = (await after.runtime.store.readStream(streams.campaign(YEAR))).find((e) => e.type === 'CampaignClosed')!;
      expect(closed.metadata.effectiveAt).toBe('2031-02-01T10:00:00.000Z');
    } finally {
      await after.close();
    }
  }, 60_000);
});
