import { streams } from '@forfait/events';
import type { CommandExecutor, CommandMeta } from './command-executor';
import type { ApplicationContext } from './context';

/** What a staff member read: a doctor's history, an entitlement diff or an audit bundle, as known at an instant. */
export interface StaffRead {
  rpps: string;
  year?: number;
  resource: 'history' | 'entitlement-diff' | 'audit-bundle';
  knownAt?: string;
}

/** The roles whose reads of a doctor's file are journaled (a doctor reading their own is not). */
const STAFF = new Set(['agent', 'controller', 'auditor', 'admin']);

/**
 * The access journal (stream `access-<rpps>`): staff reads of a doctor's history and bundles, one
 * `StaffReadRecorded` each: who, when, what.
 */
export class AccessJournalHandler {
  constructor(
    private readonly context: ApplicationContext,
    private readonly executor: CommandExecutor,
  ) {}

  /** Journals the read when `meta.actor` is staff. */
  async record(read: StaffRead, meta: CommandMeta): Promise<void> {
    if (!STAFF.has(meta.actor.role)) return;
    await this.executor.execute(
      streams.access(read.rpps),
      () => [{ type: 'StaffReadRecorded', data: { rpps: read.rpps, year: read.year ?? null, resource: read.resource, knownAt: read.knownAt ?? null } }],
      meta,
    );
  }

  /** The reads journaled for a doctor, in order. */
  async list(rpps: string) {
    const events = await this.context.store.readStream(streams.access(rpps));
    return events.map((e) => ({
      eventId: e.eventId,
      at: e.metadata.recordedAt,
      actor: e.metadata.actor,
      correlationId: e.metadata.correlationId,
      ...(e.data as object),
      hash: e.hash,
    }));
  }
}
