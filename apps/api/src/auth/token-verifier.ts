import { createSecretKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Role } from '@forfait/events';
import { UnauthenticatedError } from './auth.errors';
import { principalFromClaims, type Principal } from './principal';

/** Verifies bearer tokens: HS256 with a shared secret (development, tests) or a JWKS (production). */
export class TokenVerifier {
  /** A KeyObject made once (a Uint8Array would be turned into one on every verification). */
  private readonly secret?: KeyObject;
  private readonly jwks?: ReturnType<typeof createRemoteJWKSet>;

  constructor(settings: { jwtSecret?: string; jwksUrl?: string }) {
    if (settings.jwksUrl) this.jwks = createRemoteJWKSet(new URL(settings.jwksUrl));
    else if (settings.jwtSecret) this.secret = createSecretKey(Buffer.from(settings.jwtSecret, 'utf8'));
    else throw new Error('no token verification configured');
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new UnauthenticatedError('missing Authorization: Bearer <token>');
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
    let payload: JWTPayload;
    try {
      payload = this.jwks
        ? (await jwtVerify(m[1]!, this.jwks)).payload
        : (await jwtVerify(m[1]!, this.secret!, { algorithms: ['HS256'] })).payload;
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new UnauthenticatedError('token expired');
      throw new UnauthenticatedError(`invalid token (${(error as Error).message})`);
    }
    return principalFromClaims(payload as Record<string, unknown>);
  }
}

/** Development and test tokens, signed with the HS256 secret (never with a JWKS). */
export async function signDevToken(
  secret: string,
  claims: { sub?: string; role: Role; rpps?: string; caisse?: string },
  expiresIn = '8h',
): Promise<string> {
  const { sub, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub ?? `${claims.role}-${claims.rpps ?? claims.caisse ?? 'dev'}`)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
