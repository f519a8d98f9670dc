import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { importStatus, type ImportReport, type ImportsService } from './imports.service';

/**
 * CSV extracts of measures: one line per item, with a header. Columns: rpps, year, indicator, and
 * as the indicator needs: numerator, denominator, participates (true/false),
 * teletransmittedPreviousYear (true/false), firstFseOn (YYYY-MM-DD), months
 * ("2023-01:80/100;2023-02:70/100" for monthly FSE/total counts). Empty cells are absent values.
 */
export const CSV_COLUMNS = [
  'rpps',
  'year',
  'indicator',
  'numerator',
  'denominator',
  'participates',
  'teletransmittedPreviousYear',
  'firstFseOn',
  'months',
] as const;

export function csvRecordToItem(record: Record<string, string>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(record)) {
    const value = raw.trim();
    if (value === '') continue;
    switch (key) {
      case 'year':
      case 'numerator':
      case 'denominator':
        item[key] = /^-?\d+$/.test(value) ? Number(value) : value;
        break;
      case 'participates':
      case 'teletransmittedPreviousYear':
        item[key] = value === 'true' ? true : value === 'false' ? false : value;
        break;
      case 'months':
        item.months = value.split(';').map((part) => {
          const m = /^(\d{4}-\d{2}):(\d+)\/(\d+)$/.exec(part.trim());
          return m ? { month: m[1], fse: Number(m[2]), total: Number(m[3]) } : { month: part };
        });
        break;
      default:
        // Unknown columns are passed on, and the item's validation names them.
        item[key] = value;
    }
  }
  return item;
}

/** A CSV extract of measures to import, as the API and the CLI enqueue it (queue `imports`): the file kept until the import is done. */
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
  /** Filled when given: the doctors the lines name, and the one each kept rejection names (the imports screen binds them to caisses). */
  doctors?: { named: Set<string>; rejectedRpps: (string | undefined)[] },
) {
  const total: Omit<ImportReport, 'status' | 'summary'> = { received: 0, appended: 0, duplicates: 0, rejected: [], events: [] };
  let rejectedCount = 0;
  let items: Record<string, unknown>[] = [];
  let lines: number[] = [];
  const flush = async () => {
    if (items.length === 0) return;
    const r = await imports.measures(source, items, meta, lines);
    // An index counts the extract's data lines from 0, not the batch's items.
    const offset = total.received;
    total.received += r.received;
    total.appended += r.appended;
    total.duplicates += r.duplicates;
    // The report keeps the first thousand rejected lines; the count is in the progress.
    rejectedCount += r.rejected.length;
    const kept = total.rejected.length < 1000 ? r.rejected.slice(0, 1000 - total.rejected.length) : [];
    total.rejected.push(...kept.map((x) => ({ ...x, index: x.index + offset })));
    if (doctors) {
      const rppsOf = (item: Record<string, unknown> | undefined) => (typeof item?.rpps === 'string' ? item.rpps : undefined);
      for (const item of items) {
        const rpps = rppsOf(item);
        if (rpps !== undefined) doctors.named.add(rpps);
      }
      // The rejection's index within this call names its item.
      doctors.rejectedRpps.push(...kept.map((x) => rppsOf(items[x.index])));
    }
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
  const status = importStatus(total.received, rejectedCount);
  const summary = `${total.received} lignes de données : ${total.appended} événements ajoutés, ${total.duplicates} déjà importées, ${rejectedCount} rejetées`;
  return { received: total.received, appended: total.appended, duplicates: total.duplicates, rejectedCount, rejected: total.rejected, status, summary };
}
