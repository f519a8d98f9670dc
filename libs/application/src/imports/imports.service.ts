import { AppError, ConcurrencyError, contentUuid, defaultUpcasters, streams, type Actor, type Measure, type NewEvent } from '@forfait/events';
import {
  declarationFrom,
  decideDeclaration,
  evolveDeclaration,
  refuse,
  type DeclarationCommand,
  type DeclarationState,
  type KnownEvent,
} from '@forfait/domain';
import { envelope } from '../command-executor';
import type { ApplicationContext } from '../context';
import type { CampaignRules, DoctorYearReader } from '../doctor-year-reader';
import { backoff, mayRetry } from '../retry';
import { RequestValidationError } from '../validation';
import { MeasureItemDto, PREFILL_VALUE_DTO, PrefillItemDto } from './items';
import { findJsonProblem } from './json-safety';
import { validateValue } from './validate-value';

export interface ImportReport {
  received: number;
  appended: number;
  duplicates: number;
  rejected: { index: number; line?: number; code: string; message: string }[];
  events: { index: number; eventId: string; streamId: string }[];
  /** `complete` when no item was rejected: a batch with rejected items cannot pass for a success. */
  status: 'complete' | 'partial' | 'rejected';
  /** The same in French, for a person reading the answer or the CLI's output. */
  summary: string;
}

/** One status for a JSON batch and a CSV extract alike: complete, partly or wholly rejected. */
export function importStatus(received: number, rejected: number): ImportReport['status'] {
  return rejected === 0 ? 'complete' : rejected === received ? 'rejected' : 'partial';
}

/** The answer's status and French summary, from its counts. */
export function summarise(report: Omit<ImportReport, 'status' | 'summary'>): ImportReport {
  const rejected = report.rejected.length;
  const status = importStatus(report.received, rejected);
  const plural = (n: number, one: string, many: string) => `${n} ${n > 1 ? many : one}`;
  const summary =
    `${plural(report.received, 'élément reçu', 'éléments reçus')} : ${plural(report.appended, 'événement ajouté', 'événements ajoutés')}, ` +
    `${plural(report.duplicates, 'doublon ignoré', 'doublons ignorés')}, ${plural(rejected, 'élément rejeté', 'éléments rejetés')}` +
    (rejected > 0
      ? ` (voir rejected : ${report.rejected
          .slice(0, 5)
          .map((r) => `#${r.index} ${r.code}`)
          .join(', ')}${rejected > 5 ? ', …' : ''})`
      : '');
  return { ...report, status, summary };
}

/**
 * Batch imports of pre-fills and measures. Each item is validated and decided on its own; a bad
 * item is reported with its index (and line for CSV) while the valid ones are kept. Event ids are
 * derived from the item's content, so re-sending a batch appends nothing new.
 */
export class ImportsService {
  constructor(
    private readonly runtime: ApplicationContext,
    private readonly reader: DoctorYearReader,
  ) {}

  async prefills(source: string, items: Record<string, unknown>[], meta: { actor: Actor; correlationId: string }): Promise<ImportReport> {
    return this.run(items, meta, (raw) => {
      const item = validateValue(PrefillItemDto, raw, 'item');
      // Rules spec, V1_HORAIRES: the hours service's pre-fill says when the hours were entered (judged against hoursServiceDeadline).
      if (item.indicator === 'V1_HORAIRES' && item.effectiveAt === undefined) {
        throw new RequestValidationError('item.effectiveAt est obligatoire pour V1_HORAIRES : la date de saisie des horaires dans le service');
      }
      const value = validateValue(PREFILL_VALUE_DTO[item.indicator]!, item.value, 'item.value');
      const effectiveAt = item.effectiveAt ? new Date(item.effectiveAt).toISOString() : undefined;
      return {
        rpps: item.rpps,
        year: item.year,
        effectiveAt,
        key: { kind: 'prefill', source, rpps: item.rpps, year: item.year, indicator: item.indicator, value, effectiveAt: effectiveAt ?? null },
        command: { type: 'Prefill', indicator: item.indicator, source, value },
      };
    });
  }

  async measures(source: string, items: Record<string, unknown>[], meta: { actor: Actor; correlationId: string }, lines?: number[]): Promise<ImportReport> {
    return this.run(
      items,
      meta,
      (raw) => {
        const item = validateValue(MeasureItemDto, raw, 'item');
        const measure = toMeasure(item);
        return {
          rpps: item.rpps,
          year: item.year,
          effectiveAt: undefined,
          key: { kind: 'measure', source, rpps: item.rpps, year: item.year, indicator: item.indicator, measure },
          command: { type: 'RecordMeasure', indicator: item.indicator, source, measure },
        };
      },
      lines,
    );
  }

  /**
   * The bulk path: every item validated, the streams it touches read in one query, each item decided
   * in order on its stream's state (earlier items of the batch included), and everything appended in
   * one transaction with the revisions read. A concurrent writer makes the batch start again from
   * fresh state (nothing was written); a bad item is reported and the others go on.
   */
  private async run(
    items: Record<string, unknown>[],
    meta: { actor: Actor; correlationId: string },
    parse: (raw: Record<string, unknown>) => Parsed,
    lines?: number[],
  ): Promise<ImportReport> {
    const now = this.runtime.clock.now().toISOString();
    for (let attempt = 1; ; attempt += 1) {
      const report: Omit<ImportReport, 'status' | 'summary'> = { received: items.length, appended: 0, duplicates: 0, rejected: [], events: [] };
      const reject = (index: number, error: unknown) => {
        if (!(error instanceof AppError)) throw error;
        report.rejected.push({ ...(lines?.[index] !== undefined ? { index, line: lines[index] } : { index }), code: error.code, message: error.message });
      };
      const parsed: { index: number; p: Parsed; eventId: string; streamId: string }[] = [];
      for (const [index, raw] of items.entries()) {
        try {
          // What jsonb cannot keep rejects this item, not the batch (the HTTP layer left items to us).
          const problem = findJsonProblem(raw, { root: `items[${index}]` });
          if (problem) throw new RequestValidationError(problem.message, { field: problem.field });
          const p = parse(raw);
          parsed.push({ index, p, eventId: contentUuid(p.key), streamId: streams.declaration(p.rpps, p.year) });
        } catch (error) {
          reject(index, error);
        }
      }
      const campaigns = new Map<number, Promise<CampaignRules>>();
      const stored = await this.runtime.store.readStreams([...new Set(parsed.map((x) => x.streamId))]);
      const pending = new Map<
        string,
        {
          /**
           * The stream's head as read (null: no stream), the expected revision: the store chains the
           * batch on it in the process (planned), not event by event under its lock.
           */
          head: { revision: number; lastHash: string } | null;
          state: DeclarationState;
          ids: Set<string>;
          events: NewEvent[];
          indexes: { index: number; eventId: string }[];
        }
      >();
      for (const { index, p, eventId, streamId } of parsed) {
        try {
          const load = campaigns.get(p.year) ?? this.reader.campaignRules(p.year);
          campaigns.set(p.year, load);
          const { campaign, ruleset } = await load;
          let stream = pending.get(streamId);
          if (!stream) {
            const events = stored.get(streamId) ?? [];
            const last = events.at(-1);
            stream = {
              head: last ? { revision: last.revision, lastHash: last.hash } : null,
              state: declarationFrom(events.map((e) => defaultUpcasters.upcast(e) as KnownEvent)),
              ids: new Set(events.map((e) => e.eventId)),
              events: [],
              indexes: [],
            };
            pending.set(streamId, stream);
          }
          if (stream.ids.has(eventId)) {
            report.duplicates += 1;
            continue;
          }
          const effectiveAt = p.effectiveAt ?? now;
          // When the hours were entered (or the software pre-filled) is never after now (api.md: EFFECTIVE_AT_IN_FUTURE, as for a declaration).
          if (Date.parse(effectiveAt) > Date.parse(now)) refuse('EFFECTIVE_AT_IN_FUTURE', `effectiveAt ${p.effectiveAt} est dans le futur`, { now });
          const decided = decideDeclaration(p.command, stream.state, { rpps: p.rpps, year: p.year, campaign, ruleset });
          const envelopes = decided.map((e, i) =>
            envelope(e, { actor: meta.actor, channel: 'import', correlationId: meta.correlationId, effectiveAt }, i === 0 ? eventId : undefined),
          );
          for (const e of envelopes) {
            stream.events.push(e);
            stream.ids.add(e.eventId);
            // The state moves on with each decided event: the next line of the batch sees it.
            stream.state = evolveDeclaration(stream.state, {
              type: e.type,
              data: e.data,
              eventId: e.eventId,
              metadata: { ...e.metadata, recordedAt: now },
            } as KnownEvent);
          }
          stream.indexes.push({ index, eventId });
        } catch (error) {
          reject(index, error);
        }
      }
      const requests = [...pending.entries()].filter(([, s]) => s.events.length > 0);
      try {
        await this.runtime.store.appendBatch(
          requests.map(([streamId, s]) => ({ streamId, events: s.events, expectedRevision: s.head ? s.head.revision : 'no_stream', head: s.head })),
        );
      } catch (error) {
        if (error instanceof ConcurrencyError && mayRetry(attempt)) {
          await backoff(attempt);
          continue;
        }
        throw error;
      }
      for (const [streamId, s] of requests) {
        report.appended += s.events.length;
        for (const { index, eventId } of s.indexes) report.events.push({ index, eventId, streamId });
      }
      report.events.sort((a, b) => a.index - b.index);
      report.rejected.sort((a, b) => a.index - b.index);
      return summarise(report);
    }
  }
}

interface Parsed {
  rpps: string;
  year: number;
  effectiveAt: string | undefined;
  key: unknown;
  command: DeclarationCommand;
}

/** api.md's measure items, by indicator. */
export function toMeasure(item: MeasureItemDto): Measure {
  const need = (ok: boolean, what: string) => {
    if (!ok) refuse('VALUE_INVALID', `${item.indicator}: ${what}`);
  };
  switch (item.indicator) {
    case 'V1_TELETRANSMISSION': {
      const previousYear = typeof item.teletransmittedPreviousYear === 'boolean' ? { teletransmittedPreviousYear: item.teletransmittedPreviousYear } : {};
      const firstFse = item.firstFseOn ? { firstFseOn: item.firstFseOn } : {};
      if (item.months) {
        // api.md: with monthly counts the period depends on 2022, so the flag is needed.
        need(typeof item.teletransmittedPreviousYear === 'boolean', 'teletransmittedPreviousYear est obligatoire avec des comptes mensuels');
        return { kind: 'teletransmission', months: item.months.map((m) => ({ month: m.month, fse: m.fse, total: m.total })), ...previousYear, ...firstFse };
      }
      // api.md: whole-year counts are the measured period; teletransmittedPreviousYear is optional.
      need(item.numerator !== undefined && item.denominator !== undefined, 'months, ou numerator et denominator, sont obligatoires');
      return { kind: 'teletransmission', numerator: item.numerator!, denominator: item.denominator!, ...previousYear, ...firstFse };
    }
    case 'V2_APCV':
      need(item.numerator !== undefined, 'numerator (FSE made with ApCV) is required');
      return { kind: 'count', numerator: item.numerator! };
    case 'V2_SAS':
    case 'V1_SESAM_VITALE':
      need(typeof item.participates === 'boolean', 'participates is required');
      return { kind: 'participation', participates: item.participates! };
    default:
      need(item.numerator !== undefined && item.denominator !== undefined, 'numerator and denominator are required');
      return { kind: 'rate', numerator: item.numerator!, denominator: item.denominator! };
  }
}
