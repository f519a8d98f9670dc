import { CURRENT_SCHEMA_VERSION, isDomainEventType, type DomainEvent } from './catalogue';
import { DECLARATION_UPCASTERS } from './catalogue/declaration.events.v1';
import type { RecordedEvent } from './envelope';
import { AppError } from './errors';

export class UnknownEventError extends AppError {
  readonly code = 'UNKNOWN_EVENT';
}

/** Turns the data of version `from` into the data of version `from + 1`. Old shapes live in `*.v1.ts`. */
export interface Upcaster {
  type: string;
  from: number;
  upcast(data: unknown): unknown;
}

/** A domain event read from the store, upcast to its current shape, with its envelope. */
export type StoredDomainEvent = Omit<RecordedEvent, 'type' | 'data'> & DomainEvent;

/**
 * Upcasting happens on read only: the stored bytes (and so the hash chain) never change.
 * The registry is data so that a new version adds one entry and its test.
 */
export class UpcasterRegistry {
  private readonly byKey = new Map<string, Upcaster>();

  constructor(
    upcasters: readonly Upcaster[] = [],
    private readonly currentVersion: (type: string) => number | undefined = (type) => (isDomainEventType(type) ? CURRENT_SCHEMA_VERSION[type] : undefined),
  ) {
    for (const u of upcasters) this.byKey.set(`${u.type}@${u.from}`, u);
  }

  upcast(event: RecordedEvent): StoredDomainEvent {
    const target = this.currentVersion(event.type);
    if (target === undefined) {
      throw new UnknownEventError(`event type ${event.type} is not in the catalogue`, { type: event.type });
    }
    let version = event.schemaVersion;
    let data = event.data;
    while (version < target) {
      const step = this.byKey.get(`${event.type}@${version}`);
      if (!step) {
        throw new UnknownEventError(`no upcaster for ${event.type} from schema version ${version} to ${target}`, {
          type: event.type,
          version,
        });
      }
      data = step.upcast(data);
      version += 1;
    }
    if (version > target) {
      throw new UnknownEventError(`${event.type} has schema version ${version}, newer than this software knows (${target})`, { type: event.type, version });
    }
    // Already current (nearly every event): the event itself, not a copy of it (a rebuild upcasts millions).
    if (version === event.schemaVersion) return event as StoredDomainEvent;
    return { ...event, schemaVersion: version, data } as StoredDomainEvent;
  }
}

/** The upcasters of this catalogue, one entry per step. */
export const UPCASTERS: readonly Upcaster[] = [...DECLARATION_UPCASTERS];

export const defaultUpcasters = new UpcasterRegistry(UPCASTERS);
