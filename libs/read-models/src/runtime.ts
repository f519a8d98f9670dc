import type { AppConfig } from '@forfait/platform';
import { Jobs, clockFromSetting, probeRedis, type Clock, type RedisStatus } from '@forfait/platform';
import { openStores, type EventStore, type SqlDatabase } from '@forfait/store';
import { ProjectionRunner } from './projection-runner';
import type { Projection } from './projection';
import { deadlineScheduler } from './reactors/deadline-scheduler';
import { startRebuildWorker } from './rebuild';

/** Everything an app process holds open: the clock, the store, the read-model database, Redis' state. */
export interface Runtime {
  config: AppConfig;
  clock: Clock;
  store: EventStore;
  readDb: SqlDatabase;
  redis: RedisStatus;
  readModelSchema: string;
  /** BullMQ queues and workers, when Redis answered at start. */
  jobs?: Jobs;
  /** Set in the process that runs the projections. */
  projector?: ProjectionRunner;
  close(): Promise<void>;
}

export async function openRuntime(
  config: AppConfig,
  options: { runProjector: boolean; projections: readonly Projection[]; onProjectorError?: (name: string, e: Error) => void },
): Promise<Runtime> {
  const clock = clockFromSetting(config.clock);
  const { store, readDb } = await openStores({
    store: config.store,
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    databaseSchema: config.databaseSchema,
    eventstoreConnectionString: config.eventstoreConnectionString,
    clock,
  });
  const redis = await probeRedis(config.redisUrl);
  const readModelSchema = config.databaseSchema === 'public' ? 'rm' : `${config.databaseSchema}_rm`;
  const jobs = redis.ok ? new Jobs(config.redisUrl, Jobs.prefixFor(config)) : undefined;
  // The deadline scheduler runs with the projections, where there are jobs to schedule.
  const projections = jobs && options.projections.length > 0 ? [...options.projections, deadlineScheduler(jobs, clock)] : options.projections;
  const projector = options.runProjector
    ? new ProjectionRunner(store, readDb, projections, readModelSchema, { batchSize: config.projectorBatchSize, onError: options.onProjectorError })
    : undefined;
  if (projector) {
    await projector.start();
    if (jobs) startRebuildWorker(jobs, { store, readDb, readModelSchema, projector });
  }
  return {
    config,
    clock,
    store,
    readDb,
    redis,
    readModelSchema,
    jobs,
    projector,
    close: async () => {
      await projector?.stop();
      await jobs?.close();
      await store.close();
      await readDb.close();
    },
  };
}
