import { Metadata, status } from '@grpc/grpc-js';
import {
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamDeletedError,
  UnavailableError,
  WrongExpectedVersionError,
  convertToCommandError,
} from '@eventstore/db-client';
import type { RecordedEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { AppendTooLargeError, DeletedStreamError, StoreUnavailableError } from '../errors';
import { newEvent } from '../testing/event-store.contract';
import { EsdbStandIn } from '../testing/esdb-stand-in';
import { EsdbEventStore, encodePosition, translateEsdbError } from './esdb-event-store';

/**
 * The adapter without a server: the client's errors as the server sends them (a gRPC status and
 * its metadata, converted by the client's own `convertToCommandError`), and a stand-in client
 * (libs/store/src/testing/esdb-stand-in.ts) that keeps what the fixes of issue 17 depend on:
 * calls open until cancelled, at most 100 of them, subscriptions open until unsubscribed.
 */

/** A gRPC error as the server answers it: a status code, and the exception in the trailers. */
function serverError(code: status, trailers: Record<string, string> = {}): unknown {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return convertToCommandError(Object.assign(new Error(`${code} ${trailers.exception ?? ''}`), { code, details: 'from the server', metadata }));
}

describe('translateEsdbError: the client errors become the project ones (issue 17, point 10)', () => {
  it("StreamDeleted is DeletedStreamError (STREAM_DELETED, 410), naming the server's stream", () => {
    const error = serverError(status.FAILED_PRECONDITION, { exception: 'stream-deleted', 'stream-name': 'declaration-10000000008' });
    expect(error).toBeInstanceOf(StreamDeletedError);
    const out = translateEsdbError(error, 'declaration-other', 'commit');
    expect(out).toBeInstanceOf(DeletedStreamError);
    expect(out).toMatchObject({ code: 'STREAM_DELETED', streamId: 'declaration-10000000008', cause: error });
  });

  it('NotLeader is StoreUnavailableError at connect (503, nothing was written), whatever the phase', () => {
    const error = serverError(status.NOT_FOUND, { exception: 'not-leader', 'leader-endpoint-host': 'node2.example', 'leader-endpoint-port': '2113' });
    expect(error).toBeInstanceOf(NotLeaderError);
    const out = translateEsdbError(error, 'campaign-2023', 'commit');
    expect(out).toBeInstanceOf(StoreUnavailableError);
    expect(out).toMatchObject({ code: 'STORE_UNAVAILABLE', phase: 'connect', outcomeUnknown: false, cause: error });
  });

  it.each([
    ['Unavailable', status.UNAVAILABLE, UnavailableError],
    ['DeadlineExceeded', status.DEADLINE_EXCEEDED, DeadlineExceededError],
  ])('%s is StoreUnavailableError in the phase it happened (a lost commit has an unknown outcome)', (_name, code, type) => {
    const error = serverError(code);
    expect(error).toBeInstanceOf(type);
    expect(translateEsdbError(error, '$all', 'query')).toMatchObject({ code: 'STORE_UNAVAILABLE', phase: 'query', outcomeUnknown: false, cause: error });
    const lost = translateEsdbError(error, 'campaign-2023', 'commit');
    expect(lost).toBeInstanceOf(StoreUnavailableError);
    expect(lost).toMatchObject({ phase: 'commit', outcomeUnknown: true, details: { outcomeUnknown: true } });
    expect((lost as Error).message).toMatch(/pas certain/);
  });

  it("MaxAppendSizeExceeded is AppendTooLargeError (EVENT_TOO_LARGE, 413) with the server's limit and what was sent", () => {
    const error = serverError(status.INVALID_ARGUMENT, { exception: 'maximum-append-size-exceeded', 'maximum-append-size': '1048576' });
    expect(error).toBeInstanceOf(MaxAppendSizeExceededError);
    const out = translateEsdbError(error, 'declaration-10000000008', 'commit', { events: 3, bytes: 1_300_000 });
    expect(out).toBeInstanceOf(AppendTooLargeError);
    expect(out).toMatchObject({ code: 'EVENT_TOO_LARGE', bytes: 1_300_000, limitBytes: 1_048_576 });
    expect((out as Error).message).toMatch(/3 event\(s\) appended to declaration-10000000008/);
  });

  it('leaves the other errors as they are', () => {
    const conflict = new WrongExpectedVersionError(undefined, { streamName: 's', expected: 1n, current: 2n });
    const boom = new Error('boom');
    expect(translateEsdbError(conflict, 's', 'commit')).toBe(conflict);
    expect(translateEsdbError(boom, 's', 'query')).toBe(boom);
  });

  it('is what the adapter answers: an unavailable server on a read, a refused size on an append', async () => {
    const standIn = new EsdbStandIn();
    const store = new EsdbEventStore({
      connectionString: 'esdb://stand-in',
      clock: new ManualClock('2024-01-15T09:30:00Z'),
      client: standIn,
      maxAppendBytes: 64 * 1024 * 1024,
    });
    standIn.hooks.onRead = () => serverError(status.UNAVAILABLE) as Error;
    await expect(store.headPosition()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', phase: 'query' });
    standIn.hooks.onRead = undefined;
    standIn.appendToStream = async () => {
      throw serverError(status.INVALID_ARGUMENT, { exception: 'maximum-append-size-exceeded', 'maximum-append-size': '1048576' });
    };
    await expect(store.append('campaign-2023', [newEvent()], { expectedRevision: 'any' })).rejects.toMatchObject({
      code: 'EVENT_TOO_LARGE',
      limitBytes: 1_048_576,
    });
    expect(standIn.openCalls).toBe(0);
  });
});

describe('EventStoreDB adapter through a stand-in client (issue 17)', () => {
  let standIn: EsdbStandIn;
  let clock: ManualClock;
  let store: EsdbEventStore;
  const open = (options: { clock?: ManualClock; readDeadlineMs?: number; connectionString?: string } = {}) =>
    new EsdbEventStore({
      connectionString: options.connectionString ?? 'esdb://stand-in',
      clock: options.clock ?? clock,
      client: standIn,
      readDeadlineMs: options.readDeadlineMs,
    });
  beforeEach(() => {
    standIn = new EsdbStandIn();
    clock = new ManualClock('2024-01-15T09:30:00Z');
    store = open();
  });

  /** The stand-in's positions of these events, as the adapter encodes them. */
  const storedPositions = (events: RecordedEvent[]) => events.map((e) => encodePosition(standIn.all.find((s) => s.id === e.eventId)!.position));

  describe('point 1: every read is cancelled, including those left early', () => {
    it('the stand-in refuses the 101st open call (as the server holds it), so a leak shows', async () => {
      await store.append('campaign-2023', [newEvent()], { expectedRevision: 'no_stream' });
      const leaked = Array.from({ length: EsdbStandIn.MAX_OPEN_CALLS }, () => standIn.readStream('campaign-2023', {}));
      for (const read of leaked) for await (const _ of read) break;
      expect(standIn.openCalls).toBe(100);
      await expect(store.headPosition()).rejects.toThrow(/100 calls open/);
      await Promise.all(leaked.map((r) => r.cancel()));
    });

    it('answers 200 headPosition() calls in a row, each leaving its call early, with no call left open', async () => {
      const first = await store.append('campaign-2023', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      standIn.put('$stats-127.0.0.1:2113', '$statsCollected');
      standIn.reads.length = 0;
      for (let i = 0; i < 200; i += 1) expect(await store.headPosition()).toBe(first.position);
      expect(standIn.openCalls).toBe(0);
      expect(standIn.reads.filter((r) => r.kind === 'all')).toHaveLength(200);
    });

    it('answers 200 readAll() calls that stop before the end of $all, with no call left open', async () => {
      const written = await store.append(
        'campaign-2023',
        Array.from({ length: 6 }, () => newEvent()),
        { expectedRevision: 'no_stream' },
      );
      for (let i = 0; i < 200; i += 1) {
        const page = await store.readAll({ after: 0n, maxCount: 2 });
        expect(page.map((e) => e.eventId)).toEqual(written.events.slice(0, 2).map((e) => e.eventId));
      }
      expect(standIn.openCalls).toBe(0);
      expect(standIn.maxOpenSeen).toBeLessThanOrEqual(2);
    });
  });

  describe('point 10c: a handler that throws ends the subscription', () => {
    it('unsubscribes (cancels the gRPC call) and rejects done with the error', async () => {
      await store.append(
        'campaign-2023',
        Array.from({ length: 5 }, () => newEvent()),
        { expectedRevision: 'no_stream' },
      );
      const sub = store.subscribeAll({ after: 0n, batchSize: 2 }, async () => {
        throw new Error('read model unavailable');
      });
      await expect(sub.done).rejects.toThrow('read model unavailable');
      expect(standIn.unsubscribeCalls).toBeGreaterThanOrEqual(1);
      expect(standIn.openSubscriptions).toBe(0);
      expect(sub.position).toBe(0n);
    });

    it('hands batches of batchSize (point 3) and stops cleanly', async () => {
      await store.append(
        'campaign-2023',
        Array.from({ length: 7 }, () => newEvent()),
        { expectedRevision: 'no_stream' },
      );
      const sizes: number[] = [];
      let seen = 0;
      let reached!: () => void;
      const all = new Promise<void>((resolve) => (reached = resolve));
      const sub = store.subscribeAll({ after: 0n, batchSize: 3 }, async (batch) => {
        sizes.push(batch.length);
        seen += batch.length;
        if (seen === 7) reached();
      });
      await all;
      await sub.stop();
      // Full batches while events are buffered (not one transaction per event), then what is left.
      expect(sizes).toEqual([3, 3, 1]);
      expect(standIn.openSubscriptions).toBe(0);
    });
  });

  describe('point 2 and 10b: $all filtered by the server', () => {
    it('finds the head behind more than 4 096 trailing system events and links, asking the server to drop them', async () => {
      const mine = await store.append('campaign-2023', [newEvent()], { expectedRevision: 'no_stream' });
      for (let i = 0; i < 5000; i += 1) standIn.put('$stats-127.0.0.1:2113', '$statsCollected');
      standIn.put('$ce-campaign', '$>', '0@campaign-2023');
      standIn.reads.length = 0;
      expect(await store.headPosition()).toBe(mine.position);
      expect(await store.readAll({ after: 0n, maxCount: 10 })).toEqual(mine.events);
      expect(await store.readAll({ after: mine.position, maxCount: 10 })).toEqual([]);
      // One event asked for backwards, and the system events never crossed the network.
      expect(standIn.reads[0]).toMatchObject({ kind: 'all', direction: 'backwards', maxCount: 1 });
      for (const call of standIn.reads) expect(call.filter).toMatchObject({ filterOn: 'eventType', regex: '^[^$].*' });
      expect(standIn.openCalls).toBe(0);
    });

    it('an append after them takes its recordedAt floor from the last application event', async () => {
      const first = await open({ clock: new ManualClock('2024-01-15T10:00:00Z') }).append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' });
      for (let i = 0; i < 5000; i += 1) standIn.put('$stats-127.0.0.1:2113', '$statsCollected');
      const next = await store.append('campaign-b', [newEvent()], { expectedRevision: 'no_stream' });
      expect(next.events[0]!.metadata.recordedAt).toBe(first.events[0]!.metadata.recordedAt);
    });

    it("subscribes with the same filter, and with no deadline: it stays open past the reads' one", async () => {
      const bounded = open({ readDeadlineMs: 100 });
      const seen: RecordedEvent[] = [];
      let reached!: () => void;
      const got = new Promise<void>((resolve) => (reached = resolve));
      const sub = bounded.subscribeAll({ after: 0n }, async (batch) => {
        seen.push(...batch);
        reached();
      });
      await new Promise((resolve) => setTimeout(resolve, 400));
      standIn.put('$stats-127.0.0.1:2113', '$statsCollected');
      const r = await bounded.append('campaign-2023', [newEvent()], { expectedRevision: 'no_stream' });
      await got;
      await sub.stop();
      expect(seen.map((e) => e.eventId)).toEqual([r.events[0]!.eventId]);
      expect(standIn.subscriptions).toHaveLength(1);
      expect(standIn.subscriptions[0]!.deadline).toBeUndefined();
      expect(standIn.subscriptions[0]!.filter).toMatchObject({ filterOn: 'eventType', regex: '^[^$].*' });
      expect(standIn.openSubscriptions).toBe(0);
    });
  });

  describe('point 4, 6 and 10e: what is refused before anything is sent', () => {
    it('a batch naming a stream twice: INVALID_EVENT, nothing read or written', async () => {
      await expect(
        store.appendBatch([
          { streamId: 'campaign-2023', events: [newEvent()], expectedRevision: 'no_stream' },
          { streamId: 'declaration-10000000008', events: [newEvent()], expectedRevision: 'no_stream' },
          { streamId: 'campaign-2023', events: [newEvent()], expectedRevision: 'any' },
        ]),
      ).rejects.toMatchObject({ code: 'INVALID_EVENT', details: { streamId: 'campaign-2023' } });
      expect(standIn.all).toHaveLength(0);
      expect(standIn.reads).toHaveLength(0);
    });

    it('an append over 1 MiB in total (each event under its own limit): EVENT_TOO_LARGE, not sent', async () => {
      const parts = Array.from({ length: 3 }, () => newEvent({ data: { blob: 'x'.repeat(400 * 1024) } }));
      let sent = 0;
      const append = standIn.appendToStream.bind(standIn);
      standIn.appendToStream = (...args) => ((sent += 1), append(...args));
      await expect(store.append('declaration-10000000008', parts, { expectedRevision: 'any' })).rejects.toMatchObject({
        code: 'EVENT_TOO_LARGE',
        limitBytes: 1024 * 1024,
      });
      expect(sent).toBe(0);
      // Two of them fit.
      await store.append('declaration-10000000008', parts.slice(0, 2), { expectedRevision: 'any' });
      expect(sent).toBe(1);
    });

    it("an eventId twice in an append or a batch, or already among the stream's last events: INVALID_EVENT, written once", async () => {
      const e = newEvent();
      await expect(store.append('campaign-2023', [e, e], { expectedRevision: 'no_stream' })).rejects.toMatchObject({ code: 'INVALID_EVENT' });
      await expect(
        store.appendBatch([
          { streamId: 'campaign-2023', events: [e], expectedRevision: 'no_stream' },
          { streamId: 'campaign-2024', events: [e], expectedRevision: 'no_stream' },
        ]),
      ).rejects.toMatchObject({ code: 'INVALID_EVENT' });
      expect(standIn.all).toHaveLength(0);
      const other = newEvent();
      await store.append('campaign-2023', [e, other], { expectedRevision: 'no_stream' });
      // The retry of an append whose answer was lost.
      await expect(store.append('campaign-2023', [e, other], { expectedRevision: 'any' })).rejects.toMatchObject({
        code: 'INVALID_EVENT',
        details: { eventIds: [e.eventId, other.eventId] },
      });
      expect(standIn.all.map((s) => s.id)).toEqual([e.eventId, other.eventId]);
    });
  });

  describe('point 10a: readStreams', () => {
    it('reads several streams at once (at most 8 calls open), each whole, and leaves none open', async () => {
      const ids = Array.from({ length: 20 }, (_, i) => `campaign-${String(2000 + i)}`);
      for (const [i, id] of ids.entries())
        await store.append(
          id,
          Array.from({ length: (i % 3) + 1 }, () => newEvent()),
          { expectedRevision: 'no_stream' },
        );
      standIn.maxOpenSeen = 0;
      const found = await store.readStreams([...ids, 'campaign-1999']);
      expect([...found.keys()]).toEqual(ids);
      ids.forEach((id, i) => expect(found.get(id)!.map((e) => e.revision)).toEqual(Array.from({ length: (i % 3) + 1 }, (_, r) => r)));
      expect(standIn.maxOpenSeen).toBeGreaterThan(1);
      expect(standIn.maxOpenSeen).toBeLessThanOrEqual(8);
      expect(standIn.openCalls).toBe(0);
    });
  });

  describe('point 5: the read-back after an append', () => {
    it("is bounded: another writer's later events are not reported as this append's", async () => {
      await store.append('declaration-10000000008', [newEvent()], { expectedRevision: 'no_stream' });
      let other: string | undefined;
      standIn.hooks.afterCommit = (streamId) => {
        standIn.hooks.afterCommit = undefined;
        other = standIn.put(streamId, 'IndicatorDeclared', { other: true }).id;
      };
      const sent = [newEvent(), newEvent(), newEvent()];
      const r = await store.append('declaration-10000000008', sent, { expectedRevision: 0 });
      expect(other).toBeDefined();
      expect(r.revision).toBe(3);
      expect(r.events.map((e) => e.eventId)).toEqual(sent.map((e) => e.eventId));
      expect(r.events.map((e) => e.revision)).toEqual([1, 2, 3]);
      // Each event at its own position (read back), not all at the append's last one.
      expect(r.events.map((e) => e.position)).toEqual(storedPositions(r.events));
      expect(new Set(r.events.map((e) => e.position)).size).toBe(3);
      const readBack = standIn.reads.filter((c) => c.kind === 'stream' && c.direction === 'forwards').at(-1)!;
      expect(readBack).toMatchObject({ fromRevision: 1n, maxCount: 3 });
    });

    it('that fails does not turn the committed append into an error (a client would retry it: a duplicate)', async () => {
      standIn.hooks.afterCommit = () => {
        standIn.hooks.afterCommit = undefined;
        standIn.hooks.onRead = (call) => {
          standIn.hooks.onRead = undefined;
          return call.kind === 'stream' ? (serverError(status.UNAVAILABLE) as Error) : undefined;
        };
      };
      const sent = [newEvent(), newEvent()];
      const r = await store.append('declaration-10000000008', sent, { expectedRevision: 'no_stream' });
      expect(r.revision).toBe(1);
      expect(r.events.map((e) => e.eventId)).toEqual(sent.map((e) => e.eventId));
      // What was sent, at the append's position (the one to wait for to see them all).
      expect(r.events.map((e) => e.position)).toEqual([r.position, r.position]);
      expect(r.position).toBe(storedPositions([r.events[1]!])[0]);
      expect(standIn.all.map((e) => e.id)).toEqual(sent.map((e) => e.eventId));
      expect(standIn.openCalls).toBe(0);
    });
  });

  describe("point 7: concurrent 'any' appends", () => {
    it('each gets its own revision and answers its own events, chained in commit order', async () => {
      await store.append('campaign-2023', [newEvent()], { expectedRevision: 'no_stream' });
      const sent = Array.from({ length: 8 }, () => newEvent());
      const results = await Promise.all(sent.map((e) => store.append('campaign-2023', [e], { expectedRevision: 'any' })));
      expect(results.map((r) => r.revision).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const stream = await store.readStream('campaign-2023');
      results.forEach((r, i) => {
        expect(r.events).toHaveLength(1);
        expect(r.events[0]!.eventId).toBe(sent[i]!.eventId);
        expect(r.events[0]!.revision).toBe(r.revision);
        expect(r.events[0]).toEqual(stream[r.revision]);
      });
      expect(new Set(stream.map((e) => e.eventId)).size).toBe(9);
      for (let i = 1; i < stream.length; i += 1) expect(stream[i]!.prevHash).toBe(stream[i - 1]!.hash);
    });
  });

  describe('deadlines: a server that never answers a read', () => {
    it('headPosition(), readStream() and readAll() answer STORE_UNAVAILABLE after the bound, and cancel their call', async () => {
      await store.append('campaign-2023', [newEvent()], { expectedRevision: 'no_stream' });
      const bounded = open({ readDeadlineMs: 150 });
      standIn.hooks.onRead = () => 'hang';
      standIn.reads.length = 0;
      const started = Date.now();
      await expect(bounded.headPosition()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', phase: 'query', cause: expect.any(DeadlineExceededError) });
      await expect(bounded.readStream('campaign-2023')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(bounded.readAll({ after: 0n, maxCount: 10 })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(standIn.openCalls).toBe(0);
      // The bound is also sent to the client (the hand-built $all read gives it to gRPC).
      expect(standIn.reads.every((c) => c.deadline === 150)).toBe(true);
    }, 10_000);

    it('an append whose reads hang answers STORE_UNAVAILABLE and writes nothing', async () => {
      const bounded = open({ readDeadlineMs: 150 });
      standIn.hooks.onRead = () => 'hang';
      await expect(bounded.append('campaign-2023', [newEvent()], { expectedRevision: 'no_stream' })).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        outcomeUnknown: false,
      });
      expect(standIn.all).toHaveLength(0);
      expect(standIn.openCalls).toBe(0);
    }, 10_000);

    it("takes the connection string's defaultDeadline, else 10 s", async () => {
      await open({ connectionString: 'esdb://node1:2113?tls=false&defaultDeadline=2500' }).headPosition();
      await open({ connectionString: 'esdb://node1:2113?tls=false' }).headPosition();
      expect(standIn.reads.map((c) => c.deadline)).toEqual([2500, 10_000]);
    });
  });

  // Without the fence (each store here takes none); with it, esdb-append-fence.int-spec.ts.
  describe('point 8: recordedAt along $all with several instances, unfenced', () => {
    it('never goes backwards when each append starts after the previous one committed, whatever the clocks', async () => {
      const ahead = open({ clock: new ManualClock('2024-01-15T10:00:00Z') });
      const behind = open({ clock: new ManualClock('2024-01-15T09:30:00Z') });
      const r1 = await ahead.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' });
      const r2 = await behind.append('campaign-b', [newEvent()], { expectedRevision: 'no_stream' });
      const r3 = await store.append('campaign-c', [newEvent()], { expectedRevision: 'no_stream' });
      const at = [r1, r2, r3].map((r) => r.events[0]!.metadata.recordedAt);
      expect(at).toEqual(['2024-01-15T10:00:00.000Z', '2024-01-15T10:00:00.000Z', '2024-01-15T10:00:00.000Z']);
      const all = await store.readAll({ after: 0n, maxCount: 10 });
      for (let i = 1; i < all.length; i += 1) expect(all[i]!.metadata.recordedAt >= all[i - 1]!.metadata.recordedAt).toBe(true);
    });

    it('never goes backwards within a stream, even when instances race on it', async () => {
      const ahead = open({ clock: new ManualClock('2024-01-15T10:00:00Z') });
      await store.append('campaign-2023', [newEvent()], { expectedRevision: 'no_stream' });
      await Promise.all([
        ...Array.from({ length: 4 }, () => ahead.append('campaign-2023', [newEvent()], { expectedRevision: 'any' })),
        ...Array.from({ length: 4 }, () => store.append('campaign-2023', [newEvent()], { expectedRevision: 'any' })),
      ]);
      const stream = await store.readStream('campaign-2023');
      expect(stream).toHaveLength(9);
      for (let i = 1; i < stream.length; i += 1) expect(stream[i]!.metadata.recordedAt >= stream[i - 1]!.metadata.recordedAt).toBe(true);
    });

    it("steps back along $all by at most the clocks' offset when two appends to different streams overlap (the documented bound)", async () => {
      const a = open({ clock: new ManualClock('2024-01-15T10:00:00.000Z') });
      const b = open({ clock: new ManualClock('2024-01-15T09:59:59.900Z') });
      // B has read $all and is on its way to the server when A appends and commits.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      standIn.hooks.beforeCommit = (streamId) => (streamId === 'campaign-b' ? held : Promise.resolve());
      const pendingB = b.append('campaign-b', [newEvent()], { expectedRevision: 'no_stream' });
      while (!standIn.reads.some((c) => c.kind === 'all')) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const ra = await a.append('campaign-a', [newEvent()], { expectedRevision: 'no_stream' });
      release();
      const rb = await pendingB;
      expect(rb.position > ra.position).toBe(true);
      const stepBack = Date.parse(ra.events[0]!.metadata.recordedAt) - Date.parse(rb.events[0]!.metadata.recordedAt);
      expect(stepBack).toBe(100);
      // From there on it goes forward again from $all's last event (not from the earlier, later one).
      const rc = await b.append('campaign-c', [newEvent()], { expectedRevision: 'no_stream' });
      expect(rc.events[0]!.metadata.recordedAt).toBe(rb.events[0]!.metadata.recordedAt);
    });
  });
});
