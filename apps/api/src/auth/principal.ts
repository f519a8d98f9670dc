import { ROLES, isValidRpps, type Actor, type Role } from '@forfait/events';
import { UnauthenticatedError } from './auth.errors';

/** Who is calling, from the verified token's claims (api.md, "Auth"). */
export interface Principal {
  sub: string;
  role: Role;
  rpps?: string;
  caisse?: string;
}

/**
 * The claims read: `role`, `caisse`, `rpps` by default; an identity provider that names them otherwise
 * is mapped by OIDC_ROLE_CLAIM, OIDC_CAISSE_CLAIM and OIDC_RPPS_CLAIM (docs/oidc.md).
 */
export function principalFromClaims(
  claims: Record<string, unknown>,
  names: { role: string; caisse: string; rpps: string } = { role: 'role', caisse: 'caisse', rpps: 'rpps' },
): Principal {
  const { sub } = claims;
  const role = claims[names.role];
  const rpps = claims[names.rpps];
  const caisse = claims[names.caisse];
  if (typeof sub !== 'string' || sub.length === 0) throw new UnauthenticatedError('jeton sans sujet (sub) : refusé', { reason: 'SUB_REQUIRED' });
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
    throw new UnauthenticatedError(`rôle du jeton inconnu : attendu l’un de ${ROLES.join(', ')}`, { reason: 'ROLE_UNKNOWN' });
  }
  if (role === 'doctor' && !isValidRpps(rpps))
    throw new UnauthenticatedError('un jeton de médecin doit porter un RPPS valide (11 chiffres, clé de Luhn) dans sa revendication rpps', {
      reason: 'RPPS_CLAIM_INVALID',
    });
  if ((role === 'agent' || role === 'controller') && !(typeof caisse === 'string' && /^\d{3}$/.test(caisse))) {
    throw new UnauthenticatedError(
      `un jeton ${role === 'agent' ? 'd’agent' : 'de contrôleur'} doit porter le code à 3 chiffres de sa caisse dans sa revendication caisse`,
      { reason: 'CAISSE_CLAIM_INVALID' },
    );
  }
  return {
    sub,
    role: role as Role,
    ...(role === 'doctor' ? { rpps: rpps as string } : {}),
    ...(role === 'agent' || role === 'controller' ? { caisse: caisse as string } : {}),
  };
}

export function actorOf(p: Principal): Actor {
  return { sub: p.sub, role: p.role, ...(p.caisse ? { caisse: p.caisse } : {}), ...(p.rpps ? { rpps: p.rpps } : {}) };
}
