import { randomUUID } from 'node:crypto';
import { ConcurrencyError, EventTooLargeError, GENESIS_HASH, InvalidEventError, type NewEvent, type RecordedEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { verifyIntegrity } from '../integrity';
import type { EventStore, Subscription } from '../port';

/** The stream's last revision, or null when it does not exist (read back, as a client would). */
async function revisionOf(store: EventStore, streamId: string): Promise<number | null> {
  const events = await store.readStream(streamId);
  return events.at(-1)?.revision ?? null;
}

export interface ContractHarness {
  store: EventStore;
  clock: ManualClock;
  /**
   * Alters a stored event behind the store's back (an SQL UPDATE). Stores that cannot alter an
   * event in place (EventStoreDB) instead `forge` one: a raw write that bypasses the chaining.
   */
  tamper?(event: RecordedEvent): Promise<void>;
  forge?(streamId: string): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Awaited inside the append transaction just before it commits, where the adapter allows it. */
  beforeCommit?: (streamId: string) => Promise<void>;
  maxEventBytes?: number;
}

export interface ContractTarget {
  name: string;
  /** When set, the whole suite is skipped and this is printed as the reason. */
  unavailable?: string;
  /** Whether the adapter honours `beforeCommit` (the SQL ones; EventStoreDB orders commits itself). */
  supportsCommitHook: boolean;
  open(options?: HarnessOptions): Promise<ContractHarness>;
}

const T0 = '2024-01-15T09:30:00.000Z';

export function newEvent(overrides: Partial<NewEvent> & { data?: unknown } = {}): NewEvent {
  return {
    eventId: randomUUID(),
    type: 'IndicatorDeclared',
    schemaVersion: 1,
    data: { rpps: '10000000008', year: 2023, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true },
    metadata: {
      effectiveAt: '2024-01-15T10:30:00+01:00',
      actor: { sub: 'doctor-10000000008', role: 'doctor', rpps: '10000000008' },
      channel: 'amelipro',
      correlationId: randomUUID(),
      causationId: null,
    },
    ...overrides,
  };
}

/** Resolves once the collector has seen an event at or beyond `position`, or fails after `ms`. */
class Collector {
  readonly seen: RecordedEvent[] = [];
  private waiters: { position: bigint; resolve: () => void }[] = [];

  handler = (batch: RecordedEvent[]): Promise<void> => {
    this.seen.push(...batch);
    const last = batch[batch.length - 1]!.position;
    this.waiters = this.waiters.filter((w) => (w.position <= last ? (w.resolve(), false) : true));
    return Promise.resolve();
  };

  until(position: bigint, ms = 15000): Promise<void> {
    if ((this.seen.at(-1)?.position ?? 0n) >= position) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`subscription did not reach position ${position} within ${ms} ms (at ${this.seen.at(-1)?.position ?? 0n})`)),
        ms,
      );
      this.waiters.push({
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

export function describeEventStoreContract(target: ContractTarget): void {
  if (target.unavailable) {
    // Straight to stderr: jest swallows the console of a suite whose tests are all skipped.
    process.stderr.write(`\n[contract] ${target.name}: SKIPPED, ${target.unavailable}\n`);
    describe(`event-store contract: ${target.name}`, () => {
      // The adapter's server is absent here; the reason is printed above and in the test name.
      it.skip(`skipped: ${target.unavailable}`, () => undefined);
    });
    return;
  }

  describe(`event-store contract: ${target.name}`, () => {
    let h: ContractHarness;
    const subscriptions: Subscription[] = [];
    const subscribe = (after: bigint, collector: Collector, batchSize = 50): Subscription => {
      const s = h.store.subscribeAll({ after, batchSize }, collector.handler);
      subscriptions.push(s);
      return s;
    };

    beforeEach(async () => {
      h = await target.open();
      h.clock.set(T0);
    });
    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
      await h.close();
    });

    it('reads back exactly what was written: types, data, metadata and both times', async () => {
      const stream = `declaration-10000000008-${randomUUID().slice(0, 8)}`;
      const first = newEvent({
        type: 'IndicatorPrefilled',
        data: {
          rpps: '10000000008',
          year: 2023,
          indicator: 'V1_SEGUR_LAP',
          source: 'SONS',
          value: { segurSoftware: { editor: 'Éditeur « Santé »', name: 'Logiciel', version: '2.1', acquiredOn: '2023-06-30' }, lapCertified: true },
          ratio: 0.125,
          counts: [0, -3, 1e6],
          none: null,
        },
        metadata: {
          effectiveAt: '2023-12-11T00:00:00+01:00',
          actor: { sub: 'import-sons', role: 'system' },
          channel: 'import',
          correlationId: 'corr-1',
          causationId: null,
          legalBasis: 'Convention médicale 2016, art. 20',
        },
      });
      const second = newEvent({
        metadata: {
          effectiveAt: '2024-02-02T16:45:10.250+01:00',
          actor: { sub: 'agent-7', role: 'agent', caisse: '441' },
          onBehalfOf: { rpps: '10000000008' },
          channel: 'paper',
          correlationId: 'corr-2',
          causationId: first.eventId,
        },
      });
      const result = await h.store.append(stream, [first, second], { expectedRevision: 'no_stream' });
      expect(result.revision).toBe(1);
      expect(result.events).toHaveLength(2);

      const read = await h.store.readStream(stream);
      expect(read.map((e) => [e.eventId, e.type, e.revision, e.schemaVersion])).toEqual([
        [first.eventId, 'IndicatorPrefilled', 0, 1],
        [second.eventId, 'IndicatorDeclared', 1, 1],
      ]);
      expect(read[0]!.data).toEqual(first.data);
      expect(read[1]!.data).toEqual(second.data);
      expect(read[0]!.metadata).toEqual({
        recordedAt: T0,
        effectiveAt: '2023-12-10T23:00:00.000Z',
        actor: { sub: 'import-sons', role: 'system' },
        channel: 'import',
        correlationId: 'corr-1',
        causationId: null,
        legalBasis: 'Convention médicale 2016, art. 20',
      });
      expect(read[1]!.metadata).toEqual({
        recordedAt: T0,
        effectiveAt: '2024-02-02T15:45:10.250Z',
        actor: { sub: 'agent-7', role: 'agent', caisse: '441' },
        onBehalfOf: { rpps: '10000000008' },
        channel: 'paper',
        correlationId: 'corr-2',
        causationId: first.eventId,
      });
      expect(read[0]!.prevHash).toBe(GENESIS_HASH);
      expect(read[1]!.prevHash).toBe(read[0]!.hash);
      expect(read[1]!.position).toBeGreaterThan(read[0]!.position);
      expect(read).toEqual(result.events);
      expect(await h.store.readStream(stream, { fromRevision: 1 })).toEqual([read[1]]);
      const all = await h.store.readAll({ maxCount: 100 });
      expect(all.filter((e) => e.streamId === stream)).toEqual(read);
      expect(await h.store.headPosition()).toBe(all.at(-1)!.position);
    });

    it('answers an empty list for a stream that does not exist', async () => {
      expect(await h.store.readStream('declaration-00000000000-1900')).toEqual([]);
    });

    it('lets exactly one of two writers on the same revision win; the other gets ConcurrencyError', async () => {
      const stream = `campaign-${randomUUID().slice(0, 8)}`;
      await h.store.append(stream, [newEvent()], { expectedRevision: 'no_stream' });
      const outcomes = await Promise.allSettled([
        h.store.append(stream, [newEvent()], { expectedRevision: 0 }),
        h.store.append(stream, [newEvent()], { expectedRevision: 0 }),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(ConcurrencyError);
      expect((lost[0]!.reason as ConcurrencyError).code).toBe('STALE_REVISION');
    });

    it('refuses no_stream on an existing stream, a revision on a missing one, and a stale revision', async () => {
      const stream = `campaign-${randomUUID().slice(0, 8)}`;
      await expect(h.store.append(stream, [newEvent()], { expectedRevision: 0 })).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(h.store.append(stream, [newEvent()], { expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(ConcurrencyError);
      await h.store.append(stream, [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      await expect(h.store.append(stream, [newEvent()], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(h.store.append(stream, [newEvent()], { expectedRevision: 0 })).rejects.toBeInstanceOf(ConcurrencyError);
      await h.store.append(stream, [newEvent()], { expectedRevision: 'any' });
      expect(await revisionOf(h.store, stream)).toBe(2);
    });

    it('appends a batch to several streams in request order, chains continuing each stream', async () => {
      const tag = randomUUID().slice(0, 8);
      const [a, b, c] = [`declaration-10000000008-${tag}a`, `declaration-10000000008-${tag}b`, `campaign-${tag}`];
      await h.store.append(a, [newEvent()], { expectedRevision: 'no_stream' });
      const head = await h.store.headPosition();
      const results = await h.store.appendBatch([
        { streamId: a, events: [newEvent(), newEvent()], expectedRevision: 0 },
        { streamId: b, events: [newEvent()], expectedRevision: 'no_stream' },
        { streamId: c, events: [], expectedRevision: 'any' },
      ]);
      expect(results.map((r) => [r.streamId, r.revision, r.events.length])).toEqual([
        [a, 2, 2],
        [b, 0, 1],
        [c, -1, 0],
      ]);
      const all = await h.store.readAll({ after: head, maxCount: 10 });
      expect(all.map((e) => [e.streamId, e.revision])).toEqual([
        [a, 1],
        [a, 2],
        [b, 0],
      ]);
      if (h.store.kind !== 'eventstore') expect(all.map((e) => e.position)).toEqual([head + 1n, head + 2n, head + 3n]);
      const streamA = await h.store.readStream(a);
      expect(streamA[1]!.prevHash).toBe(streamA[0]!.hash);
      expect((await verifyIntegrity(h.store)).ok).toBe(true);
      await expect(
        h.store.appendBatch([
          { streamId: b, events: [newEvent()], expectedRevision: 0 },
          { streamId: b, events: [newEvent()], expectedRevision: 1 },
        ]),
      ).rejects.toBeInstanceOf(InvalidEventError);
      const several = await h.store.readStreams([a, b, `${a}-none`]);
      expect([...several.keys()].sort()).toEqual([a, b].sort());
      expect(several.get(a)!.map((e) => e.revision)).toEqual([0, 1, 2]);
      expect(several.get(a)).toEqual(streamA);
    });

    it('reads some streams whole and, of others, only the events of the types asked for, with their stored revisions', async () => {
      const whole = `declaration-10000000008-${randomUUID().slice(0, 8)}`;
      const part = `declaration-10000000008-${randomUUID().slice(0, 8)}`;
      const measure = (n: number) => newEvent({ type: 'MeasureRecorded', data: { n } });
      await h.store.append(whole, [measure(0), newEvent()], { expectedRevision: 'no_stream' });
      await h.store.append(part, [measure(0), newEvent(), measure(1), newEvent({ type: 'JustificatifValidated', data: { n: 2 } }), measure(3)], {
        expectedRevision: 'no_stream',
      });
      const types = ['IndicatorDeclared', 'JustificatifValidated'];
      const read = await h.store.readStreams([whole], { partial: { streamIds: [part, whole, `${part}-none`], types } });
      expect([...read.keys()].sort()).toEqual([part, whole].sort());
      // Named whole as well: whole.
      expect(read.get(whole)).toEqual(await h.store.readStream(whole));
      const stored = await h.store.readStream(part);
      expect(read.get(part)).toEqual(stored.filter((e) => types.includes(e.type)));
      expect(read.get(part)!.map((e) => [e.revision, e.type])).toEqual([
        [1, 'IndicatorDeclared'],
        [3, 'JustificatifValidated'],
      ]);
      // A partial stream with none of the types is absent, as an absent stream is.
      const none = await h.store.readStreams([], { partial: { streamIds: [part], types: ['PaymentRecorded'] } });
      expect(none.size).toBe(0);
    });

    it('reads narrowed events: id, stream, revision, position, type, times and the metadata keys asked for as stored; no data of the types named (issue 14)', async () => {
      const stream = `declaration-10000000008-${randomUUID().slice(0, 8)}`;
      await h.store.append(stream, [newEvent({ type: 'MeasureRecorded', data: { n: 0 } }), newEvent({ type: 'EntitlementCalculated', data: { n: 1 } })], {
        expectedRevision: 'no_stream',
      });
      const stored = await h.store.readStream(stream);
      // causationId is stored null: a key asked for keeps its null.
      const narrow = { metadataKeys: ['channel', 'causationId', 'no-such-key'], withoutDataOf: ['EntitlementCalculated'] };
      const read = (await h.store.readStreams([stream], { narrow })).get(stream)!;
      const facts = (e: RecordedEvent) => [
        e.eventId,
        e.streamId,
        e.revision,
        e.position,
        e.type,
        e.schemaVersion,
        e.metadata.recordedAt,
        e.metadata.effectiveAt,
        e.metadata.channel,
      ];
      expect(read.map(facts)).toEqual(stored.map(facts));
      expect(read[0]!.data).toEqual({ n: 0 });
      // With a partial stream too (the entitlement's earlier years): the same narrowing.
      const partial = (await h.store.readStreams([], { partial: { streamIds: [stream], types: ['EntitlementCalculated'] }, narrow })).get(stream)!;
      expect(partial.map(facts)).toEqual([facts(stored[1]!)]);
      if (h.store.kind === 'eventstore') {
        // It cannot narrow in the server: whole events, which hold what was asked for.
        expect(read).toEqual(stored);
      } else {
        expect(read[1]!.data).toEqual({});
        expect(partial[0]!.data).toEqual({});
        // Absent keys stay absent; the actor, the correlation and the hashes stay in the server.
        expect(read.map((e) => Object.keys(e.metadata).sort())).toEqual([
          ['causationId', 'channel', 'effectiveAt', 'recordedAt'],
          ['causationId', 'channel', 'effectiveAt', 'recordedAt'],
        ]);
        expect(read.map((e) => e.metadata.causationId)).toEqual([null, null]);
        expect(read.map((e) => [e.prevHash, e.hash])).toEqual([
          ['', ''],
          ['', ''],
        ]);
      }
    });

    it('refuses a batch that names a stream twice, and writes nothing of it', async () => {
      const stream = `declaration-10000000008-${randomUUID().slice(0, 8)}`;
      const head = await h.store.headPosition();
      const attempt = h.store.appendBatch([
        { streamId: stream, events: [newEvent()], expectedRevision: 'no_stream' },
        { streamId: stream, events: [newEvent()], expectedRevision: 0 },
      ]);
      await expect(attempt).rejects.toBeInstanceOf(InvalidEventError);
      await expect(attempt).rejects.toMatchObject({ code: 'INVALID_EVENT' });
      expect(await revisionOf(h.store, stream)).toBeNull();
      expect(await h.store.headPosition()).toBe(head);
    });

    it('refuses an eventId already stored or given twice, with INVALID_EVENT, and writes nothing of that append', async () => {
      const tag = randomUUID().slice(0, 8);
      const [a, b] = [`declaration-10000000008-${tag}a`, `declaration-10000000008-${tag}b`];
      const first = newEvent();
      await h.store.append(a, [first], { expectedRevision: 'no_stream' });
      const head = await h.store.headPosition();
      // A client retrying an append whose answer it lost: the same event again.
      await expect(h.store.append(a, [{ ...first }], { expectedRevision: 'any' })).rejects.toBeInstanceOf(InvalidEventError);
      const twice = newEvent();
      await expect(h.store.append(b, [twice, { ...twice }], { expectedRevision: 'any' })).rejects.toMatchObject({ code: 'INVALID_EVENT' });
      const shared = newEvent();
      await expect(
        h.store.appendBatch([
          { streamId: a, events: [shared], expectedRevision: 'any' },
          { streamId: b, events: [{ ...shared }], expectedRevision: 'any' },
        ]),
      ).rejects.toBeInstanceOf(InvalidEventError);
      expect(await revisionOf(h.store, a)).toBe(0);
      expect(await revisionOf(h.store, b)).toBeNull();
      expect(await h.store.headPosition()).toBe(head);
    });

    it('answers 200 headPosition() calls in a row, then still reads and appends', async () => {
      const first = await h.store.append(`campaign-${randomUUID().slice(0, 8)}`, [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      const heads: bigint[] = [];
      for (let i = 0; i < 200; i += 1) heads.push(await h.store.headPosition());
      expect(new Set(heads)).toEqual(new Set([first.position]));
      const stream = `campaign-${randomUUID().slice(0, 8)}`;
      const next = await h.store.append(stream, [newEvent()], { expectedRevision: 'no_stream' });
      expect(await h.store.headPosition()).toBe(next.position);
      expect((await h.store.readStream(stream)).map((e) => e.position)).toEqual([next.position]);
    });

    it('reads only the asked types whole when fullTypes is given, the others as headers', async () => {
      const stream = `declaration-10000000008-${randomUUID().slice(0, 8)}`;
      const head = await h.store.headPosition();
      await h.store.append(stream, [newEvent(), newEvent({ type: 'MeasureRecorded' })], { expectedRevision: 'no_stream' });
      const whole = await h.store.readAll({ after: head, maxCount: 10 });
      const light = await h.store.readAll({ after: head, maxCount: 10, fullTypes: ['IndicatorDeclared'] });
      expect(light.map((e) => [e.position, e.eventId, e.type, e.hash, e.metadata.recordedAt])).toEqual(
        whole.map((e) => [e.position, e.eventId, e.type, e.hash, e.metadata.recordedAt]),
      );
      expect(light[0]).toEqual(whole[0]);
      if (h.store.kind !== 'eventstore') {
        expect(light[1]!.data).toBeNull();
        expect(light[1]!.metadata).toEqual({ recordedAt: whole[1]!.metadata.recordedAt, effectiveAt: whole[1]!.metadata.effectiveAt });
      }
    });

    it('reads only where the events are when placesOnly is given (a server-side copy needs its batch bounds)', async () => {
      const stream = `declaration-10000000008-${randomUUID().slice(0, 8)}`;
      const head = await h.store.headPosition();
      await h.store.append(stream, [newEvent(), newEvent({ type: 'MeasureRecorded' })], { expectedRevision: 'no_stream' });
      const whole = await h.store.readAll({ after: head, maxCount: 10 });
      const places = await h.store.readAll({ after: head, maxCount: 10, placesOnly: true });
      const place = (e: RecordedEvent) => [e.position, e.eventId, e.streamId, e.revision, e.type, e.schemaVersion];
      expect(places.map(place)).toEqual(whole.map(place));
      if (h.store.kind === 'eventstore') expect(places).toEqual(whole);
      else
        expect(places.map((e) => [e.data, e.metadata, e.prevHash, e.hash])).toEqual([
          [null, { recordedAt: '', effectiveAt: '' }, '', ''],
          [null, { recordedAt: '', effectiveAt: '' }, '', ''],
        ]);
      // The same through a subscription.
      const seen: RecordedEvent[] = [];
      const subscription = h.store.subscribeAll({ after: head, placesOnly: true }, async (batch) => {
        seen.push(...batch);
      });
      try {
        for (let i = 0; seen.length < 2 && i < 200; i += 1) await new Promise((r) => setTimeout(r, 25));
      } finally {
        await subscription.stop();
      }
      expect(seen.slice(0, 2).map(place)).toEqual(whole.map(place));
      if (h.store.kind !== 'eventstore') expect(seen.slice(0, 2)).toEqual(places);
    });

    it('writes nothing of a batch when one request is stale, where batches are atomic', async () => {
      const tag = randomUUID().slice(0, 8);
      const [a, b] = [`declaration-10000000008-${tag}a`, `declaration-10000000008-${tag}b`];
      await h.store.append(b, [newEvent()], { expectedRevision: 'no_stream' });
      const head = await h.store.headPosition();
      const attempt = h.store.appendBatch([
        { streamId: a, events: [newEvent()], expectedRevision: 'no_stream' },
        { streamId: b, events: [newEvent()], expectedRevision: 'no_stream' },
      ]);
      await expect(attempt).rejects.toBeInstanceOf(ConcurrencyError);
      if (h.store.atomicBatches) {
        expect(await revisionOf(h.store, a)).toBeNull();
        expect(await h.store.headPosition()).toBe(head);
      } else {
        // Per-stream atomicity only: the first request landed, the stale one did not.
        expect(await revisionOf(h.store, a)).toBe(0);
        expect(await revisionOf(h.store, b)).toBe(0);
      }
    });

    it('never lets recordedAt go backwards, even when the clock does', async () => {
      await h.store.append('campaign-2023', [newEvent()], { expectedRevision: 'any' });
      h.clock.set('2024-01-01T00:00:00.000Z');
      const later = await h.store.append('campaign-2023', [newEvent()], { expectedRevision: 'any' });
      expect(later.events[0]!.metadata.recordedAt >= T0).toBe(true);
      h.clock.set('2024-03-01T00:00:00.000Z');
      const after = await h.store.append('campaign-2024', [newEvent()], { expectedRevision: 'any' });
      expect(after.events[0]!.metadata.recordedAt).toBe('2024-03-01T00:00:00.000Z');
    });

    it('refuses an event over the size limit with a clear error and writes nothing of the append', async () => {
      const stream = `declaration-10000000008-${randomUUID().slice(0, 8)}`;
      const head = await h.store.headPosition();
      const huge = newEvent({ data: { blob: 'x'.repeat(2 * 1024 * 1024) } });
      const attempt = h.store.append(stream, [newEvent(), huge], { expectedRevision: 'any' });
      await expect(attempt).rejects.toBeInstanceOf(EventTooLargeError);
      await expect(attempt).rejects.toMatchObject({ code: 'EVENT_TOO_LARGE', limitBytes: 1024 * 1024 });
      await expect(attempt).rejects.toThrow(/over the store's limit of 1048576 bytes/);
      expect(await revisionOf(h.store, stream)).toBeNull();
      expect(await h.store.headPosition()).toBe(head);
    });

    it('refuses a malformed envelope with INVALID_EVENT and writes nothing', async () => {
      const head = await h.store.headPosition();
      await expect(h.store.append('no category', [newEvent()], { expectedRevision: 'any' })).rejects.toBeInstanceOf(InvalidEventError);
      const badInstant = newEvent();
      badInstant.metadata.effectiveAt = '2024-01-15 10:00';
      await expect(h.store.append('campaign-2023', [badInstant], { expectedRevision: 'any' })).rejects.toMatchObject({
        code: 'INVALID_EVENT',
      });
      const noActor = newEvent();
      (noActor.metadata as { actor?: unknown }).actor = undefined;
      await expect(h.store.append('campaign-2023', [noActor], { expectedRevision: 'any' })).rejects.toBeInstanceOf(InvalidEventError);
      expect(await h.store.headPosition()).toBe(head);
    });

    it('keeps global order gap-free under concurrent writers: a live subscriber sees every event once, in order', async () => {
      const collector = new Collector();
      subscribe(0n, collector, 17);
      const writers = 6;
      const appendsPerWriter = 15;
      const written: string[] = [];
      let last = 0n;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < appendsPerWriter; i += 1) {
            const batch = Array.from({ length: 1 + (i % 3) }, () => newEvent());
            // Writers 0 and 1 share a stream: their appends race on revisions and retry.
            const stream = w < 2 ? 'declaration-10000000008-2023' : `declaration-1000000${w}008-2023`;
            for (;;) {
              try {
                const r = await h.store.append(stream, batch, { expectedRevision: 'any' });
                written.push(...batch.map((e) => e.eventId));
                if (r.position > last) last = r.position;
                break;
              } catch (error) {
                if (!(error instanceof ConcurrencyError)) throw error;
              }
            }
          }
        }),
      );
      await collector.until(last);
      const all = await h.store.readAll({ maxCount: 10_000 });
      expect(all).toHaveLength(written.length);
      expect(collector.seen.map((e) => e.eventId)).toEqual(all.map((e) => e.eventId));
      expect(new Set(collector.seen.map((e) => e.eventId))).toEqual(new Set(written));
      for (let i = 1; i < collector.seen.length; i += 1) {
        expect(collector.seen[i]!.position > collector.seen[i - 1]!.position).toBe(true);
      }
      expect((await verifyIntegrity(h.store)).ok).toBe(true);
    });

    it('does not skip an event whose transaction started earlier but committed later', async () => {
      // The classic PostgreSQL event-store bug: positions taken from a sequence become visible
      // out of order, and a subscriber that has moved past a late commit never sees it.
      await h.close();
      let slowInside!: () => void;
      const slowIsInside = new Promise<void>((resolve) => (slowInside = resolve));
      let releaseSlow!: () => void;
      const slowMayCommit = new Promise<void>((resolve) => (releaseSlow = resolve));
      h = await target.open({
        beforeCommit: async (streamId) => {
          if (streamId.startsWith('slow-')) {
            slowInside();
            await slowMayCommit;
          }
        },
      });
      h.clock.set(T0);
      const collector = new Collector();
      subscribe(0n, collector, 1);
      await h.store.append('warmup-1', [newEvent()], { expectedRevision: 'any' });

      const slow = h.store.append('slow-1', [newEvent(), newEvent()], { expectedRevision: 'any' });
      if (target.supportsCommitHook) await slowIsInside;
      const fast = h.store.append('fast-1', [newEvent()], { expectedRevision: 'any' });
      // Let the fast writer try to commit while the slow one holds its transaction open.
      await new Promise((resolve) => setTimeout(resolve, 200));
      releaseSlow();
      const [s, f] = await Promise.all([slow, fast]);
      await collector.until(s.position > f.position ? s.position : f.position);
      const seen = collector.seen.map((e) => e.streamId);
      expect(seen.filter((x) => x === 'slow-1')).toHaveLength(2);
      expect(seen.filter((x) => x === 'fast-1')).toHaveLength(1);
      expect(collector.seen.map((e) => e.eventId)).toEqual((await h.store.readAll({ maxCount: 100 })).map((e) => e.eventId));
    });

    it('resumes a subscription from a stored checkpoint without repeating or skipping', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 8; i += 1) {
        const e = newEvent();
        ids.push(e.eventId);
        await h.store.append(`declaration-1000000000${i % 3}-2023`, [e], { expectedRevision: 'any' });
      }
      const firstRun = new Collector();
      const sub = subscribe(0n, firstRun, 3);
      const fifth = (await h.store.readAll({ maxCount: 5 }))[4]!.position;
      await firstRun.until(fifth);
      await sub.stop();
      const checkpoint = sub.position;
      expect(checkpoint >= fifth).toBe(true);
      const handled = firstRun.seen.filter((e) => e.position <= checkpoint).map((e) => e.eventId);

      for (let i = 0; i < 3; i += 1) {
        const e = newEvent();
        ids.push(e.eventId);
        await h.store.append('declaration-10000000009-2023', [e], { expectedRevision: 'any' });
      }
      const secondRun = new Collector();
      subscribe(checkpoint, secondRun, 4);
      await secondRun.until(await h.store.headPosition());
      expect([...handled, ...secondRun.seen.map((e) => e.eventId)]).toEqual(ids);
    });

    it('stops a subscription whose handler fails, reporting the error, at the last good checkpoint', async () => {
      await h.store.append('campaign-2023', [newEvent(), newEvent(), newEvent()], { expectedRevision: 'any' });
      let calls = 0;
      const sub = h.store.subscribeAll({ after: 0n, batchSize: 1 }, async () => {
        calls += 1;
        if (calls === 2) throw new Error('read model unavailable');
      });
      subscriptions.push(sub);
      await expect(sub.done).rejects.toThrow('read model unavailable');
      const all = await h.store.readAll({ maxCount: 10 });
      expect(sub.position).toBe(all[0]!.position);
    });

    it('chains hashes per stream, and the verifier names the first link broken behind its back', async () => {
      for (let i = 0; i < 4; i += 1) {
        await h.store.append('declaration-10000000008-2023', [newEvent()], { expectedRevision: 'any' });
        await h.store.append('doctor-10000000008', [newEvent()], { expectedRevision: 'any' });
      }
      const clean = await verifyIntegrity(h.store);
      expect(clean).toEqual({ ok: true, streams: 2, events: 8 });

      if (h.tamper) {
        const victim = (await h.store.readStream('declaration-10000000008-2023'))[2]!;
        await h.tamper(victim);
        const report = await verifyIntegrity(h.store);
        expect(report.ok).toBe(false);
        expect(report.firstBroken).toMatchObject({
          streamId: 'declaration-10000000008-2023',
          revision: 2,
          eventId: victim.eventId,
          reason: 'hash-mismatch',
        });
      } else {
        await h.forge!('declaration-10000000008-2023');
        const report = await verifyIntegrity(h.store);
        expect(report.ok).toBe(false);
        expect(report.firstBroken).toMatchObject({ streamId: 'declaration-10000000008-2023', revision: 4 });
      }
    });
  });
}
