import { ManualClock } from '@forfait/platform';
import { PROJECTIONS, ProjectionRunner } from '@forfait/read-models';
import { SqlEventStore, quoteIdent, type SqlDatabase } from '@forfait/store';

/** The read models' content, table by table, in a stable order (to compare live with rebuilt). */
export async function dumpReadModels(db: SqlDatabase, schema: string) {
  const q = async (sql: string) => (await db.query(sql.replaceAll('$S', quoteIdent(schema)))).rows;
  return {
    audit: await q('SELECT position::text, event_id, type, hash FROM $S.audit_trail ORDER BY position'),
    doctors: await q('SELECT rpps, specialty, caisse FROM $S.doctors ORDER BY rpps'),
    years: await q('SELECT rpps, year FROM $S.doctor_years ORDER BY year, rpps'),
    justificatifs: await q('SELECT id, status FROM $S.justificatifs ORDER BY id'),
    entitlements: await q('SELECT rpps, year, view FROM $S.entitlements ORDER BY year, rpps'),
  };
}

/** Read models built from zero into `into`, from the events of the store in `schema`. */
export async function rebuildReadModels(db: SqlDatabase, schema: string, into: string): Promise<void> {
  const store = await SqlEventStore.open({ db, clock: new ManualClock('2024-01-20T10:00:00Z'), schema, ownsDatabase: false });
  const runner = new ProjectionRunner(store, db, PROJECTIONS, into, { batchSize: 1000 });
  await runner.start();
  await runner.waitFor(await store.headPosition(), 60_000);
  await runner.stop();
  await store.close();
}
