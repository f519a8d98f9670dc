import { Inject, Injectable } from '@nestjs/common';
import { latestEffective, ofType } from '@forfait/domain';
import { ForbiddenError } from '../auth/auth.errors';
import type { Principal } from '../auth/principal';
import { StreamReader } from './stream-reader';

export type Access = 'read' | 'write';

/**
 * Who may touch a doctor's data (architecture.md, "Security"): a doctor their own RPPS only; agents
 * and controllers the doctors of their caisse (the profile as it stands now); auditors read
 * everything and write nothing; admin and system only through the routes meant for them.
 */
@Injectable()
export class Scope {
  constructor(@Inject(StreamReader) private readonly reader: StreamReader) {}

  async caisseOf(rpps: string): Promise<string | undefined> {
    const { events } = await this.reader.doctor(rpps);
    return latestEffective(ofType(events, 'DoctorProfileRecorded'))?.data.caisse;
  }

  async assertDoctor(p: Principal, rpps: string, access: Access, allowed: Principal['role'][]): Promise<void> {
    if (!allowed.includes(p.role)) {
      throw new ForbiddenError(`role ${p.role} may not ${access} this doctor's data here (allowed: ${allowed.join(', ')})`, { reason: 'ROLE_NOT_ALLOWED' });
    }
    switch (p.role) {
      case 'doctor':
        if (p.rpps !== rpps) throw new ForbiddenError('a doctor acts only on their own RPPS', { reason: 'OTHER_DOCTOR' });
        return;
      case 'agent':
      case 'controller': {
        const caisse = await this.caisseOf(rpps);
        if (caisse === undefined) throw new ForbiddenError(`doctor ${rpps} has no profile: no caisse can act on them yet`, { reason: 'NO_PROFILE' });
        if (caisse !== p.caisse) throw new ForbiddenError(`doctor ${rpps} belongs to caisse ${caisse}, not ${p.caisse}`, { reason: 'OTHER_CAISSE' });
        return;
      }
      case 'auditor':
        if (access === 'write') throw new ForbiddenError('auditors are read-only', { reason: 'READ_ONLY' });
        return;
      case 'admin':
      case 'system':
        return;
      default: {
        const _exhaustive: never = p.role;
        return _exhaustive;
      }
    }
  }
}

/** Who may read a doctor's data (api.md, "Queries"): the doctor, agents and controllers of the caisse, auditors. */
export const DOCTOR_READERS = ['doctor', 'agent', 'controller', 'auditor'] as const;
