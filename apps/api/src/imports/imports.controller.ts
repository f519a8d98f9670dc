import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Body, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiQuery } from '@nestjs/swagger';
import { AppError } from '@forfait/events';
import { QUEUES, type QueueName } from '@forfait/platform';
import { acceptJob, listImportBatches, readAcceptedJob, recordImportBatch, withdrawJob, type Runtime } from '@forfait/read-models';
import { ImportsService, type CsvImportJob, type ImportReport } from '@forfait/application';
import type { Response } from 'express';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { RateLimited } from '../common/rate-limit';
import { RequestValidationError, validationPipe } from '../common/validation';
import { IdempotencyStore, checkStreamedBody } from '../core/idempotency';
import { CommandController, CommandSender, Sender } from '../core/command-sender';
import type { ContextRequest } from '../core/request-context';
import { JobsUnavailableError, requireJobs, withJobs } from '../core/jobs-guard';
import { RUNTIME } from '../runtime.token';
import { MeasureBatchDto, PrefillBatchDto } from './imports.dto';

type Req_ = AuthedRequest & ContextRequest;

/** A CSV extract is streamed to disk, never held in memory; 500 Mo at most. */
export const MAX_CSV_BYTES = 500 * 1024 * 1024;

export class CsvTooLargeError extends AppError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}
export class JobNotFoundError extends AppError {
  readonly code = 'JOB_NOT_FOUND';
}

@CommandController('v1', 'imports')
export class ImportsController {
  constructor(
    @Inject(ImportsService) private readonly imports: ImportsService,
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(IdempotencyStore) private readonly keys: IdempotencyStore,
  ) {}

  @Post('imports/prefills')
  @HttpCode(200)
  @Roles('system')
  @ApiOperation({ summary: 'Pre-fills (SONS for V1_SEGUR_LAP, ANNUAIRE_SANTE for V1_HORAIRES); bad items reported by index, re-sending is idempotent' })
  async prefills(@Body(validationPipe) body: PrefillBatchDto, @Sender() sender: CommandSender) {
    const report = await this.imports.prefills(body.source, body.items, sender.meta('import'));
    await this.keep('prefills', body.source, body.items, report, sender);
    return report;
  }

  @Get('imports')
  @Roles('agent', 'controller', 'auditor', 'admin')
  @ApiOperation({
    summary: 'The import batches received, newest first, with their rejected items (agents and controllers: those bound to their caisse) (extension of api.md)',
  })
  async batches(@Req() req: Req_) {
    const p = req.principal;
    const caisse = p.role === 'agent' || p.role === 'controller' ? p.caisse : undefined;
    return { caisse: caisse ?? null, batches: await listImportBatches(this.runtime.readDb, this.runtime.readModelSchema, { ...(caisse ? { caisse } : {}) }) };
  }

  /** The batch and its report, for the imports screen (a batch with rejected items is not missed). */
  private async keep(
    kind: 'prefills' | 'measures',
    source: string,
    items: Record<string, unknown>[],
    report: ImportReport,
    sender: CommandSender,
  ): Promise<void> {
    const rppsOf = items.map((i) => (typeof i.rpps === 'string' ? i.rpps : undefined));
    await recordImportBatch(
      this.runtime.readDb,
      this.runtime.readModelSchema,
      {
        // Its own id: a client reusing one X-Correlation-Id for several batches must not see the later ones dropped.
        id: randomUUID(),
        kind,
        source,
        receivedAt: sender.now,
        correlationId: sender.correlationId,
        received: report.received,
        appended: report.appended,
        duplicates: report.duplicates,
        rejectedCount: report.rejected.length,
        status: report.status,
        summary: report.summary,
        rejected: report.rejected,
      },
      { named: rppsOf.filter((r): r is string => r !== undefined), rejectedRpps: report.rejected.map((r) => rppsOf[r.index]) },
    );
  }

  @Post('imports/measures')
  @HttpCode(200)
  @Roles('system')
  @RateLimited((req) => req.is('text/csv') === 'text/csv')
  @ApiConsumes('application/json', 'text/csv')
  @ApiQuery({ name: 'source', required: false, description: 'text/csv only: the source of the extract (default CSV)' })
  @ApiOperation({ summary: 'Automated measures: a JSON batch (200, report), or a text/csv extract (202, a job: progress at /v1/jobs/{id})' })
  async measures(
    @Body() body: unknown,
    @Query('source') source: string | undefined,
    @Req() req: Req_,
    @Sender() sender: CommandSender,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (req.is('text/csv')) {
      res.status(202);
      return this.enqueueCsv(req, res, source ?? 'CSV');
    }
    const batch = (await validationPipe.transform(body, { type: 'body', metatype: MeasureBatchDto })) as MeasureBatchDto;
    const report = await this.imports.measures(batch.source, batch.items, sender.meta('import'));
    await this.keep('measures', batch.source, batch.items, report, sender);
    return report;
  }

  @Get('jobs/:id')
  @Roles('system', 'admin', 'auditor')
  @ApiOperation({ summary: 'A job: state, progress, result (imports, calculations, rebuilds, deadlines)' })
  async job(@Param('id') id: string) {
    const found = await withJobs(this.runtime, async (jobs) => {
      for (const name of Object.values(QUEUES) as QueueName[]) {
        const job = await jobs.queue(name).getJob(id);
        if (!job) continue;
        const state = await job.getState();
        // The job was read before its state: one that completed in between is read again, with its result.
        if (state === 'completed' && job.returnvalue == null) return { job: (await jobs.queue(name).getJob(id)) ?? job, name, state };
        return { job, name, state };
      }
      return undefined;
    });
    if (found) {
      const { job, name, state } = found;
      const result = (job.returnvalue as unknown) ?? null;
      return {
        id: job.id,
        queue: name,
        name: job.name,
        state,
        progress: job.progress,
        result,
        ...importReport(name, result),
        failedReason: (job.failedReason as string | undefined) ?? null, // BullMQ types it string; unset until the job fails
        attempts: job.attemptsMade,
        createdAt: new Date(job.timestamp).toISOString(),
        finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      };
    }
    // Redis forgot it (restarted empty, or removed after a week): the journal of accepted work still knows.
    const accepted = await readAcceptedJob(this.runtime.readDb, this.runtime.readModelSchema, id);
    if (accepted?.doneAt) {
      const request = accepted.request;
      return {
        id,
        queue: request.queue,
        name: request.kind === 'job' ? request.name : request.flow.name,
        state: 'completed',
        progress: null,
        result: accepted.outcome,
        ...importReport(request.queue, accepted.outcome),
        failedReason: null,
        attempts: null,
        createdAt: accepted.acceptedAt,
        finishedAt: accepted.doneAt,
      };
    }
    throw new JobNotFoundError(`no job ${id}`);
  }

  /** Streams the body to `<DATA_DIR>/imports/<sha256>.csv` and enqueues one job per content. */
  private async enqueueCsv(req: Req_, res: Response, source: string) {
    // Refused before a byte is written: a 503 leaves no file behind.
    requireJobs(this.runtime);
    if (!/^[A-Za-z0-9_.-]{1,40}$/.test(source)) throw new RequestValidationError('source is 1 to 40 letters, digits, _ . -');
    const dir = resolve(this.runtime.config.dataDir, 'imports');
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `upload-${randomBytes(6).toString('hex')}.tmp`);
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done): void {
        bytes += chunk.length;
        if (bytes > MAX_CSV_BYTES) return done(new CsvTooLargeError(`a CSV extract is at most ${MAX_CSV_BYTES} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(req, meter, createWriteStream(tmp));
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    if (bytes === 0) {
      await rm(tmp, { force: true });
      throw new RequestValidationError('the CSV extract is empty');
    }
    const sha256 = hash.digest('hex');
    try {
      // Idempotency-Key: the first answer again, or another extract under the key refused; nothing kept.
      await checkStreamedBody(this.keys, req, res, sha256);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    const path = join(dir, `${sha256}.csv`);
    // The same extract re-sent is the same job: BullMQ keeps the first, nothing is imported twice.
    const jobId = `import-${source}-${sha256}`;
    const data: CsvImportJob = { path, source, sha256, correlationId: req.correlationId };
    const db = this.runtime.readDb;
    const schema = this.runtime.readModelSchema;
    const previous = await readAcceptedJob(db, schema, jobId);
    if (previous?.doneAt) {
      // Imported already, its file removed then: keep nothing of the re-sent copy.
      await rm(tmp, { force: true });
      return { jobId, statusUrl: `/v1/jobs/${jobId}`, sha256, bytes, source };
    }
    await rename(tmp, path);
    // The promise is recorded before the enqueue: a Redis lost from here on loses no accepted file
    // (the reconciler re-enqueues it), and the file stays under DATA_DIR until the import is done.
    const accepted = await acceptJob(db, schema, {
      jobId,
      request: { kind: 'job', queue: QUEUES.imports, name: 'measures-csv', data: { ...data }, opts: { jobId, attempts: 3 } },
      acceptedAt: this.runtime.clock.now().toISOString(),
      acceptedBy: req.principal.sub,
      correlationId: req.correlationId,
    });
    try {
      await withJobs(this.runtime, (jobs) => jobs.queue(QUEUES.imports).add('measures-csv', data, { jobId, attempts: 3 }));
    } catch (error) {
      // Not enqueued: refused, as if never received (a file of an earlier, still running acceptance stays).
      // Sent to a stalled Redis and unanswered: it may still add the job when it resumes, so the file
      // and the acceptance stay (the reconciler enqueues it, or finds it, once Redis answers; the same
      // extract re-sent is that job). Otherwise the job would run without its file, and its failed
      // entry would swallow every re-send under the same id.
      if (accepted && !(error instanceof JobsUnavailableError && error.inFlight)) {
        await withdrawJob(db, schema, jobId);
        await rm(path, { force: true });
      }
      throw error;
    }
    return { jobId, statusUrl: `/v1/jobs/${jobId}`, sha256, bytes, source };
  }
}

/**
 * Issue 13.1: a batch with rejected items cannot pass for a success. An import job's status carries
 * its `report` (api.md `{ state, progress, report? }`): the items accepted and rejected, and each
 * rejected one with its index (0-based among the extract's data lines), its line and its code.
 */
function importReport(queue: string, result: unknown): { report?: ImportJobReport } {
  if (queue !== QUEUES.imports || typeof result !== 'object' || result === null) return {};
  const r = result as Partial<{
    received: number;
    appended: number;
    duplicates: number;
    rejectedCount: number;
    rejected: { index: number; line?: number; code: string; message: string }[];
    status: string;
    summary: string;
  }>;
  if (typeof r.received !== 'number' || !Array.isArray(r.rejected)) return {};
  const rejectedCount = r.rejectedCount ?? r.rejected.length;
  return {
    report: {
      status: r.status ?? (rejectedCount === 0 ? 'complete' : rejectedCount === r.received ? 'rejected' : 'partial'),
      received: r.received,
      accepted: r.received - rejectedCount,
      rejectedCount,
      rejected: r.rejected.map(({ index, line, code, message }) => ({ index, ...(line !== undefined ? { line } : {}), code, message })),
      ...(r.summary !== undefined ? { summary: r.summary } : {}),
    },
  };
}

interface ImportJobReport {
  status: string;
  received: number;
  /** Appended or already there: every item not rejected. */
  accepted: number;
  rejectedCount: number;
  /** The first thousand rejected items (the count is `rejectedCount`). */
  rejected: { index: number; line?: number; code: string; message: string }[];
  summary?: string;
}
