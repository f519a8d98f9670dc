import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppError, isValidRpps } from '@forfait/events';
import type { Runtime } from '@forfait/read-models';
import { Public } from '../auth/auth.guard';
import { signDevToken } from '../auth/token-verifier';
import { RequestValidationError } from '../common/validation';
import { RUNTIME } from '../runtime.token';

/** Absent in production, as if the route did not exist. */
export class DevEndpointNotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
}

/** The roles the console's development sign-in offers (system and witness are machines). */
const DEV_ROLES = ['doctor', 'agent', 'controller', 'auditor', 'admin'] as const;
type DevRole = (typeof DEV_ROLES)[number];

/** Short-lived: the console signs in again rather than keeping a long token. */
const DEV_TOKEN_SECONDS = 15 * 60;

/**
 * The console's sign-in in development and tests: a token signed with the API's own HS256
 * development secret for the role chosen. Refused (404) when NODE_ENV=production or when tokens
 * are verified with a JWKS or an OpenID Connect issuer (production signs in through the caisse's identity provider).
 */
@ApiTags('dev')
@Controller('v1/dev')
export class DevTokensController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  @Post('tokens')
  @Public()
  @HttpCode(201)
  @ApiOperation({ summary: 'Development only: a 15-minute token for a role (404 in production)' })
  async token(@Body() body: unknown) {
    const { nodeEnv, auth, oidc } = this.runtime.config;
    if (nodeEnv === 'production' || !auth.jwtSecret || auth.jwksUrl || oidc) {
      throw new DevEndpointNotFoundError('no such route (development tokens are not offered here; see /docs)');
    }
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const role = b.role;
    if (typeof role !== 'string' || !(DEV_ROLES as readonly string[]).includes(role))
      throw new RequestValidationError(`role : une valeur parmi ${DEV_ROLES.join(', ')} est attendue`);
    const claims: { role: DevRole; rpps?: string; caisse?: string } = { role: role as DevRole };
    if (role === 'doctor') {
      if (!isValidRpps(b.rpps)) throw new RequestValidationError('rpps : un numéro RPPS valide (11 chiffres) est attendu');
      claims.rpps = b.rpps;
    }
    if (role === 'agent' || role === 'controller') {
      if (typeof b.caisse !== 'string' || !/^\d{3}$/.test(b.caisse)) throw new RequestValidationError('caisse : un code à 3 chiffres est attendu');
      claims.caisse = b.caisse;
    }
    const token = await signDevToken(auth.jwtSecret, claims, `${DEV_TOKEN_SECONDS}s`);
    return { token, expiresIn: DEV_TOKEN_SECONDS, ...claims };
  }
}
