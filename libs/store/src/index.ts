import { resolve } from 'node:path';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Clock } from '@forfait/platform';
import { PgAppendFence } from './eventstoredb/append-fence';
import { EsdbEventStore } from './eventstoredb/esdb-event-store';
import type { EventStore } from './port';
import { PGliteDatabase, PgDatabase, type SqlDatabase } from './sql/sql-client';
import { SqlEventStore } from './sql/sql-event-store';

export * from './port';
export * from './errors';
export * from './integrity';
export * from './sql/sql-client';
export * from './sql/sql-event-store';
export * from './sql/event-store.schema';
export { EsdbEventStore, encodePosition, decodePosition } from './eventstoredb/esdb-event-store';
export { PgAppendFence, DEFAULT_FENCE_LOCK, type AppendFence, type PgAppendFenceOptions } from './eventstoredb/append-fence';

export class EmbeddedStoreBusyError extends Error {
  readonly code = 'EMBEDDED_STORE_BUSY';
}

/**
 * Opens the embedded database: PGlite files under `<dataDir>/pglite`. PGlite is one process's
 * database: a lock file with the owner's pid refuses a second process (the CLI while `npm start`
 * runs), and a lock left by a dead process is taken over.
 */
export async function openEmbeddedDatabase(dataDir: string): Promise<PGliteDatabase> {
  const dir = resolve(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const owner = Number(readFileSync(lock, 'utf8').trim());
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new EmbeddedStoreBusyError(`the embedded store under ${dir} is in use by process ${owner} (npm start?): stop it, or go through its HTTP API`);
      }
      rmSync(lock, { force: true });
    }
  }
  try {
    const db = await PGliteDatabase.open(dir);
    const close = db.close.bind(db);
    db.close = async () => {
      await close();
      rmSync(lock, { force: true });
    };
    return db;
  } catch (error) {
    rmSync(lock, { force: true });
    throw error;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StoreSettings {
  store: 'embedded' | 'postgres' | 'eventstore';
  dataDir: string;
  databaseUrl?: string;
  databaseSchema: string;
  eventstoreConnectionString?: string;
  clock: Clock;
}

/**
 * The event store and the SQL database of the read models for a configuration. Embedded: both in
 * one PGlite under DATA_DIR. postgres: both in DATABASE_URL. eventstore: events in EventStoreDB,
 * read models in DATABASE_URL.
 */
export async function openStores(settings: StoreSettings): Promise<{ store: EventStore; readDb: SqlDatabase }> {
  switch (settings.store) {
    case 'embedded': {
      const db = await openEmbeddedDatabase(settings.dataDir);
      const store = await SqlEventStore.open({ db, clock: settings.clock, schema: settings.databaseSchema, ownsDatabase: false });
      return { store, readDb: db };
    }
    case 'postgres': {
      const db = new PgDatabase(requireSetting(settings.databaseUrl, 'DATABASE_URL'));
      const store = await SqlEventStore.open({ db, clock: settings.clock, schema: settings.databaseSchema, ownsDatabase: false });
      return { store, readDb: db };
    }
    case 'eventstore': {
      const databaseUrl = requireSetting(settings.databaseUrl, 'DATABASE_URL');
      const store = new EsdbEventStore({
        connectionString: requireSetting(settings.eventstoreConnectionString, 'EVENTSTORE_CONNECTION_STRING'),
        clock: settings.clock,
        // recordedAt never backwards along $all across the instances (issue 17, point 8): an
        // advisory lock in the read-model database (the primary, never READ_DATABASE_URL).
        fence: new PgAppendFence({ database: databaseUrl }),
      });
      return { store, readDb: new PgDatabase(databaseUrl) };
    }
  }
}

function requireSetting(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is required for this STORE`);
  return value;
}

export * from './tlog/merkle';
export * from './tlog/note';
export * from './tlog/log';
export * from './tlog/log-integrity';
export * from './tlog/witness';
export * from './tlog/checkpoint-dir';
