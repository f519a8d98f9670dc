import { Inject, Injectable } from '@nestjs/common';
import { defaultUpcasters, streams, type RecordedEvent } from '@forfait/events';
import type { KnownEvent } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import { RUNTIME } from '../runtime.token';

/** The first campaign year the engine knows a ruleset shape for (spec, "Other years": 2017). */
export const FIRST_YEAR = 2017;

/** Reads the streams of a doctor-year and upcasts them: a handful of streams, never a scan. */
@Injectable()
export class StreamReader {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async stream(streamId: string): Promise<{ events: KnownEvent[]; raw: RecordedEvent[]; revision: number }> {
    return this.upcast(await this.runtime.store.readStream(streamId));
  }

  upcast(raw: RecordedEvent[]): { events: KnownEvent[]; raw: RecordedEvent[]; revision: number } {
    return { events: raw.map((e) => defaultUpcasters.upcast(e) as KnownEvent), raw, revision: raw.length - 1 };
  }

  /** Several streams in one query (a command's campaign and doctor-year), each in revision order. */
  async streams(streamIds: string[]): Promise<RecordedEvent[][]> {
    const read = await this.runtime.store.readStreams(streamIds);
    return streamIds.map((id) => read.get(id) ?? []);
  }

  async campaign(year: number) {
    return this.stream(streams.campaign(year));
  }

  async doctor(rpps: string) {
    return this.stream(streams.doctor(rpps));
  }

  async declaration(rpps: string, year: number) {
    return this.stream(streams.declaration(rpps, year));
  }

  /** The declaration streams of the years before `year` (first year, carried-over justificatifs). */
  async earlier(rpps: string, year: number): Promise<KnownEvent[]> {
    const years = Array.from({ length: Math.max(0, year - FIRST_YEAR) }, (_, i) => FIRST_YEAR + i);
    const all = await Promise.all(years.map((y) => this.declaration(rpps, y)));
    return all.flatMap((s) => s.events);
  }

  /** Every stream of a doctor (profile and each year), raw, in global order. */
  async doctorHistory(rpps: string, year?: number): Promise<RecordedEvent[]> {
    const last = this.runtime.clock.now().getUTCFullYear() + 1;
    const years = year !== undefined ? [year] : Array.from({ length: last - FIRST_YEAR + 1 }, (_, i) => FIRST_YEAR + i);
    const lists = await Promise.all([this.runtime.store.readStream(streams.doctor(rpps)), ...years.map((y) => this.runtime.store.readStream(streams.declaration(rpps, y)))]);
    return lists.flat().sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  }
}
