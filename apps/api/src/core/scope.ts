import { Inject, Injectable } from '@nestjs/common';
import { latestEffective, ofType } from '@forfait/domain';
import { DoctorYearReader } from '@forfait/application';
import { ForbiddenError } from '../auth/auth.errors';
import type { Principal } from '../auth/principal';

export type Access = 'read' | 'write';

/**
 * Who may touch a doctor's data (architecture.md, "Security"): a doctor their own RPPS only; agents
 * and controllers the doctors of their caisse (the profile as it stands now); auditors read
 * everything and write nothing; admin and system only through the routes meant for them.
 */
@Injectable()
export class Scope {
  constructor(@Inject(DoctorYearReader) private readonly reader: DoctorYearReader) {}

  async caisseOf(rpps: string): Promise<string | undefined> {
    const { events } = await this.reader.doctor(rpps);
    return latestEffective(ofType(events, 'DoctorProfileRecorded'))?.data.caisse;
  }

  /** `caisseOf`: where a query finds the doctor's caisse (the read models it reads); the store by default. */
  async assertDoctor(
    p: Principal,
    rpps: string,
    access: Access,
    allowed: Principal['role'][],
    caisseOf: (rpps: string) => Promise<string | undefined> = (r) => this.caisseOf(r),
  ): Promise<void> {
    if (!allowed.includes(p.role)) {
      throw new ForbiddenError(
        `le rôle ${p.role} ne peut pas ${access === 'write' ? 'modifier' : 'lire'} ici les données de ce médecin (rôles autorisés : ${allowed.join(', ')})`,
        { reason: 'ROLE_NOT_ALLOWED' },
      );
    }
    switch (p.role) {
      case 'doctor':
        if (p.rpps !== rpps) throw new ForbiddenError('un médecin n’agit que sur son propre RPPS', { reason: 'OTHER_DOCTOR' });
        return;
      case 'agent':
      case 'controller': {
        const caisse = await caisseOf(rpps);
        if (caisse === undefined)
          throw new ForbiddenError(`le médecin ${rpps} n’a pas de profil : aucune caisse ne peut encore agir sur son dossier`, { reason: 'NO_PROFILE' });
        if (caisse !== p.caisse)
          throw new ForbiddenError(`le médecin ${rpps} relève de la caisse ${caisse}, pas de la caisse ${p.caisse}`, { reason: 'OTHER_CAISSE' });
        return;
      }
      case 'auditor':
        if (access === 'write') throw new ForbiddenError('un auditeur ne fait que lire', { reason: 'READ_ONLY' });
        return;
      case 'admin':
      case 'system':
        return;
      case 'witness':
        throw new ForbiddenError('un témoin ne fait que lire le journal vérifiable et le cosigner', { reason: 'ROLE_NOT_ALLOWED' });
      default: {
        const _exhaustive: never = p.role;
        return _exhaustive;
      }
    }
  }
}

/** Who may read a doctor's data (api.md, "Queries"): the doctor, agents and controllers of the caisse, auditors. */
export const DOCTOR_READERS = ['doctor', 'agent', 'controller', 'auditor'] as const;
