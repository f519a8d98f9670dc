import { Inject, Injectable } from '@nestjs/common';
import { AppError, ConcurrencyError, contentUuid, defaultUpcasters, streams, type Actor, type Measure, type NewEvent } from '@forfait/events';
import { declarationFrom, decideDeclaration, evolveDeclaration, refuse, type DeclarationCommand, type DeclarationState, type KnownEvent } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import { validateValue } from '../common/validate-value';
import { CommandExecutor } from '../core/command-executor';
import { CampaignContext } from '../core/campaign-context';
import { RUNTIME } from '../runtime.token';
import { MeasureItemDto, PrefillItemDto } from './imports.dto';
import { VALUE_DTO } from '../doctors/doctors.dto';

export interface ImportReport {
  received: number;
  appended: number;
  duplicates: number;
  rejected: { index: number; line?: number; code: string; message: string }[];
  events: { index: number; eventId: string; streamId: string }[];
}

/**
 * Batch imports of pre-fills and measures. Each item is validated and decided on its own; a bad
 * item is reported with its index (and line for CSV) while the valid ones are kept. Event ids are
 * derived from the item's content, so re-sending a batch appends nothing new.
 */
@Injectable()
export class ImportsService {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
    @Inject(CampaignContext) private readonly campaigns: CampaignContext,
  ) {}

  async prefills(source: string, items: Record<string, unknown>[], meta: { actor: Actor; correlationId: string }): Promise<ImportReport> {
    return this.run(items, meta, (raw) => {
      const item = validateValue(PrefillItemDto, raw, 'item');
      const value = validateValue(VALUE_DTO[item.indicator]!, item.value, 'item.value');
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
      const report: ImportReport = { received: items.length, appended: 0, duplicates: 0, rejected: [], events: [] };
      const reject = (index: number, error: unknown) => {
        if (!(error instanceof AppError)) throw error;
        report.rejected.push({ ...(lines?.[index] !== undefined ? { index, line: lines[index] } : { index }), code: error.code, message: error.message });
      };
      const parsed: { index: number; p: Parsed; eventId: string; streamId: string }[] = [];
      for (const [index, raw] of items.entries()) {
        try {
          const p = parse(raw);
          parsed.push({ index, p, eventId: contentUuid(p.key), streamId: streams.declaration(p.rpps, p.year) });
        } catch (error) {
          reject(index, error);
        }
      }
      const campaigns = new Map<number, Promise<Awaited<ReturnType<CampaignContext['load']>>>>();
      const stored = await this.runtime.store.readStreams([...new Set(parsed.map((x) => x.streamId))]);
      const pending = new Map<string, { revision: number; state: DeclarationState; ids: Set<string>; events: NewEvent[]; indexes: { index: number; eventId: string }[] }>();
      for (const { index, p, eventId, streamId } of parsed) {
        try {
          const load = campaigns.get(p.year) ?? this.campaigns.load(p.year);
          campaigns.set(p.year, load);
          const { campaign, ruleset } = await load;
          let stream = pending.get(streamId);
          if (!stream) {
            const events = stored.get(streamId) ?? [];
            stream = { revision: events.length - 1, state: declarationFrom(events.map((e) => defaultUpcasters.upcast(e) as KnownEvent)), ids: new Set(events.map((e) => e.eventId)), events: [], indexes: [] };
            pending.set(streamId, stream);
          }
          if (stream.ids.has(eventId)) {
            report.duplicates += 1;
            continue;
          }
          const effectiveAt = p.effectiveAt ?? now;
          const decided = decideDeclaration(p.command, stream.state, { rpps: p.rpps, year: p.year, campaign, ruleset });
          const envelopes = decided.map((e, i) => this.executor.envelope(e, { actor: meta.actor, channel: 'import', correlationId: meta.correlationId, effectiveAt }, i === 0 ? eventId : undefined));
          for (const e of envelopes) {
            stream.events.push(e);
            stream.ids.add(e.eventId);
            // The state moves on with each decided event: the next line of the batch sees it.
            stream.state = evolveDeclaration(stream.state, { type: e.type, data: e.data, eventId: e.eventId, metadata: { ...e.metadata, recordedAt: now } } as KnownEvent);
          }
          stream.indexes.push({ index, eventId });
        } catch (error) {
          reject(index, error);
        }
      }
      const requests = [...pending.entries()].filter(([, s]) => s.events.length > 0);
      try {
        await this.runtime.store.appendBatch(requests.map(([streamId, s]) => ({ streamId, events: s.events, expectedRevision: s.revision < 0 ? 'no_stream' : s.revision })));
      } catch (error) {
        if (error instanceof ConcurrencyError && attempt < 5) continue;
        throw error;
      }
      for (const [streamId, s] of requests) {
        report.appended += s.events.length;
        for (const { index, eventId } of s.indexes) report.events.push({ index, eventId, streamId });
      }
      report.events.sort((a, b) => a.index - b.index);
      report.rejected.sort((a, b) => a.index - b.index);
      return report;
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
      need(typeof item.teletransmittedPreviousYear === 'boolean', 'teletransmittedPreviousYear is required');
      if (item.months) {
        return { kind: 'teletransmission', months: item.months.map((m) => ({ month: m.month, fse: m.fse, total: m.total })), teletransmittedPreviousYear: item.teletransmittedPreviousYear!, ...(item.firstFseOn ? { firstFseOn: item.firstFseOn } : {}) };
      }
      need(item.numerator !== undefined && item.denominator !== undefined, 'months, or numerator and denominator, are required');
      return { kind: 'teletransmission', numerator: item.numerator!, denominator: item.denominator!, teletransmittedPreviousYear: item.teletransmittedPreviousYear!, ...(item.firstFseOn ? { firstFseOn: item.firstFseOn } : {}) };
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
