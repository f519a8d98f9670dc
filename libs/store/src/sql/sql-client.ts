import type { PGlite } from '@electric-sql/pglite';
import { Pool, type PoolClient, type PoolConfig } from 'pg';

export interface SqlExecutor {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The little the event store and the read models need from a SQL database, so that the same SQL
 * runs on PostgreSQL (`pg`) and on PGlite (embedded).
 */
export interface SqlDatabase extends SqlExecutor {
  readonly dialect: 'postgres' | 'pglite';
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Calls `listener` when another connection (or this process) notifies `channel`. */
  listen(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class PgDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  readonly pool: Pool;

  constructor(config: PoolConfig | string) {
    this.pool = new Pool(typeof config === 'string' ? { connectionString: config } : config);
    // An idle client's error (server restart) must not crash the process; the next query reports it.
    this.pool.on('error', () => undefined);
  }

  async query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
    const result = await this.pool.query(text, params as unknown[]);
    return { rows: result.rows as R[] };
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const tx: SqlExecutor = {
        query: async <R>(text: string, params?: unknown[]) => ({
          rows: (await client.query(text, params as unknown[])).rows as R[],
        }),
      };
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async listen(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>> {
    const client = await this.pool.connect();
    const onNotification = (msg: { channel: string; payload?: string }) => {
      if (msg.channel === channel) listener(msg.payload ?? '');
    };
    client.on('notification', onNotification);
    await client.query(`LISTEN ${quoteIdent(channel)}`);
    return async () => {
      client.off('notification', onNotification);
      await client.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => undefined);
      client.release();
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** PGlite runs in this process with one connection: there is no other connection to notify. */
export class PGliteDatabase implements SqlDatabase {
  readonly dialect = 'pglite' as const;

  constructor(readonly db: PGlite) {}

  static async open(dataDir?: string): Promise<PGliteDatabase> {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
    return new PGliteDatabase(db);
  }

  async query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
    const result = await this.db.query<R>(text, params as unknown[]);
    return { rows: result.rows };
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) =>
      fn({ query: async <R>(text: string, params?: unknown[]) => ({ rows: (await tx.query<R>(text, params as unknown[])).rows }) }),
    );
  }

  async listen(): Promise<() => Promise<void>> {
    // Writers in this process signal their readers directly (see SqlEventStore); nothing to listen to.
    return async () => undefined;
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Schema names come from configuration; only plain identifiers are accepted. */
export function assertSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid SQL schema name "${schema}"`);
  return schema;
}
