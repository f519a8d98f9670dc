import type { ManualClock } from '@forfait/platform';
import type { AppendRequest, EventStore } from '@forfait/store';
import { windowEvents, windows, type GeneratorOptions, type PlannedEvent } from './generator';

export interface GenerateProgress {
  window: number;
  windows: number;
  events: number;
}

export interface GenerateResult {
  doctors: number;
  years: number[];
  events: number;
  streams: number;
  firstRecordedAt: string | null;
  lastRecordedAt: string | null;
  ms: number;
}

export class StoreNotEmptyError extends Error {
  readonly code = 'STORE_NOT_EMPTY';
}

/**
 * Writes a generated dataset window by window, in instant order, `chunk` events per transaction,
 * with the clock set to each chunk's last instant: the store records the history when it happened
 * (to the chunk), so replays "as known at" a past date see what the caisse would have seen.
 */
export async function writeGenerated(
  store: EventStore,
  clock: ManualClock,
  options: GeneratorOptions & { chunk?: number },
  onProgress: (p: GenerateProgress) => void = () => undefined,
): Promise<GenerateResult> {
  const started = Date.now();
  if ((await store.headPosition()) !== 0n) {
    throw new StoreNotEmptyError('the generator writes into an empty store only (its events have fixed ids): point it at a fresh schema or data directory');
  }
  const chunk = options.chunk ?? 2000;
  const all = windows(options.years);
  const streamsSeen = new Set<string>();
  let events = 0;
  let first: string | null = null;
  let last: string | null = null;
  for (const [i, [from, to]] of all.entries()) {
    const planned = windowEvents(options, from, to);
    for (const part of chunks(planned, chunk)) {
      const results = await store.appendBatch(groupByStream(part, clock));
      for (const r of results) {
        streamsSeen.add(r.streamId);
        events += r.events.length;
        const at = r.events[0]?.metadata.recordedAt;
        if (at && (first === null || at < first)) first = at;
        if (at && (last === null || at > last)) last = at;
      }
    }
    onProgress({ window: i + 1, windows: all.length, events });
  }
  return {
    doctors: options.doctors,
    years: options.years,
    events,
    streams: streamsSeen.size,
    firstRecordedAt: first,
    lastRecordedAt: last,
    ms: Date.now() - started,
  };
}

/** How far apart a chunk's first and last instants may be: its events are all recorded at the last. */
const CHUNK_SPAN_MS = 60 * 60 * 1000;

/** Consecutive runs of at most `size` events spanning at most an hour. */
function* chunks(planned: PlannedEvent[], size: number): Generator<PlannedEvent[]> {
  let start = 0;
  for (let k = 1; k <= planned.length; k += 1) {
    if (k === planned.length || k - start >= size || Date.parse(planned[k]!.at) - Date.parse(planned[start]!.at) > CHUNK_SPAN_MS) {
      yield planned.slice(start, k);
      start = k;
    }
  }
}

/** One request per stream, events in their planned order; the clock at the chunk's last instant. */
function groupByStream(part: PlannedEvent[], clock: ManualClock): AppendRequest[] {
  const byStream = new Map<string, AppendRequest>();
  for (const p of part) {
    const request = byStream.get(p.streamId) ?? { streamId: p.streamId, events: [], expectedRevision: 'any' as const };
    request.events.push(p.event);
    byStream.set(p.streamId, request);
  }
  clock.set(part[part.length - 1]!.at);
  return [...byStream.values()];
}
