import type { AppConfig } from '@forfait/platform';
import { Jobs, clockFromSetting, logSigningKeyOf, probeRedis, type Clock, type RedisStatus } from '@forfait/platform';
import {
  CheckpointDirectory,
  PgDatabase,
  TransparencyLog,
  generateSignerKey,
  openStores,
  parseSignerKey,
  quoteIdent,
  type EventStore,
  type SqlDatabase,
} from '@forfait/store';
import { logSealer } from './log-sealer';
import { ProjectionRunner, type ProjectionApplyError } from './projection-runner';
import type { Projection } from './projection';
import { campaignDeadlinesProjection } from './projections/campaign-deadlines.projection';
import { setupAcceptedJobs } from './reactors/accepted-jobs';
import { setupImportBatches } from './reactors/import-batches';
import { deadlineScheduler } from './reactors/deadline-scheduler';
import { startJobReconciler } from './reactors/job-reconciler';
import { startRebuildWorker } from './rebuild';

/** Everything an app process holds open: the clock, the store, the read-model database, Redis' state. */
export interface Runtime {
  config: AppConfig;
  clock: Clock;
  store: EventStore;
  readDb: SqlDatabase;
  /**
   * Where the queries read the read models: a streaming standby when READ_DATABASE_URL is set (its
   * connections named `forfait-read`), else `readDb` itself. Writes, checkpoints and the projector
   * never use it; a query waits on it for the position it asks for (./freshness.ts).
   */
  queryDb: SqlDatabase;
  redis: RedisStatus;
  readModelSchema: string;
  /** BullMQ queues and workers (`jobs.available`: whether Redis answers now; `redis`: whether it did at start). */
  jobs?: Jobs;
  /** Set in the process that runs the projections. */
  projector?: ProjectionRunner;
  /** The verifiable log: read everywhere, sealed and signed by the process that runs the projections. */
  log: TransparencyLog;
  /** The sealer's runner, beside the projector. */
  sealer?: ProjectionRunner;
  close(): Promise<void>;
}

/** Where a configuration's read models live: `rm` beside the `public` store, `<schema>_rm` otherwise. */
export function readModelSchemaOf(config: Pick<AppConfig, 'databaseSchema'>): string {
  return config.databaseSchema === 'public' ? 'rm' : `${config.databaseSchema}_rm`;
}

export async function openRuntime(
  config: AppConfig,
  options: {
    runProjector: boolean;
    projections: readonly Projection[];
    onProjectorError?: (name: string, e: Error) => void;
    onProjectorStoreUnavailable?: (name: string, e: Error, delayMs: number) => void;
    /** A projection cannot apply an event (named, with its position, in the error): applied again in `delayMs`, in-process. */
    onProjectorApplyRetry?: (name: string, e: ProjectionApplyError, delayMs: number) => void;
    /** Re-enqueue unfinished work (deadlines, accepted imports and calculations) now and on every reconnection to Redis. */
    reconcileJobs?: boolean;
    onReconcileError?: (e: Error) => void;
    /** A checkpoint the publication directory could not take (LOG_CHECKPOINT_DIR); default: said on stderr. */
    onCheckpointPublishError?: (e: unknown) => void;
  },
): Promise<Runtime> {
  const clock = clockFromSetting(config.clock);
  const { store, readDb } = await openStores({ ...config, clock });
  const queryDb = config.readDatabaseUrl ? new PgDatabase({ connectionString: config.readDatabaseUrl, application_name: 'forfait-read' }) : readDb;
  const redis = await probeRedis(config.redisUrl);
  const readModelSchema = readModelSchemaOf(config);
  await setupAcceptedJobs(readDb, readModelSchema);
  await setupImportBatches(readDb, readModelSchema);
  // Even when Redis is away at start: its connections wait for it (failing fast meanwhile, 503
  // JOBS_UNAVAILABLE), and when it comes the workers start taking jobs and the reconciler enqueues
  // what is unfinished, with no restart.
  const jobs = new Jobs(config.redisUrl, Jobs.prefixFor(config));
  // Redis answered the probe: let the producers connect before the first batch schedules a deadline.
  if (redis.ok) await jobs.connected(2000);
  // The deadline scheduler runs with the projections (while Redis is away it leaves the deadlines to the reconciler).
  const projections = options.projections.length > 0 ? [...options.projections, deadlineScheduler(jobs, clock)] : options.projections;
  // Live runners: a projection that cannot apply an event is retried in-process with backoff (1 s,
  // doubling, at most a minute between attempts: issue 11.1), named with its position meanwhile.
  const live = {
    batchSize: config.projectorBatchSize,
    onError: options.onProjectorError,
    onStoreUnavailable: options.onProjectorStoreUnavailable,
    retryApplyFailures: { baseMs: 1_000, capMs: 60_000 },
    onApplyRetry: options.onProjectorApplyRetry,
  };
  // On the embedded store the live projections share a subscription (issue 14: the API's one thread
  // runs PGlite; eight subscriptions each reading every event took turns with the commands).
  const projector = options.runProjector
    ? new ProjectionRunner(store, readDb, projections, readModelSchema, { ...live, liveTogether: readDb.dialect === 'pglite' })
    : undefined;
  const signer = parseSignerKey(logSigningKeyOf(config, () => generateSignerKey(config.log.origin)));
  const log = new TransparencyLog(readDb, readModelSchema, signer, {
    checkpointEveryEvents: config.log.checkpointEveryEvents,
    checkpointIntervalMs: config.log.checkpointIntervalMs,
    witnessKeys: config.log.witnessKeys,
    now: () => clock.now(),
  });
  await log.setup();
  const sealer = options.runProjector ? new ProjectionRunner(store, readDb, [logSealer(log)], readModelSchema, live) : undefined;
  let signTimer: NodeJS.Timeout | undefined;
  if (projector) {
    await projector.start();
    startRebuildWorker(jobs, { store, readDb, readModelSchema, projector });
  }
  // Issue 15.3: the signed checkpoints also published to an append-only directory, once committed.
  const published = config.log.checkpointDir ? new CheckpointDirectory(config.log.checkpointDir) : undefined;
  await published?.init();
  let publishing = false;
  const publish = async () => {
    if (!published || publishing) return;
    publishing = true;
    try {
      await published.publish(await log.checkpointsAfter(await published.publishedUpTo()));
    } catch (error) {
      if (options.onCheckpointPublishError) options.onCheckpointPublishError(error);
      else process.stderr.write(`checkpoint publication (LOG_CHECKPOINT_DIR): ${error instanceof Error ? error.message : String(error)}\n`);
    } finally {
      publishing = false;
    }
  };
  if (sealer) {
    await sealer.start();
    // T seconds: a checkpoint of whatever was sealed since the last one, even when no batch comes.
    signTimer = setInterval(
      () =>
        void log
          .signIfDue()
          .catch(() => undefined)
          .then(publish),
      Math.min(1000, config.log.checkpointIntervalMs),
    );
    signTimer.unref();
  }
  const reconciler = options.reconcileJobs
    ? startJobReconciler({
        jobs,
        readDb,
        readModelSchema,
        clock,
        // The deadlines it reads must include every event written so far (bounded: it goes on after).
        caughtUp: async () => {
          const head = await store.headPosition();
          if (projector) return projector.waitFor(head, 10_000).catch(() => undefined);
          const deadline = Date.now() + 10_000;
          while (Date.now() < deadline) {
            const { rows } = await readDb.query<{ position: string }>(
              `SELECT position::text AS position FROM ${quoteIdent(readModelSchema)}.projection_checkpoints WHERE name = $1`,
              [campaignDeadlinesProjection.name],
            );
            if (rows[0] && BigInt(rows[0].position) >= head) return;
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        onError: options.onReconcileError,
      })
    : undefined;
  return {
    config,
    clock,
    store,
    readDb,
    queryDb,
    redis,
    readModelSchema,
    jobs,
    projector,
    log,
    sealer,
    close: async () => {
      reconciler?.stop();
      await reconciler?.idle();
      clearInterval(signTimer);
      await sealer?.stop();
      await projector?.stop();
      await jobs.close();
      await store.close();
      if (queryDb !== readDb) await queryDb.close();
      await readDb.close();
    },
  };
}
