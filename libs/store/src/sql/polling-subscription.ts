import type { RecordedEvent } from '@forfait/events';
import type { BatchHandler, Subscription } from '../port';

export interface PollingSubscriptionOptions {
  after: bigint;
  batchSize: number;
  pollIntervalMs: number;
  /**
   * Once caught up, how long to let appends gather before reading them (0: read at once). The
   * embedded store runs its readers in the writers' one thread: each read and batch costs the
   * commands' CPU, so appends that come a few milliseconds apart are better read together.
   */
  coalesceMs?: number;
  read: (after: bigint, maxCount: number) => Promise<RecordedEvent[]>;
  /** Registers a wake-up listener (an append happened); returns its removal. */
  onSignal: (listener: () => void) => () => void;
  handler: BatchHandler;
}

/**
 * Catch-up subscription over a store whose global order is gap-free: read after the checkpoint,
 * hand the batch over, move the checkpoint, repeat; when caught up, wait for a signal or the poll
 * interval. A signal that arrives while reading is remembered, so no wake-up is lost.
 */
export class PollingSubscription implements Subscription {
  readonly done: Promise<void>;
  private current: bigint;
  private stopped = false;
  private signalled = false;
  private wake: (() => void) | undefined;
  private interrupt: (() => void) | undefined;

  constructor(private readonly options: PollingSubscriptionOptions) {
    this.current = options.after;
    this.done = this.run();
  }

  get position(): bigint {
    return this.current;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.interrupt?.();
    await this.done.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const removeListener = this.options.onSignal(() => {
      this.signalled = true;
      this.wake?.();
    });
    try {
      // While the handler applies a full batch, the next one is read (catch-up: reading and
      // writing overlap); the handler still sees batches one at a time, in order.
      let ahead: Promise<RecordedEvent[]> | undefined;
      while (!this.stopped) {
        this.signalled = false;
        const batch = ahead ? await ahead : await this.options.read(this.current, this.options.batchSize);
        ahead = undefined;
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run while the read awaited
        if (this.stopped) break;
        if (batch.length > 0) {
          if (batch.length === this.options.batchSize) {
            ahead = this.options.read(batch[batch.length - 1]!.position, this.options.batchSize);
            ahead.catch(() => undefined);
          }
          await this.options.handler(batch);
          this.current = batch[batch.length - 1]!.position;
          // A short batch: the read reached the head; what comes next is let gather first.
          if (!ahead) await this.gather();
          continue;
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the listener sets it while the handler awaits
        if (this.signalled) continue;
        const woken = { bySignal: false };
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollIntervalMs);
          this.wake = () => {
            woken.bySignal = true;
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        if (woken.bySignal) await this.gather();
      }
    } finally {
      removeListener();
    }
  }

  /** Waits coalesceMs (stop() cuts it short); signals meanwhile are remembered as always. */
  private async gather(): Promise<void> {
    const ms = this.options.coalesceMs ?? 0;
    if (ms <= 0 || this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.interrupt = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.interrupt = undefined;
  }
}
