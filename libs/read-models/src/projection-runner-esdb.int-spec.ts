import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import type { RecordedEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { EsdbEventStore, PGliteDatabase, quoteIdent } from '@forfait/store';
import { newEvent } from '../../store/src/testing/event-store.contract';
import { EsdbStandIn } from '../../store/src/testing/esdb-stand-in';
import type { Projection } from './projection';
import { ProjectionRunner } from './projection-runner';
import { rebuildProjections } from './rebuild';
import { auditTrailProjection } from './projections/audit-trail.projection';

/**
 * The projector and a rebuild on the EventStoreDB adapter (issue 17, points 3 and 12), through the
 * stand-in client (no server runs here), read models on PGlite: positions are EventStoreDB's
 * (commit · 2^64 + prepare, beyond a bigint), $all holds system events the server filters out,
 * and a subscription ends only when unsubscribed.
 */
const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
let n = 0;

describe('projection runner and rebuild on the EventStoreDB adapter (stand-in server)', () => {
  let db: PGliteDatabase;
  let standIn: EsdbStandIn;
  let store: EsdbEventStore;
  let schema: string;
  beforeAll(async () => {
    db = new PGliteDatabase(await PGlite.create());
  });
  afterAll(() => db.close());
  beforeEach(() => {
    standIn = new EsdbStandIn();
    store = new EsdbEventStore({ connectionString: 'esdb://stand-in', clock: new ManualClock('2024-01-15T09:00:00Z'), client: standIn });
    schema = `rm_esdb_${runId}_${String((n += 1))}`;
  });
  afterEach(async () => {
    await store.close();
    await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  });

  const appendSome = async (count: number) => {
    let last = 0n;
    for (let i = 0; i < count; i += 1) {
      const stream = i % 3 === 0 ? 'campaign-2023' : i % 3 === 1 ? 'doctor-10000000009' : 'declaration-10000000009-2023';
      last = (await store.append(stream, [newEvent()], { expectedRevision: 'any' })).position;
      // The server's own events between them (statistics, links of its projections).
      standIn.put('$stats-127.0.0.1:2113', '$statsCollected');
    }
    return last;
  };
  const trail = async (s = schema) =>
    (
      await db.query<{ position: string; event_id: string }>(
        `SELECT a.position::text AS position, a.event_id FROM ${quoteIdent(s)}.audit_trail a ORDER BY a.position`,
      )
    ).rows;

  it('projects in batches, then a rebuild from zero swaps in the same rows', async () => {
    await appendSome(7);
    const batches: number[] = [];
    const counting: Projection = {
      ...auditTrailProjection,
      async apply(tx, s, events: RecordedEvent[], context) {
        if (s === schema) batches.push(events.length);
        await auditTrailProjection.apply(tx, s, events, context);
      },
    };
    const live = new ProjectionRunner(store, db, [counting], schema, { batchSize: 3 });
    await live.start();
    const last = await appendSome(2);
    await live.waitFor(last);
    const before = await trail();
    expect(before.map((r) => r.event_id)).toEqual((await store.readAll({ after: 0n, maxCount: 100 })).map((e) => e.eventId));
    expect(before).toHaveLength(9);
    // Positions past a bigint, kept whole.
    expect(BigInt(before.at(-1)!.position)).toBe(last);
    expect(last > 2n ** 63n).toBe(true);
    // The 7 events there at start came in full batches, not one transaction per event.
    expect(batches.slice(0, 3)).toEqual([3, 3, 1]);
    const bound = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the rebuild neither finished nor failed within 20 s')), 20_000).unref());
    const done = await Promise.race([
      rebuildProjections({ store, readDb: db, readModelSchema: schema, projector: live, batchSize: 4 }, ['audit_trail']),
      bound,
    ]);
    expect(BigInt(done.position)).toBe(last);
    expect(await trail()).toEqual(before);
    await live.stop();
    expect(standIn.openSubscriptions).toBe(0);
    expect(standIn.openCalls).toBe(0);
  });

  it('stops a rebuild whose builder fails, with its error, instead of spinning, and ends its subscription', async () => {
    await appendSome(6);
    const fourth = (await store.readAll({ after: 0n, maxCount: 100 }))[3]!.position;
    const brittle: Projection = {
      ...auditTrailProjection,
      async apply(tx, s, events: RecordedEvent[], context) {
        if (s !== schema && events.some((e) => e.position === fourth)) throw new Error('cannot rebuild the 4th event');
        await auditTrailProjection.apply(tx, s, events, context);
      },
    };
    const live = new ProjectionRunner(store, db, [brittle], schema, { batchSize: 2 });
    await live.start();
    await live.waitFor(await store.headPosition());
    const outcome = rebuildProjections({ store, readDb: db, readModelSchema: schema, projector: live, batchSize: 2 }, ['audit_trail']);
    const bound = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the rebuild neither finished nor failed within 20 s')), 20_000).unref());
    await expect(Promise.race([outcome, bound])).rejects.toThrow('cannot rebuild the 4th event');
    // The live projection still serves, complete; only its own subscription is left open.
    expect(await trail()).toHaveLength(6);
    expect(standIn.openSubscriptions).toBe(1);
    await live.stop();
    expect(standIn.openSubscriptions).toBe(0);
  });
});
