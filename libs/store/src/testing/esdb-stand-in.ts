import {
  BACKWARDS,
  END,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type AppendResult,
  type EventData,
  type Filter,
  type Position,
  type ReadStreamOptions,
  type ResolvedEvent,
  type StreamingRead,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';
import type { EsdbClient, FilteredReadAllOptions } from '../eventstoredb/esdb-client';

/** One stored event, as the client hands it over. */
interface Stored {
  id: string;
  streamId: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
  position: Position;
}

/** What a test can make the stand-in do at a given call. */
export interface StandInHooks {
  /** Awaited before an append checks its expected revision and commits (holds it in flight). */
  beforeCommit?: (streamId: string) => Promise<void>;
  /** Called once an append has committed, before it answers (another writer can append here). */
  afterCommit?: (streamId: string, appended: Stored[]) => void;
  /** An error to fail this read with (thrown while it is read), or `'hang'`: it never answers. */
  onRead?: (call: ReadCall) => Error | 'hang' | undefined;
  /** Awaited before a read answers its first item (holds it in flight, e.g. while a test cuts a connection). */
  whileReading?: (call: ReadCall) => Promise<void>;
}

export interface ReadCall {
  kind: 'stream' | 'all';
  streamId?: string;
  direction: 'forwards' | 'backwards';
  fromRevision?: bigint | 'start' | 'end';
  maxCount?: number;
  deadline?: number;
  /** The server-side filter a read of $all sent (none: the server sends everything, system events too). */
  filter?: Filter;
}

/**
 * An in-memory EventStoreDB as the adapter sees it through the 6.2.1 client, for tests that need
 * no server. What it keeps of the server and the client, because the adapter's fixes depend on it:
 * - a read is a call that stays open until the client has read it to its end or cancels it (the
 *   client's `cancel()`); leaving a `for await` early does not end it, as destroying the client's
 *   ReadStream does not cancel its gRPC call. The server allows 100 open calls per connection: the
 *   101st fails here (it would wait for ever there);
 * - a subscription stays open until `unsubscribe()`, whatever the iterator does;
 * - an append checks the exact expected revision and fails with WrongExpectedVersionError;
 * - reading a stream that does not exist fails with StreamNotFoundError;
 * - $all holds system events (`$…` types, links `$>`) too: a read or subscription gets only what
 *   its server-side filter lets through (the filter's regex or prefixes, on the event type or the
 *   stream name), and everything when it sends none;
 * - positions grow by one per event (commit = prepare), so they order as $all does.
 */
export class EsdbStandIn implements EsdbClient {
  static readonly MAX_OPEN_CALLS = 100;
  readonly all: Stored[] = [];
  readonly reads: ReadCall[] = [];
  /** The options of every subscribeToAll, as the client sent them. */
  readonly subscriptions: SubscribeToAllOptions[] = [];
  openCalls = 0;
  maxOpenSeen = 0;
  openSubscriptions = 0;
  unsubscribeCalls = 0;
  hooks: StandInHooks = {};
  private readonly streams = new Map<string, Stored[]>();
  private readonly waiting = new Set<() => void>();

  async appendToStream(streamName: string, events: EventData[], { expectedRevision }: { expectedRevision: AppendExpectedRevision }): Promise<AppendResult> {
    await tick();
    await this.hooks.beforeCommit?.(streamName);
    const stream = this.streams.get(streamName) ?? [];
    const current = stream.length === 0 ? NO_STREAM : BigInt(stream.length - 1);
    const ok = expectedRevision === 'any' || expectedRevision === current || (expectedRevision === 'stream_exists' && stream.length > 0);
    if (!ok) throw new WrongExpectedVersionError(undefined, { streamName, expected: expectedRevision, current });
    const appended = events.map((e): Stored => {
      const n = BigInt(this.all.length + 1);
      const stored: Stored = {
        id: e.id,
        streamId: streamName,
        revision: BigInt(stream.length),
        type: e.type,
        data: e.data,
        metadata: e.metadata,
        position: { commit: n, prepare: n },
      };
      stream.push(stored);
      this.all.push(stored);
      return stored;
    });
    this.streams.set(streamName, stream);
    for (const wake of [...this.waiting]) wake();
    this.hooks.afterCommit?.(streamName, appended);
    const last = appended.at(-1)!;
    return { success: true, nextExpectedRevision: last.revision, position: last.position };
  }

  /** A write straight to the stand-in, as another writer (or the server's own system events) would. */
  put(streamName: string, type: string, data: unknown = {}, metadata: unknown = {}): Stored {
    const stream = this.streams.get(streamName) ?? [];
    const n = BigInt(this.all.length + 1);
    const stored: Stored = {
      id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      streamId: streamName,
      revision: BigInt(stream.length),
      type,
      data,
      metadata,
      position: { commit: n, prepare: n },
    };
    stream.push(stored);
    this.streams.set(streamName, stream);
    this.all.push(stored);
    for (const wake of [...this.waiting]) wake();
    return stored;
  }

  readStream(streamName: string, options: ReadStreamOptions): StreamingRead<ResolvedEvent> {
    const call: ReadCall = {
      kind: 'stream',
      streamId: streamName,
      direction: options.direction === BACKWARDS ? 'backwards' : 'forwards',
      fromRevision: options.fromRevision,
      maxCount: options.maxCount === undefined ? undefined : Number(options.maxCount),
      deadline: options.deadline,
    };
    return this.call(call, () => {
      const stream = this.streams.get(streamName);
      if (!stream) throw new StreamNotFoundError(undefined, streamName);
      const backwards = call.direction === 'backwards';
      const from = call.fromRevision === undefined || call.fromRevision === START ? (backwards ? END : 0n) : call.fromRevision;
      let picked = backwards
        ? [...stream].reverse().filter((e) => from === END || e.revision <= from)
        : stream.filter((e) => from === END || e.revision >= from);
      if (from === END && !backwards) picked = [];
      return picked.slice(0, call.maxCount ?? Number.MAX_SAFE_INTEGER);
    });
  }

  readAllFiltered(options: FilteredReadAllOptions): StreamingRead<AllStreamResolvedEvent> {
    const call: ReadCall = {
      kind: 'all',
      direction: options.direction === BACKWARDS ? 'backwards' : 'forwards',
      maxCount: options.maxCount,
      deadline: options.deadline,
      filter: options.filter,
    };
    return this.call(call, () => {
      const from = options.fromPosition;
      const passes = matches(options.filter);
      const backwards = call.direction === 'backwards';
      const ordered = backwards ? [...this.all].reverse() : this.all;
      const start = from === START || from === END ? undefined : from.commit;
      return ordered
        .filter(passes)
        .filter((e) => start === undefined || (backwards ? e.position.commit <= start : e.position.commit >= start))
        .slice(0, options.maxCount);
    }) as unknown as StreamingRead<AllStreamResolvedEvent>;
  }

  subscribeToAll(options: SubscribeToAllOptions): AllStreamSubscription {
    const from = options.fromPosition;
    // A catch-up subscription starts after the given position (the client's contract).
    let next = from === START || from === undefined ? 0 : from === END ? this.all.length : this.all.findIndex((e) => e.position.commit > from.commit);
    if (next < 0) next = this.all.length;
    let open = true;
    this.openSubscriptions += 1;
    this.subscriptions.push(options);
    const passes = matches(options.filter);
    const pending = () => this.all.slice(next).filter(passes);
    const all = this.all;
    const waiting = this.waiting;
    const subscription = {
      get readableLength() {
        return pending().length;
      },
      unsubscribe: async () => {
        this.unsubscribeCalls += 1;
        if (open) {
          open = false;
          this.openSubscriptions -= 1;
        }
        for (const wake of [...waiting]) wake();
      },
      [Symbol.asyncIterator]() {
        return {
          next: async (): Promise<IteratorResult<AllStreamResolvedEvent>> => {
            for (;;) {
              if (!open) return { done: true, value: undefined };
              while (next < all.length && !passes(all[next]!)) next += 1;
              if (next < all.length) return { done: false, value: resolved(all[next++]!) as AllStreamResolvedEvent };
              await new Promise<void>((resolve) => {
                const wake = () => {
                  waiting.delete(wake);
                  resolve();
                };
                waiting.add(wake);
              });
            }
          },
          // What `for await` calls when its body throws: the client's Readable is destroyed, but
          // its gRPC call stays open until `unsubscribe()`.
          return: async (): Promise<IteratorResult<AllStreamResolvedEvent>> => ({ done: true, value: undefined }),
        };
      },
    };
    return subscription as unknown as AllStreamSubscription;
  }

  async dispose(): Promise<void> {
    for (const wake of [...this.waiting]) wake();
  }

  /** A read call: open from here until read to its end or cancelled. */
  private call<T>(call: ReadCall, events: () => Stored[]): StreamingRead<T> {
    this.reads.push(call);
    const failure = this.hooks.onRead?.(call);
    const tooMany = this.openCalls >= EsdbStandIn.MAX_OPEN_CALLS;
    this.openCalls += 1;
    this.maxOpenSeen = Math.max(this.maxOpenSeen, this.openCalls);
    let open = true;
    let release: (() => void) | undefined;
    const close = () => {
      if (!open) return;
      open = false;
      this.openCalls -= 1;
      release?.();
    };
    let items: Stored[] | undefined;
    let i = 0;
    const whileReading = this.hooks.whileReading;
    const read = {
      cancel: async () => close(),
      [Symbol.asyncIterator]() {
        return {
          next: async (): Promise<IteratorResult<T>> => {
            await tick();
            if (tooMany) throw new Error(`stand-in: already ${EsdbStandIn.MAX_OPEN_CALLS} calls open on this connection (the server would make this one wait)`);
            if (failure === 'hang') {
              await new Promise<void>((resolve) => (release = resolve));
              return { done: true, value: undefined };
            }
            if (failure) throw failure;
            if (!items) await whileReading?.(call);
            items ??= events();
            if (!open || i >= items.length) {
              close();
              return { done: true, value: undefined };
            }
            return { done: false, value: resolved(items[i++]!) as T };
          },
          // Leaving a `for await` early destroys the client's stream, not its call.
          return: async (): Promise<IteratorResult<T>> => ({ done: true, value: undefined }),
        };
      },
    };
    return read as unknown as StreamingRead<T>;
  }
}

function resolved(e: Stored): ResolvedEvent {
  return {
    event: {
      id: e.id,
      streamId: e.streamId,
      revision: e.revision,
      type: e.type,
      data: e.data,
      metadata: e.metadata,
      isJson: true,
      position: e.position,
      created: 0,
    },
  } as unknown as ResolvedEvent;
}

/** What a server-side filter lets through (as the server applies it to $all). */
function matches(filter: Filter | undefined): (e: Stored) => boolean {
  if (!filter) return () => true;
  const field = (e: Stored) => (filter.filterOn === 'streamName' ? e.streamId : e.type);
  if ('regex' in filter) {
    const regex = new RegExp(filter.regex);
    return (e) => regex.test(field(e));
  }
  return (e) => filter.prefixes.some((p) => field(e).startsWith(p));
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
