import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlowProducer, Queue, Worker, type Processor, type WorkerOptions } from 'bullmq';
import Redis from 'ioredis';

/** The file of an embedded data dir holding its store's id (the jobs' namespace). */
export const STORE_ID_FILE = 'store-id';

/** The embedded store's id, created once (a random UUID) and kept in its data dir. */
export function storeIdOf(dataDir: string, options: { create?: boolean } = {}): string {
  const file = join(dataDir, STORE_ID_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const id = randomUUID();
  if (options.create === false) return id;
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(file, `${id}\n`, { flag: 'wx' });
    return id;
  } catch {
    return readFileSync(file, 'utf8').trim();
  }
}

/**
 * What ioredis says when Redis did not answer a command although the connection looked ready (an
 * event loop or a server stalled past `commandTimeout`, a socket closing under the command): Redis
 * unavailable for that call, not a fault of the caller. The reconciler's sweep re-enqueues the work.
 */
const REDIS_FAILURES = [
  /Command timed out/i,
  /Connection is closed/i,
  /Stream isn't writeable/i,
  /MaxRetriesPerRequest/i,
  /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE/,
];
export function isRedisFailure(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return REDIS_FAILURES.some((m) => m.test(message));
}

/** The queues of the system (architecture.md, "Jobs"). */
export const QUEUES = {
  deadlines: 'campaign-deadlines',
  calculations: 'yearly-calculations',
  imports: 'measure-imports',
  rebuilds: 'projection-rebuilds',
  integrity: 'integrity-checks',
} as const;
/** The full recomputation of every chain and of the tree (QUEUES.integrity; `cli verify --job`). */
export const FULL_VERIFICATION_JOB = 'full-verification';
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Redis is not answering: the caller says jobs are unavailable (api.md, 503 `JOBS_UNAVAILABLE`). */
export class JobsUnavailableError extends Error {
  readonly code = 'JOBS_UNAVAILABLE';
  constructor(
    message: string,
    /**
     * The call was sent and not answered in time (a stalled Redis): Redis may still run it once it
     * answers again. False when it was refused before anything was sent.
     */
    readonly inFlight = false,
  ) {
    super(message);
  }
}

/** How long a producer call (an HTTP request's enqueue or lookup) may wait for Redis: then 503. */
export const PRODUCE_TIMEOUT_MS = 750;
/** While Redis is stalled, how often it is asked (PING) whether it answers again. */
const STALL_PROBE_MS = 250;

/** Reconnection with backoff: 200 ms, 400 ms, … at most 2 s between attempts, for ever. */
const reconnectBackoff = (times: number) => Math.min(times * 200, 2000);

/**
 * BullMQ on Redis. One prefix per deployment (store and schema, or the embedded data dir), so that
 * two systems, or two test runs, sharing a Redis never take each other's jobs.
 *
 * Two kinds of connections. Producers (queues, flows, job lookups) share one that fails fast while
 * Redis is away: no offline queue, one retry, bounded connect and command times, so that an HTTP
 * request answers 503 instead of hanging. Workers and queue events get their own, with no retry cap
 * (BullMQ's blocking commands need `maxRetriesPerRequest: null`): they wait for Redis and go on.
 * Both reconnect with backoff; `available` says whether the producers' connection is ready, and
 * `onReady` hears every (re)connection, where the caller re-enqueues what the events say is unfinished.
 */
export class Jobs {
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  /** Connections handed to workers: BullMQ does not close what it did not open. */
  private readonly duplicates: Redis[] = [];
  private flow?: FlowProducer;
  private closing = false;
  /**
   * A producer call went unanswered although the connection looked ready (a Redis process stopped,
   * SIGSTOP, or frozen): unavailable until a PING answers, so that later requests answer 503 at once
   * instead of each waiting for its timeout.
   */
  private stalled = false;
  private stallProbe: NodeJS.Timeout | undefined;
  private readonly readyListeners = new Set<() => void>();

  constructor(
    private readonly redisUrl: string,
    readonly prefix: string,
  ) {
    this.connection = new Redis(redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      commandTimeout: 5000,
      retryStrategy: reconnectBackoff,
    });
    this.connection.on('error', () => undefined);
    // A new connection is a Redis that answers: no stall left to wait for.
    this.connection.on('ready', () => this.unstall(false));
  }

  /** Whether the producers' connection is ready and Redis answers: false from the moment Redis is lost or stalls until it is back. */
  get available(): boolean {
    return this.connection.status === 'ready' && !this.stalled;
  }

  /** Redis did not answer in time: unavailable, and asked every STALL_PROBE_MS whether it answers again. */
  private stall(): void {
    if (this.stalled || this.closing) return;
    this.stalled = true;
    const probe = () => {
      this.stallProbe = setTimeout(() => {
        if (!this.stalled || this.closing) return;
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), STALL_PROBE_MS * 2)));
        Promise.race([this.connection.ping(), late])
          .then(
            () => this.unstall(true),
            () => probe(),
          )
          .finally(() => clearTimeout(timer));
      }, STALL_PROBE_MS);
      this.stallProbe.unref();
    };
    probe();
  }

  /** Redis answers again; `tell`: the listeners of onReady hear it, as for a reconnection (what was lost meanwhile is re-enqueued). */
  private unstall(tell: boolean): void {
    if (!this.stalled) return;
    this.stalled = false;
    clearTimeout(this.stallProbe);
    if (tell) for (const listener of this.readyListeners) listener();
  }

  /** Resolves once the producers' connection is ready, or after `ms` (then `available` says false). */
  async connected(ms: number): Promise<boolean> {
    if (this.available) return true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.connection.once('ready', done);
    });
    return this.available;
  }

  /** Calls `listener` on every (re)connection to Redis; returns the unsubscription. */
  onReady(listener: () => void): () => void {
    this.connection.on('ready', listener);
    this.readyListeners.add(listener);
    return () => {
      this.connection.off('ready', listener);
      this.readyListeners.delete(listener);
    };
  }

  /**
   * Runs a producer call, failing fast: JobsUnavailableError at once when Redis is not ready (or
   * stalled), and when the call fails or outlasts `ms` (then `inFlight`: Redis may still run it; and
   * Redis counts as stalled until a PING answers).
   */
  async produce<T>(call: () => Promise<T>, ms = PRODUCE_TIMEOUT_MS): Promise<T> {
    if (!this.available) throw new JobsUnavailableError(this.stalled ? 'Redis does not answer (stalled)' : 'Redis is not connected');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.stall();
        reject(new JobsUnavailableError(`Redis did not answer within ${ms} ms`, true));
      }, ms);
    });
    try {
      return await Promise.race([call(), timeout]);
    } catch (error) {
      if (error instanceof JobsUnavailableError) throw error;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- Redis may have gone away while the call awaited
      if (!this.available || isRedisFailure(error)) throw new JobsUnavailableError((error as Error).message, true);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The jobs' prefix belongs to the store, not to where it lives: embedded, the random id the data
   * dir was given when its store was created (`<DATA_DIR>/store-id`), so that `rm -rf var` and a new
   * store never see the old one's delayed jobs (issue 18.2); otherwise the schema. `create: false`
   * (the CLI) does not give an id to a data dir without one: a fresh id, no worker listens on it.
   */
  static prefixFor(settings: { store: string; databaseSchema: string; dataDir: string }, options: { create?: boolean } = {}): string {
    const where = settings.store === 'embedded' ? storeIdOf(settings.dataDir, options) : settings.databaseSchema;
    return `forfait:${settings.store}:${where}`;
  }

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.connection,
        prefix: this.prefix,
        defaultJobOptions: {
          removeOnComplete: { age: 7 * 86400 },
          removeOnFail: { age: 30 * 86400 },
          attempts: 3,
          backoff: { type: 'exponential', delay: 1000 },
        },
      });
      // Errors surface on the calls that fail; an unheard 'error' event would crash the process.
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  flowProducer(): FlowProducer {
    if (!this.flow) {
      this.flow = new FlowProducer({ connection: this.connection, prefix: this.prefix });
      this.flow.on('error', () => undefined);
    }
    return this.flow;
  }

  /**
   * A worker on `name`, started once Redis has answered (now, or at its first connection): BullMQ
   * 5's Worker.close() restarts, unawaited and uncaught, the run() of a worker that never connected,
   * and that run's ECONNREFUSED was an unhandled rejection. A worker that connected once keeps
   * running through later outages (it reconnects by itself).
   */
  worker(name: QueueName, processor: Processor, options: Partial<WorkerOptions> = {}): void {
    const create = () => {
      if (this.closing) return;
      const connection = this.duplicate();
      const worker = new Worker(name, processor, { connection, prefix: this.prefix, concurrency: 1, ...options });
      worker.on('error', () => undefined);
      this.workers.push(worker);
    };
    if (this.available) create();
    else this.connection.once('ready', create);
  }

  private duplicate(): Redis {
    const connection = new Redis(this.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: false, retryStrategy: reconnectBackoff });
    connection.on('error', () => undefined);
    this.duplicates.push(connection);
    return connection;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.stallProbe);
    // A queue closed before its connection was ready would report the closing as an error later,
    // on an emitter nobody listens to any more: let each get ready (or fail) first; but while Redis
    // is away (never there since the start, say) not for longer than half a second.
    // One that never got ready is not closed at all: BullMQ's close() removes its connection's
    // listeners, and the connection's first attempt failing later (ECONNREFUSED, after a loaded
    // event loop outlasted the half second) was then emitted to nobody: an unhandled rejection.
    // Disconnecting the shared connection below ends it.
    const ready = async (x: { waitUntilReady(): Promise<unknown> }): Promise<boolean> => {
      const settled = x.waitUntilReady().then(
        () => true,
        () => false,
      );
      return this.available ? settled : Promise.race([settled, new Promise<boolean>((r) => setTimeout(() => r(false), 500).unref())]);
    };
    const closeIfReady = async (x: { waitUntilReady(): Promise<unknown>; close(): Promise<unknown> }): Promise<void> => {
      if (await ready(x)) await x.close().catch(() => undefined);
    };
    // Closing talks to Redis: when it is away that fails, with nothing left to close.
    await Promise.all(this.workers.map(ready));
    await Promise.all(this.workers.map((w) => w.close().catch(() => undefined)));
    await Promise.all([...this.queues.values()].map(closeIfReady));
    if (this.flow) await closeIfReady(this.flow);
    for (const c of this.duplicates) c.disconnect();
    this.connection.disconnect();
  }
}
