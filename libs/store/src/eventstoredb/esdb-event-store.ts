import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  ConcurrencyError,
  assertStreamId,
  normaliseNewEvent,
  type EventMetadata,
  type NewEvent,
  type RecordedEvent,
} from '@forfait/events';
import type { Clock } from '@forfait/platform';
import { chainEvents } from '../chain';
import {
  DEFAULT_MAX_EVENT_BYTES,
  type AppendRequest,
  type AppendResult,
  type BatchHandler,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeOptions,
  type Subscription,
} from '../port';

const TWO_64 = 1n << 64n;

/** EventStoreDB orders $all by (commit, prepare); both fit in one bigint without loss or reordering. */
export function encodePosition(position: Position): bigint {
  return position.commit * TWO_64 + position.prepare;
}
export function decodePosition(position: bigint): Position {
  return { commit: position / TWO_64, prepare: position % TWO_64 };
}

/** What this adapter keeps in EventStoreDB's metadata beside the envelope. */
interface StoredMetadata extends EventMetadata {
  schemaVersion: number;
  prevHash: string;
  hash: string;
}

export interface EsdbEventStoreOptions {
  connectionString: string;
  clock: Clock;
  maxEventBytes?: number;
}

/**
 * The production store of the design card. Streams, revisions and optimistic concurrency are
 * EventStoreDB's own; the envelope, `recordedAt` and the hash chain travel in each event's metadata.
 * $all is already gap-free and totally ordered, so subscriptions are EventStoreDB's catch-up ones.
 */
export class EsdbEventStore implements EventStore {
  readonly kind = 'eventstore' as const;
  /** EventStoreDB transactions are per stream: a batch is appended stream by stream. */
  readonly atomicBatches = false;
  private readonly client: EventStoreDBClient;
  private lastRecordedAt = 0;

  constructor(private readonly options: EsdbEventStoreOptions) {
    this.client = EventStoreDBClient.connectionString(options.connectionString);
  }

  async append(
    streamId: string,
    events: NewEvent[],
    { expectedRevision }: { expectedRevision: ExpectedRevision; head?: unknown },
  ): Promise<AppendResult> {
    assertStreamId(streamId);
    const prepared = events.map(normaliseNewEvent);
    const last = (await this.readStreamRaw(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }))[0];
    const current = last ? last.revision : null;
    checkExpected(streamId, expectedRevision, current);

    // recordedAt never goes backwards in this process nor within the stream.
    const floor = Math.max(this.lastRecordedAt, last ? Date.parse(last.metadata.recordedAt) : 0);
    const recordedAt = new Date(Math.max(this.options.clock.now().getTime(), floor)).toISOString();
    const maxBytes = this.options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;

    const recorded = chainEvents(streamId, prepared, { revision: current, lastHash: last?.hash }, recordedAt, maxBytes);
    if (recorded.length === 0) {
      return { streamId, revision: current ?? -1, position: await this.headPosition(), events: [] };
    }

    try {
      const result = await this.client.appendToStream(
        streamId,
        recorded.map((e) =>
          jsonEvent({
            id: e.eventId,
            type: e.type,
            data: e.data as Record<string, unknown>,
            metadata: { ...e.metadata, schemaVersion: e.schemaVersion, prevHash: e.prevHash, hash: e.hash } as never,
          }),
        ),
        { expectedRevision: current === null ? NO_STREAM : BigInt(current) },
      );
      this.lastRecordedAt = Date.parse(recordedAt);
      const position = result.position ? encodePosition(result.position) : 0n;
      // EventStoreDB returns the position of the append; the events' own positions are read back.
      const written = await this.readStream(streamId, { fromRevision: (current ?? -1) + 1 });
      return { streamId, revision: recorded.at(-1)!.revision, position: written.at(-1)?.position ?? position, events: written };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new ConcurrencyError(streamId, String(expectedRevision), 'changed by a concurrent writer');
      }
      throw error;
    }
  }

  async readStreams(streamIds: string[]): Promise<Map<string, RecordedEvent[]>> {
    const out = new Map<string, RecordedEvent[]>();
    for (const id of streamIds) {
      const events = await this.readStream(id);
      if (events.length > 0) out.set(id, events);
    }
    return out;
  }

  async appendBatch(requests: AppendRequest[]): Promise<AppendResult[]> {
    const results: AppendResult[] = [];
    for (const r of requests) results.push(await this.append(r.streamId, r.events, { expectedRevision: r.expectedRevision }));
    return results;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.readStreamRaw(streamId, {
      direction: FORWARDS,
      fromRevision: BigInt(options.fromRevision ?? 0),
      maxCount: options.maxCount,
    });
  }

  async streamRevision(streamId: string): Promise<number | null> {
    const last = await this.readStreamRaw(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
    return last[0]?.revision ?? null;
  }

  async readAll({ after = 0n, maxCount }: ReadAllOptions): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    let from: Position | typeof START = after === 0n ? START : decodePosition(after);
    for (;;) {
      let seen = 0;
      let lastRaw: Position | undefined;
      for await (const resolved of this.client.readAll({ fromPosition: from, direction: FORWARDS, maxCount: maxCount + 1 })) {
        seen += 1;
        const raw = resolved.event;
        if (!raw) continue;
        lastRaw = raw.position;
        const event = this.toRecorded(resolved);
        // readAll starts at (and includes) `from`; the port's `after` is exclusive.
        if (!event || event.position <= after) continue;
        out.push(event);
        if (out.length === maxCount) return out;
      }
      if (seen < maxCount + 1 || !lastRaw) return out;
      from = lastRaw;
      after = encodePosition(lastRaw);
    }
  }

  async headPosition(): Promise<bigint> {
    for await (const resolved of this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 4096 })) {
      const event = this.toRecorded(resolved);
      if (event) return event.position;
    }
    return 0n;
  }

  subscribeAll({ after }: SubscribeOptions, handler: BatchHandler): Subscription {
    const subscription = this.client.subscribeToAll({
      fromPosition: after === 0n ? START : decodePosition(after),
      filter: excludeSystemEvents(),
    });
    let current = after;
    const done = (async () => {
      for await (const resolved of subscription) {
        const event = this.toRecorded(resolved);
        if (!event || event.position <= current) continue;
        await handler([event]);
        current = event.position;
      }
    })();
    return {
      get position() {
        return current;
      },
      done,
      stop: async () => {
        await subscription.unsubscribe();
        await done.catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  private async readStreamRaw(
    streamId: string,
    options: { direction: typeof FORWARDS | typeof BACKWARDS; fromRevision: bigint | typeof END; maxCount?: number },
  ): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, options)) {
        const event = this.toRecorded(resolved as AllStreamResolvedEvent | ResolvedEvent);
        if (event) out.push(event);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return out;
  }

  private toRecorded(resolved: AllStreamResolvedEvent | ResolvedEvent): RecordedEvent | undefined {
    const e = resolved.event;
    if (!e || e.type.startsWith('$') || e.streamId.startsWith('$') || !e.isJson) return undefined;
    const { schemaVersion, prevHash, hash, ...metadata } = e.metadata as unknown as StoredMetadata;
    return {
      eventId: e.id,
      streamId: e.streamId,
      revision: Number(e.revision),
      position: e.position ? encodePosition(e.position) : 0n,
      type: e.type,
      schemaVersion,
      data: e.data,
      metadata,
      prevHash,
      hash,
    };
  }
}

function checkExpected(streamId: string, expected: ExpectedRevision, current: number | null): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === null) ||
    (expected === 'stream_exists' && current !== null) ||
    (typeof expected === 'number' && current === expected);
  if (!ok) throw new ConcurrencyError(streamId, String(expected), current === null ? 'no_stream' : String(current));
}
