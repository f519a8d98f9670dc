import { Jobs } from './jobs';

/**
 * Closing the jobs while Redis has never answered (a system started without Redis, stopped). BullMQ's
 * Queue.close() on a connection that never got ready removed the connection's listeners; the pending
 * first connection then failed on disconnect and its ECONNREFUSED was emitted to nobody: an unhandled
 * rejection that failed whichever test was running (seen in CI when the event loop was late).
 */
describe('Jobs.close() while Redis never answered', () => {
  it.each([0, 300])('leaves no unhandled rejection, however late the event loop (queue used %i ms before)', async (usedFor) => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const jobs = new Jobs('redis://127.0.0.1:1', `forfait:test:close-${process.pid}`);
      jobs.queue('measure-imports');
      jobs.flowProducer();
      await new Promise((r) => setTimeout(r, usedFor));
      const closing = jobs.close();
      // A loaded machine: the close's half-second bound expires before the refused connection is heard.
      const until = Date.now() + 700;
      while (Date.now() < until) {
        /* busy */
      }
      await closing;
      await new Promise((r) => setTimeout(r, 1000));
      expect(unhandled.map((e) => (e as Error).message)).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });
});
