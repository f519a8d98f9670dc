import type { Channel, Role } from '@forfait/events';
import { refuse } from '../errors';

/**
 * Who sends through which channel (api.md, "Declarations" and "Justificatifs"): a doctor on
 * amelipro, for itself and now; an agent of the doctor's caisse keys a paper form (dated by its
 * reception, or its postmark: INT-8) or a back-office entry; the system imports. The one place of
 * this rule: the boundary asks it which channel a sender is on, the decider asks it again of every
 * `Declare` whatever its origin.
 */
export const CHANNELS_OF_ROLE: Readonly<Partial<Record<Role, readonly Channel[]>>> = {
  doctor: ['amelipro'],
  agent: ['paper', 'back-office'],
  system: ['import'],
};

/** A role's channel, else 403 CHANNEL_NOT_ALLOWED (api.md, errors table). */
export function assertChannel(role: Role, channel: Channel): Channel {
  const allowed = CHANNELS_OF_ROLE[role] ?? [];
  if (allowed.includes(channel)) return channel;
  const why =
    role === 'doctor'
      ? `un médecin envoie sur amelipro, pas par « ${channel} »`
      : channel === 'amelipro'
        ? 'amelipro est le canal du médecin lui-même'
        : `le rôle ${role} n’envoie pas par « ${channel} »`;
  return refuse('CHANNEL_NOT_ALLOWED', why, { reason: 'CHANNEL_NOT_ALLOWED', allowed: [...allowed] });
}

/** What a sender states besides its document: the channel, when it was received, a postmark. */
export interface Sending {
  role: Role;
  channel?: Channel | undefined;
  effectiveAt?: string | undefined;
  postmarkedAt?: string | undefined;
}

/**
 * The channel a sending is on (`byDefault`: an agent's when it names none), after api.md's 403s:
 * a doctor sends now on amelipro (another channel: CHANNEL_NOT_ALLOWED; an `effectiveAt`:
 * EFFECTIVE_AT_NOT_ALLOWED); only an agent keys a postmark (INT-8: EFFECTIVE_AT_NOT_ALLOWED);
 * amelipro is no agent's channel. `details.reason` repeats the code for earlier consumers.
 */
export function sendingChannel(sending: Sending, byDefault: Channel): Channel {
  const { role } = sending;
  if (role === 'doctor' && sending.effectiveAt !== undefined) {
    if (sending.channel !== undefined) assertChannel(role, sending.channel);
    return refuse('EFFECTIVE_AT_NOT_ALLOWED', 'seuls les agents (papier, back office) et les imports fixent effectiveAt : un médecin envoie à l’instant', {
      reason: 'EFFECTIVE_AT_NOT_ALLOWED',
    });
  }
  const channel = assertChannel(role, sending.channel ?? (role === 'doctor' ? 'amelipro' : byDefault));
  if (sending.postmarkedAt !== undefined && role !== 'agent') {
    return refuse('EFFECTIVE_AT_NOT_ALLOWED', 'seuls les agents saisissent le cachet de la poste d’un envoi papier (postmarkedAt)', {
      reason: 'EFFECTIVE_AT_NOT_ALLOWED',
    });
  }
  return channel;
}
