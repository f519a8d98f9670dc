import { AppError } from '@forfait/events';
import { JobsUnavailableError as RedisAway, type Jobs } from '@forfait/platform';
import type { Runtime } from '@forfait/read-models';

/** 503 `JOBS_UNAVAILABLE` (api.md): Redis is not there, so nothing that needs a job can be accepted. */
export class JobsUnavailableError extends AppError {
  readonly code = 'JOBS_UNAVAILABLE';
  /** The call was sent to Redis, which did not answer in time: it may still run it (see `withJobs`). */
  inFlight = false;
}

const unavailable = (runtime: Runtime, inFlight = false) => {
  const error = new JobsUnavailableError(
    `Les traitements en tâche de fond sont indisponibles : Redis ne répond pas (${runtime.redis.url}). Les déclarations et les consultations restent possibles ; réessayez plus tard.`,
  );
  error.inFlight = inFlight;
  return error;
};

/** The job queues, when Redis is connected right now; otherwise 503 at once, before any work. */
export function requireJobs(runtime: Runtime): Jobs {
  if (!runtime.jobs?.available) throw unavailable(runtime);
  return runtime.jobs;
}

/**
 * A producer call on Redis that answers 503 instead of hanging when Redis goes away or stalls
 * meanwhile (bounded: PRODUCE_TIMEOUT_MS). A call that timed out is `inFlight`: a stalled Redis runs
 * it when it resumes, so the caller keeps what that call needs (an import's file and acceptance).
 */
export async function withJobs<T>(runtime: Runtime, call: (jobs: Jobs) => Promise<T>): Promise<T> {
  const jobs = requireJobs(runtime);
  try {
    return await jobs.produce(() => call(jobs));
  } catch (error) {
    if (error instanceof RedisAway) throw unavailable(runtime, error.inFlight);
    throw error;
  }
}
