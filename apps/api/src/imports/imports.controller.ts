import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AppError } from '@forfait/events';
import { QUEUES, type QueueName } from '@forfait/platform';
import type { Runtime } from '@forfait/read-models';
import type { Response } from 'express';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { actorOf } from '../auth/principal';
import { RequestValidationError, validationPipe } from '../common/validation';
import type { ContextRequest } from '../core/request-context';
import type { CsvImportJob } from '../jobs/api-workers';
import { RUNTIME } from '../runtime.token';
import { MeasureBatchDto, PrefillBatchDto } from './imports.dto';
import { ImportsService } from './imports.service';

type Req_ = AuthedRequest & ContextRequest;

/** A CSV extract is streamed to disk, never held in memory; 500 Mo at most. */
export const MAX_CSV_BYTES = 500 * 1024 * 1024;

export class JobsUnavailableError extends AppError {
  readonly code = 'JOBS_UNAVAILABLE';
}
export class CsvTooLargeError extends AppError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}
export class JobNotFoundError extends AppError {
  readonly code = 'JOB_NOT_FOUND';
}

@ApiTags('imports')
@ApiBearerAuth()
@Controller('v1')
export class ImportsController {
  constructor(
    @Inject(ImportsService) private readonly imports: ImportsService,
    @Inject(RUNTIME) private readonly runtime: Runtime,
  ) {}

  @Post('imports/prefills')
  @HttpCode(200)
  @Roles('system')
  @ApiOperation({ summary: 'Pre-fills (SONS for V1_SEGUR_LAP, ANNUAIRE_SANTE for V1_HORAIRES); bad items reported by index, re-sending is idempotent' })
  prefills(@Body(validationPipe) body: PrefillBatchDto, @Req() req: Req_) {
    return this.imports.prefills(body.source, body.items, { actor: actorOf(req.principal), correlationId: req.correlationId });
  }

  @Post('imports/measures')
  @HttpCode(200)
  @Roles('system')
  @ApiConsumes('application/json', 'text/csv')
  @ApiQuery({ name: 'source', required: false, description: 'text/csv only: the source of the extract (default CSV)' })
  @ApiOperation({ summary: 'Automated measures: a JSON batch (200, report), or a text/csv extract (202, a job: progress at /v1/jobs/{id})' })
  async measures(@Body() body: unknown, @Query('source') source: string | undefined, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    if (req.is('text/csv')) {
      res.status(202);
      return this.enqueueCsv(req, source ?? 'CSV');
    }
    const batch = (await validationPipe.transform(body, { type: 'body', metatype: MeasureBatchDto })) as MeasureBatchDto;
    return this.imports.measures(batch.source, batch.items, { actor: actorOf(req.principal), correlationId: req.correlationId });
  }

  @Get('jobs/:id')
  @Roles('system', 'admin', 'auditor')
  @ApiOperation({ summary: 'A job: state, progress, result (imports, calculations, rebuilds, deadlines)' })
  async job(@Param('id') id: string) {
    const jobs = this.requireJobs();
    for (const name of Object.values(QUEUES) as QueueName[]) {
      const job = await jobs.queue(name).getJob(id);
      if (!job) continue;
      return {
        id: job.id,
        queue: name,
        name: job.name,
        state: await job.getState(),
        progress: job.progress,
        result: job.returnvalue ?? null,
        failedReason: job.failedReason ?? null,
        attempts: job.attemptsMade,
        createdAt: new Date(job.timestamp).toISOString(),
        finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      };
    }
    throw new JobNotFoundError(`no job ${id}`);
  }

  private requireJobs() {
    if (!this.runtime.jobs) throw new JobsUnavailableError(`Redis is unreachable at ${this.runtime.redis.url}: jobs are unavailable`);
    return this.runtime.jobs;
  }

  /** Streams the body to `<DATA_DIR>/imports/<sha256>.csv` and enqueues one job per content. */
  private async enqueueCsv(req: Req_, source: string) {
    const jobs = this.requireJobs();
    if (!/^[A-Za-z0-9_.-]{1,40}$/.test(source)) throw new RequestValidationError('source is 1 to 40 letters, digits, _ . -');
    const dir = resolve(this.runtime.config.dataDir, 'imports');
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `upload-${randomBytes(6).toString('hex')}.tmp`);
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
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
    const path = join(dir, `${sha256}.csv`);
    await rename(tmp, path);
    // The same extract re-sent is the same job: BullMQ keeps the first, nothing is imported twice.
    const jobId = `import-${source}-${sha256}`;
    const data: CsvImportJob = { path, source, sha256, correlationId: req.correlationId };
    await jobs.queue(QUEUES.imports).add('measures-csv', data, { jobId, attempts: 3 });
    return { jobId, statusUrl: `/v1/jobs/${jobId}`, sha256, bytes, source };
  }
}
