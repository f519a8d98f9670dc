import type { Clock } from '@forfait/platform';
import type { EventStore } from '@forfait/store';

/** What the application layer needs of a process: the event store and the server's clock. */
export interface ApplicationContext {
  readonly store: EventStore;
  readonly clock: Clock;
}
