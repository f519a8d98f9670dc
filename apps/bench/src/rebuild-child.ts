import 'reflect-metadata';
import { loadConfig } from '@forfait/platform';
import { PROJECTIONS, ProjectionRunner, rebuildProjections } from '@forfait/read-models';
import { openStores } from '@forfait/store';
import { clockFromSetting } from '@forfait/platform';

/**
 * One full rebuild of every projection, in a process of its own so that its peak memory (maxRSS)
 * is the rebuild's alone. Prints one JSON line: events, ms, maxRssMb, heapUsedPeakMb.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const { store, readDb } = await openStores({ ...config, clock: clockFromSetting(config.clock) });
  const schema = config.databaseSchema === 'public' ? 'rm' : `${config.databaseSchema}_rm`;
  const live = new ProjectionRunner(store, readDb, PROJECTIONS, schema, { batchSize: config.projectorBatchSize });
  await live.setup();
  let heapPeak = 0;
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 100);
  const only = (process.env.BENCH_PROJECTIONS ?? '').split(',').filter(Boolean);
  const result = await rebuildProjections({ store, readDb, readModelSchema: schema, projector: live }, only);
  clearInterval(sampler);
  await live.stop();
  await store.close();
  await readDb.close();
  const events = Number(result.position);
  process.stdout.write(
    `${JSON.stringify({ events, ms: result.ms, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), heapUsedPeakMb: Math.round(heapPeak / 1048576) })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
