/* eslint-disable @typescript-eslint/no-unnecessary-type-parameters -- query<R>() names the row type the caller's SQL selects, as pg's and PGlite's own query<R>() do: a declared cast, not an inferred type */
import type { PGlite } from '@electric-sql/pglite';
import { Client, Pool, type PoolClient, type PoolConfig } from 'pg';
import { backoffDelay } from '@forfait/platform';
import { StoreUnavailableError, isConnectionError, translateStoreError } from '../errors';

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
  /**
   * Session-level advisory locks held on a connection of their own (PostgreSQL), for work that one
   * process at a time may do. Absent on PGlite: one process owns the database, locks are moot.
   */
  sessionLocks?(): SessionLocks;
  close(): Promise<void>;
}

/** Named locks of one database session: another process' session cannot take them while it lives. */
export interface SessionLocks {
  /** Takes the lock if no other session holds it (true), or answers false at once. */
  tryAcquire(name: string): Promise<boolean>;
  release(name: string): Promise<void>;
  /** Called when the session is lost: every lock it held is released by the server. */
  onLost(listener: () => void): void;
  close(): Promise<void>;
}

/**
 * Bounds on waiting for PostgreSQL, so that an outage answers an error rather than hanging: a
 * connection within `connectionTimeoutMillis`, a statement within `statement_timeout` (the server
 * cancels it) and, should the server not even say so, `query_timeout` on the client.
 */
export const PG_DEFAULTS = { keepAlive: true, connectionTimeoutMillis: 5_000, statement_timeout: 60_000, query_timeout: 65_000 } as const satisfies PoolConfig;

/**
 * `pg` behind the SqlDatabase port. Connection-class failures are translated here, once, into
 * StoreUnavailableError; the pool drops broken connections and opens new ones on demand, and the
 * LISTEN connection reconnects by itself (PgListener), so nothing above needs to know.
 */
export class PgDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  readonly pool: Pool;
  private readonly config: PoolConfig;
  private readonly listeners = new Set<PgListener>();
  private readonly locks = new Set<PgSessionLocks>();
  private closed = false;

  constructor(config: PoolConfig | string) {
    this.config = { ...PG_DEFAULTS, ...(typeof config === 'string' ? { connectionString: config } : config) };
    this.pool = new Pool(this.config);
    // An idle client's error (server restart) must not crash the process; the pool drops that
    // client and the next query opens a new connection (or reports STORE_UNAVAILABLE).
    this.pool.on('error', () => undefined);
    // Between the pool handing a client out (it removes its idle listener) and checkOut adding its
    // own, a message already read from the socket (57P01 right after ReadyForQuery, in one chunk)
    // is emitted with no listener at all. Each client keeps this one for life; the client is then
    // no longer queryable, its next query fails as a connection error and the pool drops it.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
    const { client, onError, broken } = await this.checkOut();
    try {
      const result = await client.query(text, params as unknown[]);
      return { rows: result.rows as R[] };
    } catch (error) {
      if (isConnectionError(error)) broken.error ??= error as Error;
      throw translateStoreError(error, 'query');
    } finally {
      client.off('error', onError);
      // A broken connection is destroyed, not handed to the next caller.
      client.release(broken.error);
    }
  }

  /**
   * A client of the pool, with an error listener while it is checked out: the pool has one only
   * on idle clients, and without one the server ending the connection mid-query is an unhandled
   * 'error' event that kills the process (the failure reaches the caller through the query anyway).
   */
  private async checkOut(): Promise<{ client: PoolClient; onError: (error: Error) => void; broken: { error?: Error } }> {
    // A handler outliving the shutdown's grace period meets a closed store, not a crash.
    if (this.closed) throw new StoreUnavailableError(new Error('the pool is closed: the process is stopping'), 'connect');
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translateStoreError(error, 'connect');
    }
    const broken: { error?: Error } = {};
    const onError = (error: Error) => (broken.error ??= error);
    client.on('error', onError);
    return { client, onError, broken };
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const { client, onError, broken: b } = await this.checkOut();
    let broken: Error | undefined;
    let committing = false;
    try {
      await client.query('BEGIN');
      const tx: SqlExecutor = {
        query: async <R>(text: string, params?: unknown[]) => {
          try {
            return { rows: (await client.query(text, params as unknown[])).rows as R[] };
          } catch (error) {
            if (isConnectionError(error)) broken ??= error as Error;
            throw error;
          }
        },
      };
      const result = await fn(tx);
      committing = true;
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (isConnectionError(error)) broken ??= error as Error;
      broken ??= b.error;
      if (!broken) await client.query('ROLLBACK').catch(() => undefined);
      // Lost during COMMIT: it may have committed. Callers keep that safe (see StoreUnavailableError).
      throw translateStoreError(error, committing ? 'commit' : 'query');
    } finally {
      client.off('error', onError);
      client.release(broken ?? b.error);
    }
  }

  async listen(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>> {
    const l = new PgListener(() => new Client(this.config), channel, listener);
    this.listeners.add(l);
    await l.start();
    return async () => {
      this.listeners.delete(l);
      await l.stop();
    };
  }

  sessionLocks(): SessionLocks {
    const locks = new PgSessionLocks(() => new Client(this.config));
    this.locks.add(locks);
    return locks;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.locks].map((l) => l.close()));
    await Promise.all([...this.listeners].map((l) => l.stop()));
    this.listeners.clear();
    await this.pool.end();
  }
}

/**
 * `pg_try_advisory_lock` on a connection of its own (a pool's would hand it out or drop it). A lock
 * lives as long as that session: when the process dies, the server ends the session and releases
 * it, and another process takes it over. Losing the connection here loses every lock: the holder is
 * told (`onLost`) and must stop the work they guarded.
 */
class PgSessionLocks implements SessionLocks {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private readonly held = new Set<string>();
  private readonly lost: (() => void)[] = [];
  private closed = false;
  /** One query at a time on the session (pg deprecates queueing on a busy client). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly connect: () => Client) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private session(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = this.connect();
      const drop = () => {
        if (this.client !== client) return;
        this.client = undefined;
        const hadLocks = this.held.size > 0;
        this.held.clear();
        client.end().catch(() => undefined);
        if (hadLocks && !this.closed) for (const l of this.lost) l();
      };
      client.on('error', drop);
      client.on('end', drop);
      try {
        await client.connect();
      } catch (error) {
        client.end().catch(() => undefined);
        throw translateStoreError(error, 'connect');
      }
      this.client = client;
      return client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async tryAcquire(name: string): Promise<boolean> {
    if (this.closed) throw new StoreUnavailableError(new Error('the locks are closed: the process is stopping'), 'connect');
    if (this.held.has(name)) return true;
    const client = await this.session();
    try {
      const { rows } = await this.serial(() => client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [name]));
      if (rows[0]?.ok) this.held.add(name);
      return rows[0]?.ok === true;
    } catch (error) {
      throw translateStoreError(error, 'query');
    }
  }

  async release(name: string): Promise<void> {
    const client = this.client;
    if (!this.held.delete(name) || !client) return;
    await this.serial(() => client.query('SELECT pg_advisory_unlock(hashtext($1))', [name])).catch(() => undefined);
  }

  onLost(listener: () => void): void {
    this.lost.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    this.held.clear();
    await client?.end().catch(() => undefined);
  }
}

/**
 * One LISTEN connection of its own (not a pool's: the pool would hand it out or drop it). When the
 * connection is lost it reconnects with backoff and LISTENs again; notifications sent meanwhile
 * are lost, so every (re)connection calls the listener once, for the readers to look again.
 */
class PgListener {
  private client: Client | undefined;
  private readonly lost = new WeakSet<Client>();
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly connect: () => Client,
    private readonly channel: string,
    private readonly listener: (payload: string) => void,
  ) {}

  /** Resolves after the first attempt, connected or not: a failed one is retried in the background. */
  async start(): Promise<void> {
    if (this.stopped) return;
    const client = this.connect();
    client.on('error', () => this.onLost(client));
    client.on('end', () => this.onLost(client));
    client.on('notification', (msg: { channel: string; payload?: string }) => {
      if (msg.channel === this.channel) this.listener(msg.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    } catch {
      this.onLost(client);
      return;
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run while connect() awaited
    if (this.stopped || this.lost.has(client)) return void client.end().catch(() => undefined);
    this.client = client;
    this.attempt = 0;
    this.listener('');
  }

  private onLost(client: Client): void {
    if (this.lost.has(client)) return;
    this.lost.add(client);
    if (this.client === client) this.client = undefined;
    client.end().catch(() => undefined);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.start(), backoffDelay(this.attempt++, { baseMs: 200, capMs: 5_000 }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      this.lost.add(client);
      await client.end().catch(() => undefined);
    }
  }
}

/** How often the embedded database looks for tables that have grown since they were last vacuumed (PGliteDatabase.maintain). */
export const PGLITE_MAINTENANCE_INTERVAL_MS = 5_000;

/** PGlite runs in this process with one connection: there is no other connection to notify. */
export class PGliteDatabase implements SqlDatabase {
  readonly dialect = 'pglite' as const;
  private readonly maintenance: NodeJS.Timeout | undefined;
  /** The maintenance run on its way: one at a time, and close() waits for it. */
  private maintaining: Promise<string[]> | undefined;

  /**
   * `maintenanceIntervalMs`: how often to run maintain() (null: never; a test's short-lived
   * database, or a caller that runs it itself).
   */
  constructor(
    readonly db: PGlite,
    { maintenanceIntervalMs = PGLITE_MAINTENANCE_INTERVAL_MS }: { maintenanceIntervalMs?: number | null } = {},
  ) {
    if (maintenanceIntervalMs !== null) {
      this.maintenance = setInterval(() => void this.maintain().catch(() => undefined), maintenanceIntervalMs);
      this.maintenance.unref();
    }
  }

  static async open(dataDir?: string, options?: { maintenanceIntervalMs?: number | null }): Promise<PGliteDatabase> {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
    return new PGliteDatabase(db, options);
  }

  /**
   * What autovacuum does on a PostgreSQL server, which PGlite has not (one backend, no launcher,
   * and its activity counters are not kept). Without it the planner keeps the plans it made on
   * near-empty tables: 200 single-event appends to the embedded store took 2.1 s at 30 000 events,
   * 0.28 s once its tables were vacuumed, 0.18 s once analysed too (issue 14).
   * - Every table grown by a fifth (and ten pages) since it was last vacuumed is vacuumed: its
   *   size is recorded and the plans made on it are made again (about 30 ms at 30 000 events;
   *   an append-only table's pages already seen are skipped).
   * - Its statistics are taken again when its size in pages has crossed a power of two since it
   *   was last vacuumed (so about each doubling; or when they never were), from a sample of
   *   3 000 rows (statistics target 10: about 120 ms however large the table; the default,
   *   30 000 rows, took a second).
   * It runs between the others' queries (PGlite takes one at a time; VACUUM cannot run in a
   * transaction), and answers the tables it vacuumed. A call while a run is on its way answers
   * that run (a run may outlast the interval).
   */
  maintain(): Promise<string[]> {
    this.maintaining ??= this.vacuumGrown().finally(() => (this.maintaining = undefined));
    return this.maintaining;
  }

  private async vacuumGrown(): Promise<string[]> {
    if (this.db.closed) return [];
    const { rows } = await this.db.query<{ t: string; relpages: number; reltuples: number; pages: number }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS t, c.relpages, c.reltuples::float8 AS reltuples,
              (pg_relation_size(c.oid) / current_setting('block_size')::integer)::integer AS pages
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
         AND pg_relation_size(c.oid) / current_setting('block_size')::integer > 10 + 1.2 * greatest(c.relpages, 0)`,
    );
    // close() waits for this run before it closes the database.
    for (const { t, relpages, reltuples, pages } of rows) {
      await this.db.exec(`VACUUM ${t}`);
      if (reltuples < 0 || Math.floor(Math.log2(pages)) > Math.floor(Math.log2(Math.max(1, relpages)))) {
        await this.db.transaction(async (tx) => {
          await tx.exec('SET LOCAL default_statistics_target = 10');
          await tx.exec(`ANALYZE ${t}`);
        });
      }
    }
    return rows.map((r) => r.t);
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

  listen(): Promise<() => Promise<void>> {
    // Writers in this process signal their readers directly (see SqlEventStore); nothing to listen to.
    return Promise.resolve(() => Promise.resolve());
  }

  async close(): Promise<void> {
    clearInterval(this.maintenance);
    await this.maintaining?.catch(() => undefined);
    if (!this.db.closed) await this.db.close();
  }
}

/**
 * A timestamptz column as the ISO 8601 text of JavaScript's `toISOString()` (UTC, milliseconds),
 * made by the server: a reader compares and passes instants as that text, with no `Date` per row.
 */
export function isoOf(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Schema names come from configuration; only plain identifiers are accepted. */
export function assertSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid SQL schema name "${schema}"`);
  return schema;
}

/**
 * Statements that turn these columns from bigint into numeric where they still are bigint (tables
 * made before store positions were numeric: EventStoreDB's, commit · 2^64 + prepare, are past a
 * bigint); where they already are numeric nothing runs, so a start takes no table lock.
 */
export function widenToNumeric(schema: string, columns: readonly (readonly [table: string, column: string])[]): string[] {
  const name = assertSchemaName(schema);
  return columns.map(([table, column]) => {
    assertSchemaName(table);
    assertSchemaName(column);
    return `DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = '${name}' AND table_name = '${table}' AND column_name = '${column}' AND data_type = 'bigint') THEN
        ALTER TABLE ${quoteIdent(name)}.${quoteIdent(table)} ALTER COLUMN ${quoteIdent(column)} TYPE numeric;
      END IF;
    END $$`;
  });
}
