import { SignJWT } from 'jose';
import type { Role } from '@forfait/events';

/**
 * Development and test tokens, signed with the HS256 secret (never with a JWKS). The default
 * expiry is the API's default maximum lifetime, so that the API accepts them. Used by the API's
 * development route, the CLI's `token` and the benchmark.
 */
export async function signDevToken(
  secret: string,
  claims: { sub?: string; role: Role; rpps?: string; caisse?: string },
  expiresIn: string | number = '1h',
): Promise<string> {
  const { sub, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub ?? `${claims.role}-${claims.rpps ?? claims.caisse ?? 'dev'}`)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
