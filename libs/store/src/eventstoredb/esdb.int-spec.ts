import { randomUUID } from 'node:crypto';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import type { NewEvent, RecordedEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import type {
  AppendRequest,
  AppendResult,
  BatchHandler,
  EventStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  ReadStreamsOptions,
  SubscribeOptions,
  Subscription,
} from '../port';
import { describeEventStoreContract, newEvent, type ContractHarness } from '../testing/event-store.contract';
import { PgAppendFence } from './append-fence';
import { EsdbEventStore } from './esdb-event-store';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;

/**
 * One EventStoreDB serves every test, and $all keeps everything; each test sees only its own
 * streams through this view, which renames `cat-id` to `cat-<ns>.id` and filters $all reads.
 */
class NamespacedStore implements EventStore {
  readonly kind = 'eventstore' as const;
  readonly atomicBatches = false;
  constructor(
    private readonly inner: EventStore,
    private readonly ns: string,
  ) {}
  private out(streamId: string): string {
    const dash = streamId.indexOf('-');
    return dash < 0 ? streamId : `${streamId.slice(0, dash)}-${this.ns}.${streamId.slice(dash + 1)}`;
  }
  private back = (e: RecordedEvent): RecordedEvent => ({ ...e, streamId: e.streamId.replace(`-${this.ns}.`, '-') });
  private mine = (e: RecordedEvent): boolean => e.streamId.includes(`-${this.ns}.`);
  async append(streamId: string, events: NewEvent[], o: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    const r = await this.inner.append(this.out(streamId), events, o);
    return { ...r, streamId, events: r.events.map(this.back) };
  }
  async appendBatch(requests: AppendRequest[]): Promise<AppendResult[]> {
    const results = await this.inner.appendBatch(requests.map((r) => ({ ...r, streamId: this.out(r.streamId) })));
    return results.map((r, i) => ({ ...r, streamId: requests[i]!.streamId, events: r.events.map(this.back) }));
  }
  async readStreams(ids: string[], o?: ReadStreamsOptions) {
    const partial = o?.partial ? { partial: { streamIds: o.partial.streamIds.map((id) => this.out(id)), types: o.partial.types } } : {};
    const inner = await this.inner.readStreams(
      ids.map((id) => this.out(id)),
      partial,
    );
    return new Map([...inner].map(([id, events]) => [this.back({ streamId: id } as RecordedEvent).streamId, events.map(this.back)]));
  }
  async readStream(streamId: string, o?: ReadStreamOptions) {
    return (await this.inner.readStream(this.out(streamId), o)).map(this.back);
  }
  // $all's reads go to the adapter itself (its paging, its server-side filter, its cancellations);
  // this view only drops the other tests' streams from what the adapter answered.
  async readAll(o: ReadAllOptions) {
    const out: RecordedEvent[] = [];
    let after = o.after ?? 0n;
    for (;;) {
      const batch = await this.inner.readAll({ ...o, after, maxCount: o.maxCount });
      if (batch.length === 0) return out;
      for (const e of batch) if (this.mine(e) && out.length < o.maxCount) out.push(this.back(e));
      if (out.length >= o.maxCount) return out;
      after = batch[batch.length - 1]!.position;
    }
  }
  /** The adapter's own: the tests of this file are the server's only writers while they run. */
  headPosition() {
    return this.inner.headPosition();
  }
  subscribeAll(o: SubscribeOptions, handler: BatchHandler): Subscription {
    return this.inner.subscribeAll(o, async (batch) => {
      const mine = batch.filter(this.mine).map(this.back);
      if (mine.length > 0) await handler(mine);
    });
  }
  close() {
    return this.inner.close();
  }
}

describeEventStoreContract({
  name: 'eventstoredb',
  unavailable: connectionString
    ? undefined
    : 'EVENTSTORE_CONNECTION_STRING is not set (no EventStoreDB server on this machine; start one with docker-compose and set it)',
  supportsCommitHook: false,
  open: async (): Promise<ContractHarness> => {
    const clock = new ManualClock('2024-01-15T09:30:00Z');
    const ns = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const inner = new EsdbEventStore({ connectionString: connectionString!, clock });
    const store = new NamespacedStore(inner, ns);
    const raw = EventStoreDBClient.connectionString(connectionString!);
    return {
      store,
      clock,
      forge: async (streamId) => {
        // A write that bypasses the adapter: it claims a hash that its content does not have.
        const dash = streamId.indexOf('-');
        await raw.appendToStream(
          `${streamId.slice(0, dash)}-${ns}.${streamId.slice(dash + 1)}`,
          jsonEvent({
            type: 'IndicatorDeclared',
            data: { forged: true },
            metadata: {
              recordedAt: clock.now().toISOString(),
              effectiveAt: clock.now().toISOString(),
              actor: { sub: 'intruder', role: 'admin' },
              channel: 'system',
              correlationId: 'forged',
              causationId: null,
              schemaVersion: 1,
              prevHash: '0'.repeat(64),
              hash: 'f'.repeat(64),
            },
          }),
        );
      },
      close: async () => {
        await store.close();
        await raw.dispose();
      },
    };
  },
});

/** What only a real EventStoreDB can show: its system events, its MaxAppendSize, its ACLs. */
const readerConnectionString = process.env.EVENTSTORE_READER_CONNECTION_STRING;
function describeWithServer(name: string, unavailable: string | undefined, body: () => void): void {
  if (unavailable) {
    // Straight to stderr: jest swallows the console of a suite whose tests are all skipped.
    process.stderr.write(`\n[eventstoredb] ${name}: SKIPPED, ${unavailable}\n`);
    describe(name, () => it.skip(`skipped: ${unavailable}`, () => undefined));
    return;
  }
  describe(name, body);
}

describeWithServer(
  'EventStoreDB adapter against the server',
  connectionString ? undefined : 'EVENTSTORE_CONNECTION_STRING is not set (no EventStoreDB server on this machine)',
  () => {
    const clock = new ManualClock('2024-01-15T09:30:00Z');
    let store: EsdbEventStore;
    let raw: EventStoreDBClient;
    const ns = () => `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    beforeEach(() => {
      store = new EsdbEventStore({ connectionString: connectionString!, clock });
      raw = EventStoreDBClient.connectionString(connectionString!);
    });
    afterEach(async () => {
      await store.close();
      await raw.dispose();
    });

    it('finds the head behind more than 4 096 trailing system events', async () => {
      const mine = await store.append(`campaign-${ns()}`, [newEvent()], { expectedRevision: 'no_stream' });
      const system = `sys-${ns()}`;
      for (let i = 0; i < 10; i += 1) {
        await raw.appendToStream(
          system,
          Array.from({ length: 500 }, () => jsonEvent({ type: '$forfait-test-marker', data: {} })),
        );
      }
      expect(await store.headPosition()).toBe(mine.position);
      const after = await store.readAll({ after: mine.position - 1n, maxCount: 10 });
      expect(after.map((e) => e.eventId)).toEqual([mine.events[0]!.eventId]);
    });

    it('answers 200 headPosition() calls on a store over 1 MB, then still appends', async () => {
      const stream = `declaration-10000000008-${ns()}`;
      for (let i = 0; i < 3; i += 1) {
        await store.append(stream, [newEvent({ data: { blob: 'x'.repeat(400 * 1024) } })], { expectedRevision: 'any' });
      }
      const head = await store.headPosition();
      for (let i = 0; i < 200; i += 1) expect(await store.headPosition()).toBe(head);
      const next = await store.append(stream, [newEvent()], { expectedRevision: 2 });
      expect(next.position > head).toBe(true);
    });

    it('refuses an append over 1 MiB in total before sending it, and maps the server refusing one', async () => {
      const stream = `declaration-10000000008-${ns()}`;
      const head = await store.headPosition();
      const parts = Array.from({ length: 3 }, () => newEvent({ data: { blob: 'x'.repeat(400 * 1024) } }));
      await expect(store.append(stream, parts, { expectedRevision: 'any' })).rejects.toMatchObject({ code: 'EVENT_TOO_LARGE', limitBytes: 1024 * 1024 });
      // A limit set above the server's: the server refuses, and that is the same 413-class error.
      const lax = new EsdbEventStore({ connectionString: connectionString!, clock, maxAppendBytes: 64 * 1024 * 1024 });
      try {
        await expect(lax.append(stream, parts, { expectedRevision: 'any' })).rejects.toMatchObject({ code: 'EVENT_TOO_LARGE' });
      } finally {
        await lax.close();
      }
      expect(await store.readStream(stream)).toEqual([]);
      expect(await store.headPosition()).toBe(head);
    });

    it('keeps recordedAt from going backwards along $all across instances with skewed clocks', async () => {
      const ahead = new EsdbEventStore({ connectionString: connectionString!, clock: new ManualClock('2024-01-15T10:00:00Z') });
      try {
        const first = await ahead.append(`campaign-${ns()}`, [newEvent()], { expectedRevision: 'no_stream' });
        const second = await store.append(`campaign-${ns()}`, [newEvent()], { expectedRevision: 'no_stream' });
        expect(second.events[0]!.metadata.recordedAt >= first.events[0]!.metadata.recordedAt).toBe(true);
      } finally {
        await ahead.close();
      }
    });

    it('keeps recordedAt in $all order with two fenced instances appending at once, clocks 300 ms apart (point 8)', async () => {
      const lockName = `forfait-esdb-append-${ns()}`;
      const database = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
      const at = (offsetMs: number) => ({ now: () => new Date(Date.now() + offsetMs) });
      const instances = [300, 0].map(
        (offset) => new EsdbEventStore({ connectionString: connectionString!, clock: at(offset), fence: new PgAppendFence({ database, lockName }) }),
      );
      try {
        const head = await store.headPosition();
        const tag = ns();
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            instances.map((s, j) => s.append(`campaign-${tag}.${String(j)}x${String(i)}`, [newEvent()], { expectedRevision: 'no_stream' })),
          ).flat(),
        );
        const mine = (await store.readAll({ after: head, maxCount: 10_000 })).filter((e) => e.streamId.includes(tag));
        expect(mine).toHaveLength(40);
        for (let i = 1; i < mine.length; i += 1) expect(mine[i]!.metadata.recordedAt >= mine[i - 1]!.metadata.recordedAt).toBe(true);
      } finally {
        await Promise.all(instances.map((s) => s.close()));
      }
    });

    it("sends 'any' without a spurious conflict when another writer appended meanwhile", async () => {
      const stream = `campaign-${ns()}`;
      await store.append(stream, [newEvent()], { expectedRevision: 'no_stream' });
      const sent = Array.from({ length: 8 }, () => newEvent());
      const results = await Promise.all(sent.map((e) => store.append(stream, [e], { expectedRevision: 'any' })));
      expect(results.map((r) => r.revision).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const events = await store.readStream(stream);
      // Each append answers its own event, as stored at the revision it answered.
      results.forEach((r, i) => {
        expect(r.events.map((e) => e.eventId)).toEqual([sent[i]!.eventId]);
        expect(r.events[0]).toEqual(events[r.revision]);
      });
      for (let i = 1; i < events.length; i += 1) expect(events[i]!.prevHash).toBe(events[i - 1]!.hash);
    });

    it('hands the subscriber batches of up to batchSize, and stops the subscription when the handler throws', async () => {
      const head = await store.headPosition();
      await store.append(
        `campaign-${ns()}`,
        Array.from({ length: 30 }, () => newEvent()),
        { expectedRevision: 'no_stream' },
      );
      const sizes: number[] = [];
      const sub = store.subscribeAll({ after: head, batchSize: 10 }, async (batch) => {
        sizes.push(batch.length);
        if (sizes.reduce((a, b) => a + b, 0) >= 30) throw new Error('read model unavailable');
      });
      await expect(sub.done).rejects.toThrow('read model unavailable');
      expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
      expect(sizes.some((n) => n > 1)).toBe(true);
    });
  },
);

describeWithServer(
  'EventStoreDB adapter as a non-admin user on a secure node',
  readerConnectionString
    ? undefined
    : 'EVENTSTORE_READER_CONNECTION_STRING is not set (a secure node and a non-admin user given $all read access; see docs/deployment.md)',
  () => {
    it('reads $all, subscribes and appends with the ACL docs/deployment.md gives', async () => {
      const clock = new ManualClock('2024-01-15T09:30:00Z');
      const store = new EsdbEventStore({ connectionString: readerConnectionString!, clock });
      try {
        const r = await store.append(`campaign-${randomUUID().slice(0, 8)}`, [newEvent()], { expectedRevision: 'no_stream' });
        expect(await store.headPosition()).toBe(r.position);
        expect((await store.readAll({ after: r.position - 1n, maxCount: 1 })).map((e) => e.eventId)).toEqual([r.events[0]!.eventId]);
        const seen: RecordedEvent[] = [];
        let reached!: () => void;
        const until = new Promise<void>((resolve) => (reached = resolve));
        const sub = store.subscribeAll({ after: r.position - 1n }, async (batch) => {
          seen.push(...batch);
          if (batch.some((e) => e.position >= r.position)) reached();
        });
        await Promise.race([until, new Promise((_, reject) => setTimeout(() => reject(new Error('no event within 15 s')), 15_000))]);
        await sub.stop();
        expect(seen.map((e) => e.eventId)).toContain(r.events[0]!.eventId);
      } finally {
        await store.close();
      }
    });
  },
);
