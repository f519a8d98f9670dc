import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { FlowProducer, Queue, QueueEvents, Worker, type Processor, type WorkerOptions } from 'bullmq';
import Redis from 'ioredis';

/** The queues of the system (architecture.md, "Jobs"). */
export const QUEUES = {
  deadlines: 'campaign-deadlines',
  calculations: 'yearly-calculations',
  imports: 'measure-imports',
  rebuilds: 'projection-rebuilds',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * BullMQ on Redis. One prefix per deployment (store and schema, or the embedded data dir), so that
 * two systems, or two test runs, sharing a Redis never take each other's jobs.
 */
export class Jobs {
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  /** Connections handed to workers: BullMQ does not close what it did not open. */
  private readonly duplicates: Redis[] = [];
  private flow?: FlowProducer;

  constructor(
    redisUrl: string,
    readonly prefix: string,
  ) {
    // BullMQ's workers need blocking commands without a retry cap.
    this.connection = new Redis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: false, lazyConnect: false });
    this.connection.on('error', () => undefined);
  }

  static prefixFor(settings: { store: string; databaseSchema: string; dataDir: string }): string {
    const where = settings.store === 'embedded' ? createHash('sha256').update(resolve(settings.dataDir)).digest('hex').slice(0, 12) : settings.databaseSchema;
    return `forfait:${settings.store}:${where}`;
  }

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix, defaultJobOptions: { removeOnComplete: { age: 7 * 86400 }, removeOnFail: { age: 30 * 86400 }, attempts: 3, backoff: { type: 'exponential', delay: 1000 } } });
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

  worker(name: QueueName, processor: Processor, options: Partial<WorkerOptions> = {}): Worker {
    const connection = this.duplicate();
    const worker = new Worker(name, processor, { connection, prefix: this.prefix, concurrency: 1, ...options });
    worker.on('error', () => undefined);
    this.workers.push(worker);
    return worker;
  }

  events(name: QueueName): QueueEvents {
    return new QueueEvents(name, { connection: this.duplicate(), prefix: this.prefix });
  }

  private duplicate(): Redis {
    const connection = this.connection.duplicate();
    connection.on('error', () => undefined);
    this.duplicates.push(connection);
    return connection;
  }

  async close(): Promise<void> {
    // A queue closed before its connection was ready would report the closing as an error later,
    // on an emitter nobody listens to any more: let each get ready (or fail) first.
    const ready = (x: { waitUntilReady(): Promise<unknown> }) => x.waitUntilReady().catch(() => undefined);
    await Promise.all([...this.workers, ...this.queues.values(), ...(this.flow ? [this.flow] : [])].map(ready));
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.flow?.close();
    for (const c of this.duplicates) c.disconnect();
    this.connection.disconnect();
  }
}
