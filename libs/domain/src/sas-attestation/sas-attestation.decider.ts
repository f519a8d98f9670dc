import { isValidRpps, type SasAttestationEvent, type SasAttestationReceived } from '@forfait/events';
import type { CampaignState } from '../campaign/campaign.state';
import { refuse } from '../errors';
import { ms } from '../events';
import type { SasAttestationState } from './sas-attestation.state';

/**
 * guide §II.2 indicator 8, b: « le président de la CPTS devra attester de la liste des médecins qui
 * ont renseigné des disponibilités de soins non programmés en 2023 et ont répondu aux demandes du
 * SAS »: one document, received by the caisse, decided once by the CPAM for every doctor it lists.
 * Whether it counts (software on the list, received in time, département) is the rules' judgement
 * at `knownAt` (entitlement), not a refusal here: a list loaded later must still be able to count it.
 */
export type SasAttestationCommand =
  | ({
      type: 'ReceiveSasAttestation';
      /** When the caisse received it (INT-8); `now` when not given. */
      effectiveAt: string;
      now: string;
    } & SasAttestationReceived['data'])
  | { type: 'DecideSasAttestation'; decision: 'validated' | 'rejected'; reason?: string };

export interface SasAttestationContext {
  campaign: CampaignState;
}

/** At most this many doctors on one attestation (a CPTS's members; bounds the decision's fan-out). */
export const MAX_SAS_ATTESTATION_DOCTORS = 500;

/** decide(command, state) → events for the stream `sas-attestation-<id>`. */
export function decideSasAttestation(command: SasAttestationCommand, state: SasAttestationState, ctx: SasAttestationContext): SasAttestationEvent[] {
  switch (command.type) {
    case 'ReceiveSasAttestation': {
      if (ctx.campaign.status === 'none') return refuse('CAMPAIGN_NOT_FOUND', `aucune campagne ${command.year} n’est ouverte`);
      if (state.status !== 'none') return refuse('VALUE_INVALID', `l’attestation ${command.attestationId} est déjà enregistrée`);
      if (ms(command.effectiveAt) > ms(command.now)) {
        return refuse('EFFECTIVE_AT_IN_FUTURE', `effectiveAt ${command.effectiveAt} est dans le futur`, { now: command.now });
      }
      const cpts = command.cpts.trim();
      const software = command.software.trim();
      if (!cpts) return refuse('VALUE_INVALID', 'cpts : le nom de la CPTS est requis');
      if (!software) return refuse('VALUE_INVALID', 'software : le logiciel SAS est requis');
      if (command.rpps.length === 0) return refuse('VALUE_INVALID', 'rpps : l’attestation liste au moins un médecin');
      if (command.rpps.length > MAX_SAS_ATTESTATION_DOCTORS)
        return refuse('VALUE_INVALID', `rpps : au plus ${MAX_SAS_ATTESTATION_DOCTORS} médecins par attestation`);
      const bad = command.rpps.filter((r) => !isValidRpps(r));
      if (bad.length > 0) return refuse('VALUE_INVALID', `rpps : numéro(s) RPPS invalide(s) ${bad.join(', ')}`, { rpps: bad });
      if (new Set(command.rpps).size !== command.rpps.length) return refuse('VALUE_INVALID', 'rpps : un médecin est listé deux fois');
      return [
        {
          type: 'SasAttestationReceived',
          data: {
            attestationId: command.attestationId,
            year: command.year,
            caisse: command.caisse,
            cpts,
            software,
            rpps: command.rpps,
            sha256: command.sha256,
            size: command.size,
            mediaType: command.mediaType,
          },
        },
      ];
    }
    case 'DecideSasAttestation': {
      if (state.status === 'none') return refuse('JUSTIFICATIF_NOT_FOUND', 'attestation SAS inconnue');
      if (state.status !== 'pending') {
        return refuse(
          'JUSTIFICATIF_ALREADY_DECIDED',
          `l’attestation SAS ${state.attestationId} a déjà été ${state.status === 'validated' ? 'validée' : 'rejetée'}`,
          { status: state.status },
        );
      }
      const ref = { attestationId: state.attestationId, year: state.year, rpps: state.rpps };
      if (command.decision === 'rejected') {
        const reason = command.reason?.trim();
        if (!reason) return refuse('REASON_REQUIRED', 'un rejet donne son motif');
        return [{ type: 'SasAttestationRejected', data: { ...ref, reason } }];
      }
      return [{ type: 'SasAttestationValidated', data: ref }];
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}
