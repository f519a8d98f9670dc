import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Pool } from 'pg';
import type { RecordedEvent } from '@forfait/events';
import { ManualClock, type Clock } from '@forfait/platform';
import { openStores } from '../index';
import { newEvent } from '../testing/event-store.contract';
import { EsdbStandIn } from '../testing/esdb-stand-in';
import { PgAppendFence } from './append-fence';
import { EsdbEventStore, decodePosition } from './esdb-event-store';

/**
 * Issue 17, point 8: recordedAt along $all with several API instances on one EventStoreDB. Each
 * "process" here is an EsdbEventStore with a PgAppendFence of its own (its own pool, so its own
 * PostgreSQL sessions, as two processes have), on the real PostgreSQL; the server is the stand-in
 * client (no EventStoreDB runs on this machine), shared by both, as one server is.
 */
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
let counter = 0;

const admin = new Pool({ connectionString: DATABASE_URL, max: 3 });
afterAll(() => admin.end());

/** A clock running with the system's, `offsetMs` away from it (a writer whose clock is off). */
const offsetClock = (offsetMs: number): Clock => ({ now: () => new Date(Date.now() + offsetMs) });
const nextTick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function assertNonDecreasing(events: RecordedEvent[]): void {
  for (let i = 1; i < events.length; i += 1) {
    if (events[i]!.metadata.recordedAt < events[i - 1]!.metadata.recordedAt) {
      throw new Error(`recordedAt goes back along $all at ${String(i)}: ${events[i - 1]!.metadata.recordedAt} then ${events[i]!.metadata.recordedAt}`);
    }
  }
}

function stepBacks(events: RecordedEvent[]): number {
  let n = 0;
  for (let i = 1; i < events.length; i += 1) if (events[i]!.metadata.recordedAt < events[i - 1]!.metadata.recordedAt) n += 1;
  return n;
}

describe('EventStoreDB appends fenced by a PostgreSQL advisory lock (issue 17, point 8)', () => {
  let standIn: EsdbStandIn;
  let lockName: string;
  let opened: EsdbEventStore[];
  /** One API process: its own fence (its own pool) on the same PostgreSQL, the same server. */
  const processOf = (clock: Clock, options: { application?: string; database?: string; waitMs?: number; fence?: false } = {}) => {
    const store = new EsdbEventStore({
      connectionString: 'esdb://stand-in',
      clock,
      client: standIn,
      fence:
        options.fence === false
          ? undefined
          : new PgAppendFence({
              database: { connectionString: options.database ?? DATABASE_URL, application_name: options.application ?? `fence_${runId}` },
              lockName,
              waitMs: options.waitMs,
            }),
    });
    opened.push(store);
    return store;
  };
  /** Whether a third session could take the fence now (and gives it back at once). */
  const lockIsFree = async () => {
    const c = await admin.connect();
    try {
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [lockName]);
      if (rows[0]!.ok) await c.query('SELECT pg_advisory_unlock(hashtext($1))', [lockName]);
      return rows[0]!.ok;
    } finally {
      c.release();
    }
  };
  const waitingForLock = async (application: string) =>
    (await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [application])).rows.map(
      (r) => r.pid,
    );
  /** Until the server has ended the session (and this process has had time to read that it did). */
  const gone = async (application: string) => {
    await until(
      async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [application])).rows.length === 0,
      `${application} ended`,
    );
    await sleep(100);
  };
  const terminate = async (application: string) => {
    const { rows } = await admin.query<{ n: string }>('SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1', [
      application,
    ]);
    return Number(rows[0]!.n);
  };

  beforeEach(() => {
    standIn = new EsdbStandIn();
    lockName = `forfait-esdb-append-test-${runId}-${String((counter += 1))}`;
    opened = [];
  });
  afterEach(async () => {
    standIn.hooks = {};
    await Promise.all(opened.map((s) => s.close()));
  });

  it("an append that overlaps another process' waits for its commit: recordedAt never goes back along $all, whatever the clocks", async () => {
    const a = processOf(new ManualClock('2024-01-15T10:00:00.000Z'), { application: `a_${runId}` });
    const b = processOf(new ManualClock('2024-01-15T09:59:59.900Z'), { application: `b_${runId}` });
    // B has read $all and is on its way to the server (the case that steps back without the fence).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    standIn.hooks.beforeCommit = (streamId) => (streamId === 'campaign-b' ? held : Promise.resolve());
    const pendingB = b.append('campaign-b', [newEvent()], { expectedRevision: 'no_stream' });
    await until(() => standIn.reads.some((c) => c.kind === 'all'), "B's read of $all");
    const pendingA = a.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' });
    // A waits in PostgreSQL for the lock, without having read anything.
    await until(async () => (await waitingForLock(`a_${runId}`)).length === 1, 'A waiting for the lock');
    expect(standIn.reads.filter((c) => c.kind === 'all')).toHaveLength(1);
    release();
    const [rb, ra] = await Promise.all([pendingB, pendingA]);
    expect(ra.position > rb.position).toBe(true);
    expect(rb.events[0]!.metadata.recordedAt).toBe('2024-01-15T09:59:59.900Z');
    expect(ra.events[0]!.metadata.recordedAt).toBe('2024-01-15T10:00:00.000Z');
    // And the other way round: the one behind, after the one ahead, takes the ahead one's time.
    const rc = await b.append('campaign-c', [newEvent()], { expectedRevision: 'no_stream' });
    expect(rc.events[0]!.metadata.recordedAt).toBe('2024-01-15T10:00:00.000Z');
    assertNonDecreasing(await a.readAll({ after: 0n, maxCount: 100 }));
    expect(await lockIsFree()).toBe(true);
  });

  it('two processes appending at once to many streams, clocks 300 ms apart: $all in recordedAt order (and without the fence it is not)', async () => {
    const run = async (fenced: boolean) => {
      standIn = new EsdbStandIn();
      const ahead = processOf(offsetClock(300), { fence: fenced ? undefined : false });
      const behind = processOf(offsetClock(0), { fence: fenced ? undefined : false });
      const appends = // 40 appends at once, 80 reads: under the 100 calls the (one) stand-in server keeps open.
        Array.from({ length: 20 }, (_, i) => [
          ahead.append(`campaign-a${String(i)}`, [newEvent()], { expectedRevision: 'no_stream' }),
          behind.append(`campaign-b${String(i)}`, [newEvent(), newEvent()], { expectedRevision: 'no_stream' }),
        ]).flat();
      await Promise.all(appends);
      const all = await ahead.readAll({ after: 0n, maxCount: 1000 });
      expect(all).toHaveLength(60);
      return all;
    };
    assertNonDecreasing(await run(true));
    expect(await lockIsFree()).toBe(true);
    // The same load unfenced: overlapping appends commit out of their reads' order.
    expect(stepBacks(await run(false))).toBeGreaterThan(0);
  });

  it('is released when the append throws (the server refuses it, a stale revision): the other process appends at once', async () => {
    const a = processOf(new ManualClock('2024-01-15T10:00:00Z'));
    const b = processOf(new ManualClock('2024-01-15T10:00:00Z'));
    const append = standIn.appendToStream.bind(standIn);
    standIn.appendToStream = async () => {
      throw new Error('the server refused it');
    };
    await expect(a.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' })).rejects.toThrow('the server refused it');
    expect(await lockIsFree()).toBe(true);
    standIn.appendToStream = append;
    await a.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' });
    await expect(a.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' })).rejects.toMatchObject({ code: 'STALE_REVISION' });
    expect(await lockIsFree()).toBe(true);
    const started = Date.now();
    const r = await b.append('campaign-b', [newEvent()], { expectedRevision: 'no_stream' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(r.revision).toBe(0);
    expect(await lockIsFree()).toBe(true);
  });

  it('PostgreSQL refusing connections: STORE_UNAVAILABLE at once, nothing written', async () => {
    const a = processOf(new ManualClock('2024-01-15T10:00:00Z'), { database: 'postgres://postgres@127.0.0.1:1/test' });
    await expect(a.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      phase: 'connect',
      outcomeUnknown: false,
    });
    expect(standIn.all).toHaveLength(0);
    expect(standIn.reads).toHaveLength(0);
  });

  describe('a PostgreSQL that stops answering', () => {
    let server: Server;
    let port: number;
    let frozen = false;
    const sockets: Socket[] = [];
    beforeEach(async () => {
      frozen = false;
      // A TCP relay to PostgreSQL that can stop relaying (a network that drops everything), or
      // that never relays at all (`blackHole`: a host that accepts and never answers).
      server = createServer((client) => {
        sockets.push(client);
        client.on('error', () => undefined);
        const upstream = connect(5432, '127.0.0.1');
        sockets.push(upstream);
        upstream.on('error', () => undefined);
        client.on('data', (d) => {
          if (!frozen) upstream.write(d);
        });
        upstream.on('data', (d) => {
          if (!frozen) client.write(d);
        });
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterEach(async () => {
      for (const s of sockets) s.destroy();
      sockets.length = 0;
      await new Promise((resolve) => server.close(resolve));
    });
    const viaRelay = () => `postgres://postgres@127.0.0.1:${String(port)}/test`;

    it('before the connection is made: STORE_UNAVAILABLE within the wait, nothing written', async () => {
      frozen = true;
      const a = processOf(new ManualClock('2024-01-15T10:00:00Z'), { database: viaRelay(), waitMs: 300 });
      const started = Date.now();
      await expect(a.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' })).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        phase: 'connect',
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(standIn.all).toHaveLength(0);
    });

    it('while it waits for the lock another process holds: STORE_UNAVAILABLE, not a hang, nothing written', async () => {
      const holder = processOf(new ManualClock('2024-01-15T10:00:00Z'));
      const waiter = processOf(new ManualClock('2024-01-15T10:00:00Z'), { database: viaRelay(), waitMs: 2_000, application: `w_${runId}` });
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      standIn.hooks.beforeCommit = (streamId) => (streamId === 'campaign-h' ? held : Promise.resolve());
      const pendingHolder = holder.append('campaign-h', [newEvent()], { expectedRevision: 'no_stream' });
      await until(() => standIn.reads.length >= 2, "the holder's reads");
      const pendingWaiter = waiter.append('campaign-w', [newEvent()], { expectedRevision: 'no_stream' });
      pendingWaiter.catch(() => undefined);
      await until(async () => (await waitingForLock(`w_${runId}`)).length === 1, 'the waiter waiting for the lock');
      frozen = true;
      const started = Date.now();
      // The server's lock_timeout answer never arrives: the client's query_timeout ends the wait.
      await expect(pendingWaiter).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        phase: 'connect',
        cause: expect.objectContaining({ message: expect.stringMatching(/Query read timeout/) }),
      });
      expect(Date.now() - started).toBeLessThan(10_000);
      release();
      await pendingHolder;
      expect(standIn.all.map((e) => e.streamId)).toEqual(['campaign-h']);
    });
  });

  it('another process holding the lock past the wait: STORE_UNAVAILABLE, nothing written', async () => {
    const holder = processOf(new ManualClock('2024-01-15T10:00:00Z'));
    const waiter = processOf(new ManualClock('2024-01-15T10:00:00Z'), { waitMs: 300 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    standIn.hooks.beforeCommit = (streamId) => (streamId === 'campaign-h' ? held : Promise.resolve());
    const pendingHolder = holder.append('campaign-h', [newEvent()], { expectedRevision: 'no_stream' });
    await until(() => standIn.reads.length >= 2, "the holder's reads");
    await expect(waiter.append('campaign-w', [newEvent()], { expectedRevision: 'no_stream' })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      phase: 'connect',
      cause: expect.objectContaining({ message: expect.stringMatching(/held by another process/) }),
    });
    release();
    await pendingHolder;
    expect(standIn.all.map((e) => e.streamId)).toEqual(['campaign-h']);
  });

  it("the waiter's connection ended by the server: STORE_UNAVAILABLE, nothing written", async () => {
    const holder = processOf(new ManualClock('2024-01-15T10:00:00Z'));
    const waiter = processOf(new ManualClock('2024-01-15T10:00:00Z'), { application: `w_${runId}` });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    standIn.hooks.beforeCommit = (streamId) => (streamId === 'campaign-h' ? held : Promise.resolve());
    const pendingHolder = holder.append('campaign-h', [newEvent()], { expectedRevision: 'no_stream' });
    await until(() => standIn.reads.length >= 2, "the holder's reads");
    const pendingWaiter = waiter.append('campaign-w', [newEvent()], { expectedRevision: 'no_stream' });
    pendingWaiter.catch(() => undefined);
    await until(async () => (await waitingForLock(`w_${runId}`)).length === 1, 'the waiter waiting for the lock');
    expect(await terminate(`w_${runId}`)).toBe(1);
    await expect(pendingWaiter).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', phase: 'connect' });
    release();
    await pendingHolder;
    expect(standIn.all.map((e) => e.streamId)).toEqual(['campaign-h']);
    // The waiter's next append opens a new connection.
    await waiter.append('campaign-w', [newEvent()], { expectedRevision: 'no_stream' });
  });

  it("the holder's connection lost while it reads: nothing is sent (another may hold the lock now), STORE_UNAVAILABLE", async () => {
    const a = processOf(new ManualClock('2024-01-15T10:00:00Z'), { application: `a_${runId}` });
    const b = processOf(new ManualClock('2024-01-15T10:00:00Z'));
    standIn.hooks.whileReading = async (call) => {
      if (call.kind !== 'all') return;
      standIn.hooks.whileReading = undefined;
      expect(await terminate(`a_${runId}`)).toBe(1);
      await gone(`a_${runId}`);
    };
    await expect(a.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      phase: 'connect',
      outcomeUnknown: false,
    });
    expect(standIn.all).toHaveLength(0);
    expect(await lockIsFree()).toBe(true);
    await b.append('campaign-b', [newEvent()], { expectedRevision: 'no_stream' });
    await a.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' });
    expect(standIn.all.map((e) => e.streamId)).toEqual(['campaign-b', 'campaign-a']);
  });

  it("the holder's connection lost while its append is on its way: the committed append answers as committed (a retry would duplicate it)", async () => {
    const a = processOf(new ManualClock('2024-01-15T10:00:00Z'), { application: `a_${runId}` });
    standIn.hooks.beforeCommit = async () => {
      standIn.hooks.beforeCommit = undefined;
      expect(await terminate(`a_${runId}`)).toBe(1);
      await gone(`a_${runId}`);
    };
    const sent = [newEvent(), newEvent()];
    const r = await a.append('campaign-a', sent, { expectedRevision: 'no_stream' });
    expect(r.revision).toBe(1);
    expect(r.events.map((e) => e.eventId)).toEqual(sent.map((e) => e.eventId));
    expect(standIn.all.map((e) => e.id)).toEqual(sent.map((e) => e.eventId));
    expect(await lockIsFree()).toBe(true);
    await a.append('campaign-a', [newEvent()], { expectedRevision: 1 });
  });

  it("appends of one process wait their turn in the process: one PostgreSQL connection, not the pool's", async () => {
    const a = processOf(new ManualClock('2024-01-15T10:00:00Z'), { application: `a_${runId}` });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    standIn.hooks.beforeCommit = () => held;
    const pending = Array.from({ length: 6 }, (_, i) => a.append(`campaign-${String(i)}`, [newEvent()], { expectedRevision: 'no_stream' }));
    await until(() => standIn.reads.length >= 2, 'the first reads');
    for (let i = 0; i < 5; i += 1) await nextTick();
    const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [`a_${runId}`]);
    expect(Number(rows[0]!.n)).toBe(1);
    expect(standIn.reads).toHaveLength(2);
    release();
    const results = await Promise.all(pending);
    // In the order they were called (the stand-in's n-th event of $all is at commit = prepare = n).
    expect(results.map((r) => decodePosition(r.position).commit)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });

  it('openStores fences the EventStoreDB store whenever DATABASE_URL is set (STORE=eventstore needs both)', async () => {
    const { store, readDb } = await openStores({
      store: 'eventstore',
      dataDir: '/nonexistent',
      databaseUrl: DATABASE_URL,
      databaseSchema: 'public',
      eventstoreConnectionString: 'esdb://127.0.0.1:1?tls=false',
      clock: new ManualClock('2024-01-15T10:00:00Z'),
    });
    try {
      expect(store instanceof EsdbEventStore && store.fenced).toBe(true);
    } finally {
      await store.close();
      await readDb.close();
    }
  });
});
