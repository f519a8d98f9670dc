import { createReadStream } from 'node:fs';
import type { INestApplicationContext } from '@nestjs/common';
import { parse } from 'csv-parse';
import type { Job } from 'bullmq';
import { streams } from '@forfait/events';
import { campaignFrom, decideCampaign } from '@forfait/domain';
import { QUEUES } from '@forfait/platform';
import { CLOSE_CAMPAIGN_JOB, listDoctorsOfYearInCaisse, type CloseCampaignJob, type Runtime } from '@forfait/read-models';
import { CalculationService } from '../campaigns/calculation.service';
import { CommandExecutor } from '../core/command-executor';
import { ImportsService, type ImportReport } from '../imports/imports.service';
import { csvRecordToItem } from '../imports/csv';

const SYSTEM = { sub: 'jobs', role: 'system' as const };

export interface CsvImportJob {
  path: string;
  source: string;
  sha256: string;
  correlationId: string;
}

export interface CsvImportProgress {
  lines: number;
  appended: number;
  duplicates: number;
  rejected: number;
}

/**
 * The workers that write through the command side: campaign closing at its deadline, the yearly
 * calculation per caisse, CSV imports of measures. Each is idempotent: a job run twice records
 * nothing twice (deciders and content-derived ids see to it).
 */
export function startApiWorkers(app: INestApplicationContext, runtime: Runtime): void {
  const jobs = runtime.jobs;
  if (!jobs) return;
  const executor = app.get(CommandExecutor);
  const calculations = app.get(CalculationService);
  const imports = app.get(ImportsService);

  jobs.worker(QUEUES.deadlines, async (job: Job<CloseCampaignJob>) => {
    if (job.name !== CLOSE_CAMPAIGN_JOB) return { skipped: job.name };
    const now = runtime.clock.now().toISOString();
    const result = await executor.execute(
      streams.campaign(job.data.year),
      (events) => decideCampaign({ type: 'CloseCampaign', closesAt: job.data.closesAt, now }, campaignFrom(events)),
      { actor: SYSTEM, channel: 'system', correlationId: `job-${job.id}`, effectiveAt: job.data.closesAt },
    );
    return { closed: result.events.length > 0 };
  });

  jobs.worker(QUEUES.calculations, async (job: Job<{ year: number; caisse?: string; correlationId: string }>) => {
    const meta = { actor: SYSTEM, channel: 'system' as const, correlationId: job.data.correlationId };
    if (job.name === 'calculate-caisse') {
      const doctors = await listDoctorsOfYearInCaisse(runtime.readDb, runtime.readModelSchema, job.data.year, job.data.caisse!);
      let recorded = 0;
      for (const [i, rpps] of doctors.entries()) {
        if ((await calculations.calculateOne(rpps, job.data.year, meta)).recorded) recorded += 1;
        await job.updateProgress({ done: i + 1, of: doctors.length });
      }
      return { caisse: job.data.caisse, doctors: doctors.length, recorded };
    }
    if (job.name === 'calculation-complete') {
      const children = Object.values(await job.getChildrenValues()) as { doctors: number; recorded: number }[];
      const doctors = children.reduce((s, c) => s + c.doctors, 0);
      const recorded = children.reduce((s, c) => s + c.recorded, 0);
      await calculations.complete(job.data.year, doctors, recorded > 0, meta);
      return { doctors, recorded };
    }
    return { skipped: job.name };
  });

  jobs.worker(QUEUES.imports, async (job: Job<CsvImportJob>) =>
    importMeasuresCsv(imports, job.data.path, job.data.source, { actor: SYSTEM, correlationId: job.data.correlationId }, (p) => job.updateProgress({ ...p })),
  );
}

/** Lines per call of the import service: one bulk transaction each (see ImportsService). */
export const CSV_IMPORT_BATCH = 1000;

/**
 * A CSV extract of measures, streamed line by line through the import service, CSV_IMPORT_BATCH
 * lines at a time: memory is bounded by the batch, not by the file. The CSV job runs this; so does
 * the benchmark of a national extract.
 */
export async function importMeasuresCsv(
  imports: ImportsService,
  path: string,
  source: string,
  meta: { actor: { sub: string; role: 'system' }; correlationId: string },
  onProgress: (p: CsvImportProgress) => Promise<void> | void = () => undefined,
) {
  const total: ImportReport = { received: 0, appended: 0, duplicates: 0, rejected: [], events: [] };
  let rejectedCount = 0;
  let items: Record<string, unknown>[] = [];
  let lines: number[] = [];
  const flush = async () => {
    if (items.length === 0) return;
    const r = await imports.measures(source, items, meta, lines);
    total.received += r.received;
    total.appended += r.appended;
    total.duplicates += r.duplicates;
    // The report keeps the first thousand rejected lines; the count is in the progress.
    rejectedCount += r.rejected.length;
    if (total.rejected.length < 1000) total.rejected.push(...r.rejected.slice(0, 1000 - total.rejected.length));
    items = [];
    lines = [];
    await onProgress({ lines: total.received, appended: total.appended, duplicates: total.duplicates, rejected: rejectedCount });
  };
  const parser = createReadStream(path).pipe(parse({ columns: true, skip_empty_lines: true, trim: true, relax_column_count: true, info: true }));
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    items.push(csvRecordToItem(record));
    lines.push(info.lines);
    if (items.length >= CSV_IMPORT_BATCH) await flush();
  }
  await flush();
  return { received: total.received, appended: total.appended, duplicates: total.duplicates, rejectedCount, rejected: total.rejected };
}
