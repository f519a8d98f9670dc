import type { FlowJob, JobsOptions } from 'bullmq';
import type { QueueName } from '@forfait/platform';
import { assertSchemaName, migrate, quoteIdent, type SqlDatabase } from '@forfait/store';

/**
 * The work the system promised (a 202) and whether it kept the promise: the CSV imports it accepted
 * and the yearly calculations it started. Redis holds the queue, not the promise: a Redis that
 * restarts empty forgets its jobs, and the reconciler re-enqueues every row not done from here.
 *
 * A table rather than events: accepting a file or starting a run is a promise of work, not a fact
 * about a doctor or a campaign; the facts it leads to are events (each MeasureRecorded,
 * EntitlementCalculated, CampaignCalculationCompleted) carrying the request's correlationId. An
 * auditor follows a dispute through those; this journal says who asked for what and when, when it
 * was done and with what outcome, and keeps its rows (done ones are marked, never deleted).
 */
export type AcceptedJobRequest =
  | { kind: 'job'; queue: QueueName; name: string; data: Record<string, unknown>; opts: JobsOptions & { jobId: string } }
  | { kind: 'flow'; queue: QueueName; flow: FlowJob };

export interface AcceptedJob {
  jobId: string;
  request: AcceptedJobRequest;
  acceptedAt: string;
  acceptedBy: string;
  correlationId: string;
  doneAt: string | null;
  outcome: unknown;
}

const table = (schema: string) => `${quoteIdent(assertSchemaName(schema))}.accepted_jobs`;

export async function setupAcceptedJobs(db: SqlDatabase, schema: string): Promise<void> {
  await migrate(
    db,
    [
      `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(assertSchemaName(schema))}`,
      `CREATE TABLE IF NOT EXISTS ${table(schema)} (
         job_id text PRIMARY KEY, queue text NOT NULL, request jsonb NOT NULL,
         accepted_at timestamptz NOT NULL, accepted_by text NOT NULL, correlation_id text NOT NULL,
         done_at timestamptz, outcome jsonb)`,
    ],
    'forfait-accepted-jobs',
  );
}

/** Records the promise before the job is enqueued; `false` when that job id was accepted before. */
export async function acceptJob(
  db: SqlDatabase,
  schema: string,
  job: { jobId: string; request: AcceptedJobRequest; acceptedAt: string; acceptedBy: string; correlationId: string },
): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO ${table(schema)} (job_id, queue, request, accepted_at, accepted_by, correlation_id)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6) ON CONFLICT (job_id) DO NOTHING RETURNING job_id`,
    [job.jobId, job.request.queue, JSON.stringify(job.request), job.acceptedAt, job.acceptedBy, job.correlationId],
  );
  return rows.length === 1;
}

/** Withdraws a promise never enqueued (Redis went away between the record and the enqueue). */
export async function withdrawJob(db: SqlDatabase, schema: string, jobId: string): Promise<void> {
  await db.query(`DELETE FROM ${table(schema)} WHERE job_id = $1 AND done_at IS NULL`, [jobId]);
}

export async function markJobDone(db: SqlDatabase, schema: string, jobId: string, doneAt: string, outcome: unknown): Promise<void> {
  await db.query(`UPDATE ${table(schema)} SET done_at = $2, outcome = $3::jsonb WHERE job_id = $1 AND done_at IS NULL`, [
    jobId,
    doneAt,
    JSON.stringify(outcome ?? null),
  ]);
}

export async function readAcceptedJob(db: SqlDatabase, schema: string, jobId: string): Promise<AcceptedJob | undefined> {
  const { rows } = await db.query<Row>(`SELECT * FROM ${table(schema)} WHERE job_id = $1`, [jobId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function listUnfinishedJobs(db: SqlDatabase, schema: string): Promise<AcceptedJob[]> {
  const { rows } = await db.query<Row>(`SELECT * FROM ${table(schema)} WHERE done_at IS NULL ORDER BY accepted_at, job_id`);
  return rows.map(fromRow);
}

interface Row {
  job_id: string;
  request: AcceptedJobRequest | string;
  accepted_at: Date | string;
  accepted_by: string;
  correlation_id: string;
  done_at: Date | string | null;
  outcome: unknown;
}

const iso = (v: Date | string) => new Date(v).toISOString();
const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

function fromRow(r: Row): AcceptedJob {
  return {
    jobId: r.job_id,
    request: json(r.request),
    acceptedAt: iso(r.accepted_at),
    acceptedBy: r.accepted_by,
    correlationId: r.correlation_id,
    doneAt: r.done_at ? iso(r.done_at) : null,
    outcome: r.outcome === null ? null : json(r.outcome),
  };
}
