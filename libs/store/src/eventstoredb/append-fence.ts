import { Pool, type PoolClient, type PoolConfig } from 'pg';
import { StoreUnavailableError } from '../errors';
import { PG_DEFAULTS } from '../sql/sql-client';

/**
 * What makes an EventStoreDB append one step with the read that chose its `recordedAt`, across
 * every process that writes to the same server (issue 17, point 8). EventStoreDB has no lock
 * across streams: without one, two appends to different streams that overlap can commit in the
 * other order than they read `$all`, and `recordedAt` then steps back along `$all`.
 */
export interface AppendFence {
  /**
   * Runs `fn` while no other holder of the fence, in this process or another, runs. `stillHeld()`
   * throws StoreUnavailableError if the fence was lost since it was taken (the connection that
   * holds it ended): called just before the append is sent, so that nothing is written unfenced.
   * A failure to take the fence is StoreUnavailableError (phase `connect`: nothing was written).
   */
  hold<T>(fn: (stillHeld: () => void) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface PgAppendFenceOptions {
  /** The primary read-model database (DATABASE_URL), never a standby: advisory locks live there. */
  database: PoolConfig | string;
  /** The advisory lock's name: the same for every process that appends to the same EventStoreDB. */
  lockName?: string;
  /**
   * How long an append may wait for the fence (behind this process' other appends, then for the
   * lock, and for PostgreSQL to answer) before it answers STORE_UNAVAILABLE; by default 10 s, the
   * EventStoreDB client's default deadline.
   */
  waitMs?: number;
  /**
   * A holder that says nothing for this long (a process frozen while its connection stays up) has
   * its session ended by PostgreSQL, which releases the lock; 60 s by default, well over the
   * deadlines that bound an append's reads and its write.
   */
  idleHoldMs?: number;
}

export const DEFAULT_FENCE_LOCK = 'forfait-esdb-append';
export const DEFAULT_FENCE_WAIT_MS = 10_000;
/** What a COMMIT or ROLLBACK that releases the lock may take before the connection is dropped instead. */
const RELEASE_WAIT_MS = 2_000;

/**
 * The fence as a PostgreSQL advisory lock in the read-model database, which every EventStoreDB
 * deployment has: `pg_advisory_xact_lock` in a transaction of a small pool of its own (not the
 * read models', so that a busy projector does not hold appends up). The transaction ends when the
 * append is done, whether it committed or threw, and a connection that ends (the process died, the
 * network failed, `idle_in_transaction_session_timeout`) ends it too: the server releases the lock
 * and the next writer takes it. Appends of one process go one at a time to the lock (one
 * connection waits, not the whole pool).
 *
 * Every wait is bounded by `waitMs`: this process' queue, the connection, the lock itself
 * (`lock_timeout` on the server) and the server's answer (`query_timeout` on the client, for a
 * network that stops answering); past it the append answers STORE_UNAVAILABLE and writes nothing.
 */
export class PgAppendFence implements AppendFence {
  private readonly pool: Pool;
  private readonly lockName: string;
  private readonly waitMs: number;
  /** This process' last holder: the next one waits for it to finish. */
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: PgAppendFenceOptions) {
    const config = typeof options.database === 'string' ? { connectionString: options.database } : options.database;
    this.lockName = options.lockName ?? DEFAULT_FENCE_LOCK;
    this.waitMs = options.waitMs ?? DEFAULT_FENCE_WAIT_MS;
    this.pool = new Pool({
      ...PG_DEFAULTS,
      application_name: 'forfait-append-fence',
      ...config,
      max: 2,
      connectionTimeoutMillis: this.waitMs,
      lock_timeout: this.waitMs,
      statement_timeout: this.waitMs + RELEASE_WAIT_MS,
      query_timeout: this.waitMs + RELEASE_WAIT_MS,
      idle_in_transaction_session_timeout: options.idleHoldMs ?? 60_000,
    });
    // An idle connection that the server ends must not crash the process; the pool drops it.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async hold<T>(fn: (stillHeld: () => void) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(new Error('the append fence is closed: the process is stopping'), 'connect');
    const deadline = Date.now() + this.waitMs;
    const previous = this.tail;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.tail = mine;
    if (!(await settlesWithin(previous, this.waitMs))) {
      // This one gives up its turn: the next one still waits for the one before.
      void previous.then(done);
      throw new StoreUnavailableError(new Error(`the append fence was busy in this process for ${this.waitMs} ms`), 'connect');
    }
    try {
      return await this.holdLock(fn, deadline);
    } finally {
      done();
    }
  }

  private async holdLock<T>(fn: (stillHeld: () => void) => Promise<T>, deadline: number): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new StoreUnavailableError(error, 'connect');
    }
    let lost: Error | undefined;
    const onLost = (error?: Error) => (lost ??= error ?? new Error('the connection holding the append fence ended'));
    client.on('error', onLost);
    client.on('end', onLost);
    const finish = async (statement: 'COMMIT') => {
      // The lock goes with the transaction, or with the connection if the transaction cannot end.
      let failed: Error | undefined = lost;
      if (!failed) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            client.query(statement),
            new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${statement} took over ${RELEASE_WAIT_MS} ms`)), RELEASE_WAIT_MS))),
          ]);
        } catch (error) {
          failed = error as Error;
        } finally {
          clearTimeout(timer);
        }
      }
      client.off('end', onLost);
      client.off('error', onLost);
      client.release(failed ?? lost);
    };
    try {
      await client.query('BEGIN');
      const remaining = Math.max(1, deadline - Date.now());
      await client.query(`SET LOCAL lock_timeout = ${String(remaining)}`);
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.lockName]);
    } catch (error) {
      // Dropped rather than rolled back: a connection that stopped answering would hold the answer
      // up again; the server ends the transaction (and any lock) with the session.
      client.off('end', onLost);
      client.off('error', onLost);
      client.release(error instanceof Error ? error : new Error(String(error)));
      // 55P03: lock_timeout, another process held the fence all along.
      const busy = (error as { code?: unknown }).code === '55P03';
      throw new StoreUnavailableError(
        busy ? new Error(`the append fence was held by another process for ${this.waitMs} ms`, { cause: error }) : error,
        'connect',
      );
    }
    const stillHeld = () => {
      if (lost) throw new StoreUnavailableError(lost, 'connect');
    };
    try {
      return await fn(stillHeld);
    } finally {
      // Whatever fn did (an append that committed stays committed), the release cannot fail it.
      await finish('COMMIT');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
