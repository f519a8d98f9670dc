import { PGlite } from '@electric-sql/pglite';
import { ManualClock } from '@forfait/platform';
import { PGliteDatabase, SqlEventStore, verifyIntegrity } from '@forfait/store';
import { StoreNotEmptyError, writeGenerated } from './write';

async function generated(doctors: number) {
  const db = new PGliteDatabase(new PGlite());
  const clock = new ManualClock('2023-01-01T00:00:00Z');
  const store = await SqlEventStore.open({ db, clock });
  const result = await writeGenerated(store, clock, { doctors, seed: 'int', years: [2023], chunk: 500 });
  return { db, clock, store, result };
}

describe('writeGenerated on the embedded store (issue 7)', () => {
  it('writes the same store twice, hashes included, recorded when each thing happened, and refuses a store that is not empty', async () => {
    const a = await generated(25);
    const b = await generated(25);
    try {
      const all = async (s: SqlEventStore) => s.readAll({ maxCount: 100_000 });
      const [ea, eb] = [await all(a.store), await all(b.store)];
      expect(ea.length).toBe(a.result.events);
      expect(ea.map((e) => [e.position, e.eventId, e.hash, e.metadata.recordedAt])).toEqual(
        eb.map((e) => [e.position, e.eventId, e.hash, e.metadata.recordedAt]),
      );
      expect((await verifyIntegrity(a.store)).ok).toBe(true);

      // Recorded at their own instants (to the hour): profiles in January 2023, the measures extract in January 2024.
      const recorded = (type: string) => ea.filter((e) => e.type === type).map((e) => e.metadata.recordedAt);
      expect(recorded('DoctorProfileRecorded').every((t) => t.startsWith('2023-01-02'))).toBe(true);
      expect(recorded('MeasureRecorded').filter((t) => t.startsWith('2024-01-1')).length).toBeGreaterThan(0);
      expect(recorded('MeasureRecorded').filter((t) => t.startsWith('2023-12-15')).length).toBeGreaterThan(0);
      const times = ea.map((e) => e.metadata.recordedAt);
      expect([...times].sort()).toEqual(times);

      await expect(writeGenerated(a.store, a.clock, { doctors: 1, seed: 'int', years: [2023] })).rejects.toBeInstanceOf(StoreNotEmptyError);
      expect((await all(a.store)).length).toBe(ea.length);
    } finally {
      for (const s of [a, b]) {
        await s.store.close();
        await s.db.close();
      }
    }
  });
});
