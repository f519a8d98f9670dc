import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { newEvent } from '../libs/store/src/testing/event-store.contract';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { startTestSystem, type Json } from './support/e2e';

/** Go's reference tlog/note code, as Debian's golang-golang-x-mod-dev installs it (.ci/run installs it). */
const GOPATH = '/usr/share/gocode';
const TLOG = join(GOPATH, 'src/golang.org/x/mod/sumdb/tlog');
const goVersion = spawnSync('go', ['version'], { encoding: 'utf8' });
const unavailable =
  goVersion.status !== 0
    ? 'no `go` on this machine (apt-get install golang-go golang-golang-x-mod-dev)'
    : !existsSync(TLOG)
      ? `no ${TLOG} (apt-get install golang-golang-x-mod-dev)`
      : undefined;

function describeWithGo(name: string, body: () => void): void {
  if (unavailable) {
    // CI installs Go (.ci/run): there a missing Go fails the run instead of skipping the cross-check.
    if (process.env.REQUIRE_TOOLS === '1') {
      describe(name, () =>
        it('has Go and the reference tlog code (REQUIRE_TOOLS=1)', () => {
          throw new Error(`REQUIRE_TOOLS=1: ${unavailable}`);
        }),
      );
      return;
    }
    // Straight to stderr: jest swallows the console of a suite whose tests are all skipped.
    process.stderr.write(`\n[tlog cross-check] ${name}: SKIPPED, ${unavailable}\n`);
    describe(name, () => it.skip(`skipped: ${unavailable}`, () => undefined));
    return;
  }
  describe(name, body);
}

/**
 * Issue 15: our checkpoints, inclusion and consistency proofs, as the running system serves them,
 * verified by Go's golang.org/x/mod/sumdb/{note,tlog} (test/tlog-crosscheck/main.go), not by our own
 * code; and issue 15.3: every signed checkpoint also in the append-only publication directory.
 */
describeWithGo('the verifiable log against Go’s reference tlog and note code', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-tlog-go-'));
  const published = join(dataDir, 'checkpoints');
  let system: StartedSystem | undefined;

  afterAll(async () => {
    await system?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('verifies the signed checkpoints, inclusion proofs and a consistency proof served by the system', async () => {
    system = await startTestSystem({
      STORE: 'embedded',
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: 'tlog-go-secret-tlog-go-secret-tlog-go',
      REDIS_URL: 'redis://127.0.0.1:1',
      LOG_PUBLIC: 'true',
      LOG_CHECKPOINT_EVERY_EVENTS: '1',
      LOG_CHECKPOINT_DIR: published,
    });
    const get = async (path: string) => {
      const res = await fetch(`${system!.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      return res;
    };
    const sealedTo = async (size: number) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        // Before the sealer's first checkpoint the log answers 404 CHECKPOINT_NOT_FOUND: wait for it too.
        const res = await fetch(`${system!.url}/v1/log/checkpoint`);
        if (res.status === 404) expect(((await res.json()) as Json).code).toBe('CHECKPOINT_NOT_FOUND');
        else {
          expect({ status: res.status }).toEqual({ status: 200 });
          const text = await res.text();
          if (Number(text.split('\n')[1]) >= size) return text;
        }
        if (Date.now() > deadline) throw new Error(`log not sealed up to ${size} within 20 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // 7 events (a size that is not a power of two), then 6 more: two signed checkpoints at least.
    for (const stream of [
      'declaration-10000000017-2023',
      'access-10000000017',
      'declaration-10000000025-2023',
      'declaration-10000000017-2023',
      'campaign-2023',
      'declaration-10000000025-2023',
      'doctor-10000000017',
    ]) {
      await system.runtime.store.append(stream, [newEvent()], { expectedRevision: 'any' });
    }
    const older = await sealedTo(7);
    for (let i = 0; i < 6; i += 1) await system.runtime.store.append(`declaration-1000000003${i}-2023`, [newEvent()], { expectedRevision: 'any' });
    const latest = await sealedTo(13);
    const from = Number(older.split('\n')[1]);
    const to = Number(latest.split('\n')[1]);
    expect(to).toBeGreaterThan(from);

    const { vkey } = (await (await get('/v1/log/public-key')).json()) as Json;
    const inclusions: Json[] = [];
    for (const [leafIndex, treeSize] of [
      [0, to],
      [4, to],
      [to - 1, to],
      [3, from],
      [from - 1, from],
    ] as const) {
      inclusions.push((await (await get(`/v1/log/proof/inclusion?leafIndex=${leafIndex}&treeSize=${treeSize}`)).json()) as Json);
    }
    const consistency = (await (await get(`/v1/log/proof/consistency?from=${from}&to=${to}`)).json()) as Json;
    const input = JSON.stringify({ vkey, checkpoints: [older, latest], inclusions, consistency });

    const run = spawnSync('go', ['run', resolve(__dirname, 'tlog-crosscheck/main.go')], {
      input,
      encoding: 'utf8',
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: join(dataDir, 'gocache'), GOFLAGS: '' },
      timeout: 120_000,
    });
    process.stderr.write(`\n[tlog cross-check] go: ${goVersion.stdout.trim()}\n${run.stdout}${run.stderr}`);
    expect({ status: run.status, failed: /FAIL/.test(run.stdout) }).toEqual({ status: 0, failed: false });
    expect(run.stdout.match(/^ok inclusion/gm)).toHaveLength(5);
    expect(run.stdout).toMatch(new RegExp(`^ok consistency ${from} -> ${to}`, 'm'));
    expect(run.stdout.match(/^ok checkpoint/gm)).toHaveLength(2);

    // The same program refuses a checkpoint whose root is not the one signed.
    const forged = latest.replace(latest.split('\n')[2]!, Buffer.alloc(32, 7).toString('base64'));
    const refused = spawnSync('go', ['run', resolve(__dirname, 'tlog-crosscheck/main.go')], {
      input: JSON.stringify({ vkey, checkpoints: [older, forged], inclusions, consistency }),
      encoding: 'utf8',
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: join(dataDir, 'gocache'), GOFLAGS: '' },
      timeout: 120_000,
    });
    expect({ status: refused.status, out: refused.stdout }).toEqual({ status: 1, out: expect.stringMatching(/^FAIL note.Open: /m) });

    // Issue 15.3: both checkpoints were published, as the log signed them (the served note
    // without the cosignatures that may follow), one read-only file per size.
    const deadline = Date.now() + 20_000;
    while (!(existsSync(join(published, String(from))) && existsSync(join(published, String(to)))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    for (const [size, served] of [
      [from, older],
      [to, latest],
    ] as const) {
      expect(readFileSync(join(published, String(size)), 'utf8')).toBe(served);
    }
    // Every published name is a tree size (`.incoming/` holds the files being written).
    expect(
      readdirSync(published)
        .filter((n) => n !== '.incoming')
        .every((n) => /^[1-9]\d*$/.test(n)),
    ).toBe(true);
  }, 180_000);
});
