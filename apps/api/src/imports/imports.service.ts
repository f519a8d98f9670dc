import { Inject, Injectable } from '@nestjs/common';
import { AppError, contentUuid, streams, type Actor, type Measure } from '@forfait/events';
import { declarationFrom, decideDeclaration, refuse, type DeclarationCommand } from '@forfait/domain';
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

  private async run(
    items: Record<string, unknown>[],
    meta: { actor: Actor; correlationId: string },
    parse: (raw: Record<string, unknown>) => { rpps: string; year: number; effectiveAt: string | undefined; key: unknown; command: DeclarationCommand },
    lines?: number[],
  ): Promise<ImportReport> {
    const report: ImportReport = { received: items.length, appended: 0, duplicates: 0, rejected: [], events: [] };
    const now = this.runtime.clock.now().toISOString();
    for (const [index, raw] of items.entries()) {
      const where = lines?.[index] !== undefined ? { index, line: lines[index] } : { index };
      try {
        const p = parse(raw);
        const eventId = contentUuid(p.key);
        const streamId = streams.declaration(p.rpps, p.year);
        const { campaign, ruleset } = await this.campaigns.load(p.year);
        let duplicate = false;
        const result = await this.executor.execute(
          streamId,
          (events) => {
            duplicate = events.some((e) => e.eventId === eventId);
            return duplicate ? [] : decideDeclaration(p.command, declarationFrom(events), { rpps: p.rpps, year: p.year, campaign, ruleset });
          },
          { actor: meta.actor, channel: 'import', correlationId: meta.correlationId, effectiveAt: p.effectiveAt ?? now, eventIds: [eventId] },
        );
        if (duplicate) report.duplicates += 1;
        else {
          report.appended += result.events.length;
          report.events.push({ index, eventId, streamId });
        }
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        report.rejected.push({ ...where, code: error.code, message: error.message });
      }
    }
    return report;
  }
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
