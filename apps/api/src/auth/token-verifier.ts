import { createSecretKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { AppError } from '@forfait/events';
import type { AppConfig } from '@forfait/platform';
import { UnauthenticatedError } from './auth.errors';
import { principalFromClaims, type Principal } from './principal';

/** The longest token lifetime accepted when none is configured (AUTH_MAX_TOKEN_SECONDS). */
export const DEFAULT_MAX_TOKEN_SECONDS = 3600;

/** Clock skew tolerated between the identity provider and this server, in seconds (`iat` in the future). */
export const TOKEN_CLOCK_SKEW_SECONDS = 60;

export interface TokenSettings {
  jwtSecret?: string;
  jwksUrl?: string;
  /** Checked when set (AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE). */
  issuer?: string;
  audience?: string;
  maxTokenSeconds?: number;
  /**
   * The caisse's OpenID Connect issuer (OIDC_ISSUER): its discovery document names the JWKS that signs
   * its access tokens, and `iss` must be it (unless AUTH_JWT_ISSUER says otherwise).
   */
  oidcIssuer?: string;
  /** The claim names read for role, caisse and RPPS (OIDC_ROLE_CLAIM…; `role`, `caisse`, `rpps` by default). */
  claims?: { role: string; caisse: string; rpps: string };
}

/** 503 `IDP_UNAVAILABLE`: the identity provider's discovery document or keys could not be read. */
export class IdentityProviderUnavailableError extends AppError {
  readonly code = 'IDP_UNAVAILABLE';
}

/** The JWKS named by an issuer's discovery document, read once (again after a failure). */
function discoveredJwks(issuer: string): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const discover = async (): Promise<JWTVerifyGetKey> => {
    const url = `${issuer}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (error) {
      throw new IdentityProviderUnavailableError(`fournisseur d’identité injoignable (${url} : ${(error as Error).message}) ; réessayez plus tard`);
    }
    if (doc.issuer !== issuer || typeof doc.jwks_uri !== 'string') {
      throw new IdentityProviderUnavailableError(
        `document de découverte OpenID Connect inattendu à ${url} (issuer ${JSON.stringify(doc.issuer)}, jwks_uri ${JSON.stringify(doc.jwks_uri)})`,
      );
    }
    return createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5000 });
  };
  return async (header, token) => {
    keys ??= discover();
    try {
      return await (
        await keys
      )(header, token);
    } catch (error) {
      if (error instanceof IdentityProviderUnavailableError) keys = undefined;
      throw error;
    }
  };
}

/**
 * Verifies bearer tokens: HS256 with a shared secret (development, tests) or a JWKS (production).
 * `exp` is required and the lifetime bounded, so that a token that leaks stops working (api.md, "Auth").
 */
export class TokenVerifier {
  /** A KeyObject made once (a Uint8Array would be turned into one on every verification). */
  private readonly secret?: KeyObject;
  private readonly jwks?: JWTVerifyGetKey;
  private readonly options: JWTVerifyOptions;
  private readonly maxTokenSeconds: number;
  private readonly claims?: TokenSettings['claims'];

  constructor(settings: TokenSettings) {
    if (settings.jwksUrl) this.jwks = createRemoteJWKSet(new URL(settings.jwksUrl));
    else if (settings.oidcIssuer) this.jwks = discoveredJwks(settings.oidcIssuer);
    else if (settings.jwtSecret) this.secret = createSecretKey(Buffer.from(settings.jwtSecret, 'utf8'));
    else throw new Error('no token verification configured');
    this.maxTokenSeconds = settings.maxTokenSeconds ?? DEFAULT_MAX_TOKEN_SECONDS;
    this.claims = settings.claims;
    const issuer = settings.issuer ?? (settings.jwksUrl ? undefined : settings.oidcIssuer);
    this.options = {
      requiredClaims: ['exp'],
      ...(this.jwks ? {} : { algorithms: ['HS256'] }),
      ...(issuer ? { issuer } : {}),
      ...(settings.audience ? { audience: settings.audience } : {}),
    };
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new UnauthenticatedError('en-tête Authorization: Bearer <jeton> absent');
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) throw new UnauthenticatedError('en-tête Authorization attendu sous la forme « Bearer <jeton> »');
    let payload: JWTPayload;
    try {
      payload = this.jwks ? (await jwtVerify(m[1]!, this.jwks, this.options)).payload : (await jwtVerify(m[1]!, this.secret!, this.options)).payload;
    } catch (error) {
      if (error instanceof IdentityProviderUnavailableError) throw error;
      if (error instanceof errors.JWTExpired) throw new UnauthenticatedError('jeton expiré');
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'exp') {
        throw new UnauthenticatedError('jeton sans date d’expiration (exp) : refusé', { reason: 'EXP_REQUIRED' });
      }
      if (error instanceof errors.JWTClaimValidationFailed && (error.claim === 'iss' || error.claim === 'aud')) {
        throw new UnauthenticatedError(`jeton refusé : ${error.claim === 'iss' ? 'émetteur (iss)' : 'audience (aud)'} inattendu`, {
          reason: `${error.claim.toUpperCase()}_MISMATCH`,
        });
      }
      if (error instanceof errors.JWSSignatureVerificationFailed) {
        // The usual cause in development: a token of another data dir (CLOCK not exported for the CLI).
        const hint = this.jwks
          ? ''
          : ' : signé avec un autre secret (en développement, le CLI doit trouver le même répertoire de données : exportez le même CLOCK ou DATA_DIR que le serveur)';
        throw new UnauthenticatedError(`jeton invalide (signature non vérifiée)${hint}`, { reason: 'BAD_SIGNATURE' });
      }
      throw unreadableToken(error);
    }
    // jose checks that exp is in the future; the lifetime is ours to bound. A token issued in the
    // future (beyond the clock skew) would live longer than its exp - iat says: refused.
    const exp = payload.exp!;
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat === 'number' && payload.iat > now + TOKEN_CLOCK_SKEW_SECONDS) {
      throw new UnauthenticatedError(
        `jeton invalide : émis dans le futur (iat ${payload.iat - now} s après l’heure du serveur, au plus ${TOKEN_CLOCK_SKEW_SECONDS} s d’écart toléré)`,
        { reason: 'IAT_IN_FUTURE' },
      );
    }
    const from = typeof payload.iat === 'number' ? payload.iat : now;
    if (exp - from > this.maxTokenSeconds) {
      throw new UnauthenticatedError(`durée de vie du jeton trop longue (${exp - from} s, au plus ${this.maxTokenSeconds} s)`, { reason: 'LIFETIME_TOO_LONG' });
    }
    return principalFromClaims(payload, this.claims);
  }
}

/**
 * jose's other refusals, told in French with a stable reason (its own messages are English and
 * reach the user): a malformed token, an algorithm refused, a key the JWKS does not hold, a claim
 * (nbf, iat) out of its window. jose's wording is not passed on.
 */
function unreadableToken(error: unknown): UnauthenticatedError {
  if (error instanceof errors.JWTClaimValidationFailed) {
    const what =
      error.claim === 'nbf'
        ? 'pas encore valide (nbf dans le futur)'
        : error.claim === 'iat'
          ? 'émis dans le futur (iat)'
          : `revendication ${error.claim} refusée`;
    return new UnauthenticatedError(`jeton invalide : ${what}`, { reason: 'CLAIM_INVALID', claim: error.claim });
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new UnauthenticatedError('jeton invalide : algorithme de signature refusé', { reason: 'ALG_NOT_ALLOWED' });
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new UnauthenticatedError('jeton invalide : aucune clé unique du fournisseur d’identité ne correspond à son en-tête (kid)', {
      reason: 'KEY_NOT_FOUND',
    });
  }
  return new UnauthenticatedError('jeton illisible : ce n’est pas un JWT signé bien formé (trois segments base64url séparés par des points)', {
    reason: 'MALFORMED',
  });
}

/** Signed where the CLI and the benchmark sign theirs too (libs/platform); named here for the API's tests. */
export { signDevToken } from '@forfait/platform';

/** The verifier's settings from the configuration: the audience is the console's resource unless AUTH_JWT_AUDIENCE says otherwise. */
export function tokenSettings(config: AppConfig): TokenSettings {
  const audience = config.auth.audience ?? config.oidc?.resource;
  return {
    ...config.auth,
    ...(config.oidc ? { oidcIssuer: config.oidc.issuer } : {}),
    ...(audience ? { audience } : {}),
  };
}
