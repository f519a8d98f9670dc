import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import {
  CURRENT_SCHEMA_VERSION,
  ConcurrencyError,
  InvalidEventError,
  contentUuid,
  type Actor,
  type Channel,
  type DomainEvent,
  type NewEvent,
  type RecordedEvent,
} from '@forfait/events';
import type { KnownEvent } from '@forfait/domain';
import type { ApplicationContext } from './context';
import type { DoctorYearReader } from './doctor-year-reader';
import { backoff, mayRetry } from './retry';

/**
 * What a command's executor needs from the request it runs in: the seed its event ids derive from
 * when the client sent an Idempotency-Key, and how many streams the request has written so far (so
 * each write of one request gets ids of its own, the same ones on every retry).
 */
export interface CommandContext {
  eventIdSeed: string;
  writes: number;
}
export const commandContext = new AsyncLocalStorage<CommandContext>();

/**
 * Event ids of a keyed request's next write, by index: the same on a retry, so the executor finds
 * them in the stream. A request's writes are numbered in the order its handler makes them.
 */
export function deterministicEventIds(ctx: CommandContext, streamId: string): (i: number) => string {
  const write = ctx.writes;
  ctx.writes += 1;
  return (i) => contentUuid({ seed: ctx.eventIdSeed, streamId, write, i });
}

/** The envelope facts a command carries in from the boundary (token, headers, body). */
export interface CommandMeta {
  actor: Actor;
  channel: Channel;
  correlationId: string;
  effectiveAt: string;
  onBehalfOf?: string;
  causationId?: string | null;
  legalBasis?: string;
  /** Deterministic event ids (imports: idempotency by content), one per produced event. */
  eventIds?: string[];
}

export interface CommandResult {
  streamId: string;
  /** The stream's revision after the command (the ETag). */
  revision: number;
  position: bigint;
  events: RecordedEvent[];
}

/** The envelope of a decided event: built here only, for commands and imports alike. */
export function envelope(event: DomainEvent, meta: CommandMeta, eventId?: string): NewEvent {
  return {
    eventId: eventId ?? randomUUID(),
    type: event.type,
    schemaVersion: CURRENT_SCHEMA_VERSION[event.type],
    data: event.data,
    metadata: {
      effectiveAt: meta.effectiveAt,
      actor: meta.actor,
      ...(meta.onBehalfOf ? { onBehalfOf: { rpps: meta.onBehalfOf } } : {}),
      channel: meta.channel,
      correlationId: meta.correlationId,
      causationId: meta.causationId ?? null,
      ...(meta.legalBasis ? { legalBasis: meta.legalBasis } : {}),
    },
  };
}

/**
 * Read the stream, decide, append with the revision read. With If-Match the caller's revision must
 * be the current one (else STALE_REVISION); without it, a lost race is retried on fresh state (the
 * retry policy of ./retry), so a retry never duplicates or loses an event.
 *
 * Commands on one stream run one at a time in this process (issue 11: 32 concurrent declarations on
 * one doctor-year used to fail after five retries): they queue instead of racing, and only writers
 * of other processes can still make an append conflict, which a jittered backoff then absorbs.
 *
 * Under an Idempotency-Key the events' ids derive from the key (commandContext): when the stream
 * already holds them, the command was committed by an earlier try whose answer was lost, and its
 * result is answered again without deciding or appending anything.
 */
export class CommandExecutor {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly context: ApplicationContext,
    private readonly reader: DoctorYearReader,
  ) {}

  execute(
    streamId: string,
    decide: (events: KnownEvent[], revision: number) => DomainEvent[],
    meta: CommandMeta,
    /** `preread`: the stream as the caller just read it (with other streams, in one query), for the first attempt. */
    options: { ifMatch?: number | undefined; preread?: RecordedEvent[] | undefined } = {},
  ): Promise<CommandResult> {
    const keyed = commandContext.getStore();
    const given = meta.eventIds;
    const derived = keyed && !given ? deterministicEventIds(keyed, streamId) : undefined;
    const ids = given ?? derived;
    return this.serialised(streamId, (waited) => this.run(streamId, decide, meta, waited ? { ...options, preread: undefined } : options, ids));
  }

  /** Runs `task` after every earlier task on the same stream has settled (`waited`: there was one). */
  private serialised<T>(streamId: string, task: (waited: boolean) => Promise<T>): Promise<T> {
    const earlier = this.queues.get(streamId);
    const run = () => task(earlier !== undefined);
    const result = (earlier ?? Promise.resolve()).then(run, run);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(streamId, settled);
    void settled.then(() => {
      if (this.queues.get(streamId) === settled) this.queues.delete(streamId);
    });
    return result;
  }

  private async run(
    streamId: string,
    decide: (events: KnownEvent[], revision: number) => DomainEvent[],
    meta: CommandMeta,
    options: { ifMatch?: number | undefined; preread?: RecordedEvent[] | undefined },
    ids: string[] | ((i: number) => string) | undefined,
  ): Promise<CommandResult> {
    const idOf = (i: number): string | undefined => (Array.isArray(ids) ? ids[i] : ids?.(i));
    // The ids this command's events would carry (a command appends a handful at most).
    const probe = new Set(Array.from({ length: 16 }, (_, i) => idOf(i)).filter((id): id is string => id !== undefined));
    for (let attempt = 1; ; attempt += 1) {
      // A command that queued behind another gets no preread: the stream moved while it waited.
      const { events, raw, revision } = attempt === 1 && options.preread ? this.reader.upcast(options.preread) : await this.reader.stream(streamId);
      if (typeof ids === 'function') {
        const done = raw.filter((e) => probe.has(e.eventId));
        if (done.length > 0) {
          const last = done[done.length - 1]!;
          return { streamId, revision: last.revision, position: last.position, events: done };
        }
      }
      if (options.ifMatch !== undefined && options.ifMatch !== revision) {
        // details.position: the client reloads with minPosition and is shown the state it did not see.
        const seen = raw[raw.length - 1]?.position ?? (await this.context.store.headPosition());
        throw new ConcurrencyError(streamId, String(options.ifMatch), revision < 0 ? 'no_stream' : String(revision), seen.toString());
      }
      const decided = decide(events, revision);
      if (decided.length === 0) {
        return { streamId, revision, position: await this.context.store.headPosition(), events: [] };
      }
      try {
        const last = raw[raw.length - 1];
        const result = await this.context.store.append(
          streamId,
          decided.map((e, i) => envelope(e, meta, idOf(i))),
          { expectedRevision: revision < 0 ? 'no_stream' : revision, head: last ? { revision: last.revision, lastHash: last.hash } : null },
        );
        return { streamId, revision: result.revision, position: result.position, events: result.events };
      } catch (error) {
        const raced = error instanceof ConcurrencyError && options.ifMatch === undefined;
        // Another process committed the same keyed events first: the next read finds and answers them.
        const sameIdsCommitted = error instanceof InvalidEventError && typeof ids === 'function';
        if ((raced || sameIdsCommitted) && mayRetry(attempt)) {
          await backoff(attempt);
          continue;
        }
        // Lost the race at the store with If-Match: refused like a stale read, with the position the store has reached.
        if (error instanceof ConcurrencyError && error.position === undefined) {
          throw new ConcurrencyError(error.streamId, error.expected, error.actual, (await this.context.store.headPosition()).toString());
        }
        throw error;
      }
    }
  }
}
