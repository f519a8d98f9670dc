import { Inject, Injectable } from '@nestjs/common';
import { streams } from '@forfait/events';
import type { Runtime } from '@forfait/read-models';
import type { Principal } from '../auth/principal';
import { actorOf } from '../auth/principal';
import { CommandExecutor } from '../core/command-executor';
import { RUNTIME } from '../runtime.token';

const STAFF = new Set(['agent', 'controller', 'auditor', 'admin']);

/** Journals staff reads of a doctor's history and bundles: who, when, what (a doctor reading their own is not journaled). */
@Injectable()
export class AccessJournal {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
  ) {}

  async record(p: Principal, correlationId: string, what: { rpps: string; year?: number; resource: 'history' | 'entitlement-diff' | 'audit-bundle'; knownAt?: string }): Promise<void> {
    if (!STAFF.has(p.role)) return;
    await this.executor.execute(
      streams.access(what.rpps),
      () => [{ type: 'StaffReadRecorded', data: { rpps: what.rpps, year: what.year ?? null, resource: what.resource, knownAt: what.knownAt ?? null } }],
      { actor: actorOf(p), channel: 'back-office', correlationId, effectiveAt: this.runtime.clock.now().toISOString() },
    );
  }

  async list(rpps: string) {
    const events = await this.runtime.store.readStream(streams.access(rpps));
    return events.map((e) => ({ eventId: e.eventId, at: e.metadata.recordedAt, actor: e.metadata.actor, correlationId: e.metadata.correlationId, ...(e.data as object), hash: e.hash }));
  }
}
