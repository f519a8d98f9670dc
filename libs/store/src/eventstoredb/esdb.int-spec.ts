import { randomUUID } from 'node:crypto';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import type { NewEvent, RecordedEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import type { AppendRequest, AppendResult, BatchHandler, EventStore, ExpectedRevision, ReadAllOptions, ReadStreamOptions, SubscribeOptions, Subscription } from '../port';
import { describeEventStoreContract, type ContractHarness } from '../testing/event-store.contract';
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
  async readStreams(ids: string[]) {
    const inner = await this.inner.readStreams(ids.map((id) => this.out(id)));
    return new Map([...inner].map(([id, events]) => [this.back({ streamId: id } as RecordedEvent).streamId, events.map(this.back)]));
  }
  async readStream(streamId: string, o?: ReadStreamOptions) {
    return (await this.inner.readStream(this.out(streamId), o)).map(this.back);
  }
  streamRevision(streamId: string) {
    return this.inner.streamRevision(this.out(streamId));
  }
  async readAll(o: ReadAllOptions) {
    const out: RecordedEvent[] = [];
    let after = o.after ?? 0n;
    for (;;) {
      const batch = await this.inner.readAll({ after, maxCount: 500 });
      if (batch.length === 0) return out;
      for (const e of batch) if (this.mine(e) && out.length < o.maxCount) out.push(this.back(e));
      if (out.length >= o.maxCount) return out;
      after = batch[batch.length - 1]!.position;
    }
  }
  async headPosition() {
    const all = await this.readAll({ maxCount: 100_000 });
    return all.at(-1)?.position ?? 0n;
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
