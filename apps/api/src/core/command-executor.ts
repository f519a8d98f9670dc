import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CURRENT_SCHEMA_VERSION, ConcurrencyError, type Actor, type Channel, type DomainEvent, type NewEvent, type RecordedEvent } from '@forfait/events';
import type { KnownEvent } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import { RUNTIME } from '../runtime.token';
import { StreamReader } from './stream-reader';

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

/**
 * Read the stream, decide, append with the revision read. With If-Match the caller's revision must
 * be the current one (else STALE_REVISION); without it, a lost race is retried on fresh state, so a
 * retry never duplicates or loses an event.
 */
@Injectable()
export class CommandExecutor {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(StreamReader) private readonly reader: StreamReader,
  ) {}

  async execute(
    streamId: string,
    decide: (events: KnownEvent[], revision: number) => DomainEvent[],
    meta: CommandMeta,
    /** `preread`: the stream as the caller just read it (with other streams, in one query), for the first attempt. */
    options: { ifMatch?: number; preread?: RecordedEvent[] } = {},
  ): Promise<CommandResult> {
    for (let attempt = 1; ; attempt += 1) {
      const { events, raw, revision } = attempt === 1 && options.preread ? this.reader.upcast(options.preread) : await this.reader.stream(streamId);
      if (options.ifMatch !== undefined && options.ifMatch !== revision) {
        throw new ConcurrencyError(streamId, String(options.ifMatch), revision < 0 ? 'no_stream' : String(revision));
      }
      const decided = decide(events, revision);
      if (decided.length === 0) {
        return { streamId, revision, position: await this.runtime.store.headPosition(), events: [] };
      }
      try {
        const last = raw[raw.length - 1];
        const result = await this.runtime.store.append(streamId, decided.map((e, i) => this.envelope(e, meta, meta.eventIds?.[i])), {
          expectedRevision: revision < 0 ? 'no_stream' : revision,
          head: last ? { revision: last.revision, lastHash: last.hash } : null,
        });
        return { streamId, revision: result.revision, position: result.position, events: result.events };
      } catch (error) {
        if (error instanceof ConcurrencyError && options.ifMatch === undefined && attempt < 5) continue;
        throw error;
      }
    }
  }

  envelope(event: DomainEvent, meta: CommandMeta, eventId?: string): NewEvent {
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
}
