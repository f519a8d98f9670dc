import { ROLES, isValidRpps, type Actor, type Role } from '@forfait/events';
import { UnauthenticatedError } from './auth.errors';

/** Who is calling, from the verified token's claims (api.md, "Auth"). */
export interface Principal {
  sub: string;
  role: Role;
  rpps?: string;
  caisse?: string;
}

export function principalFromClaims(claims: Record<string, unknown>): Principal {
  const { sub, role, rpps, caisse } = claims;
  if (typeof sub !== 'string' || sub.length === 0) throw new UnauthenticatedError('token has no subject (sub)');
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
    throw new UnauthenticatedError(`token role must be one of ${ROLES.join(', ')}`);
  }
  if (role === 'doctor' && !isValidRpps(rpps)) throw new UnauthenticatedError('a doctor token carries a valid rpps claim');
  if ((role === 'agent' || role === 'controller') && !(typeof caisse === 'string' && /^\d{3}$/.test(caisse))) {
    throw new UnauthenticatedError(`an ${role} token carries a 3-digit caisse claim`);
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
