import { Controller, Get, Inject, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Runtime } from '@forfait/read-models';
import { Public, type AuthedRequest } from '../auth/auth.guard';
import { RUNTIME } from '../runtime.token';

/**
 * How the console signs in (docs/oidc.md): through the caisse's identity provider when OIDC_ISSUER
 * and OIDC_CLIENT_ID are set (authorization code with PKCE, a public client), else, outside
 * production, the development role picker (POST /v1/dev/tokens).
 */
@ApiTags('console')
@Controller('v1/console')
export class ConsoleSessionController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  @Get('sign-in')
  @Public()
  @ApiOperation({ summary: 'How the console signs in: the OpenID Connect issuer and client, or the development picker' })
  signIn() {
    const { oidc, nodeEnv, auth } = this.runtime.config;
    if (oidc)
      return {
        method: 'oidc',
        oidc: { issuer: oidc.issuer, clientId: oidc.clientId, scopes: oidc.scopes, ...(oidc.resource ? { resource: oidc.resource } : {}) },
      };
    if (nodeEnv !== 'production' && auth.jwtSecret && !auth.jwksUrl) return { method: 'dev' };
    return { method: 'none', message: 'Aucune connexion n’est configurée pour la console : réglez OIDC_ISSUER et OIDC_CLIENT_ID.' };
  }

  @Get('me')
  @ApiOperation({ summary: 'The caller as the API reads their token: role, caisse, RPPS (after the claim mapping)' })
  me(@Req() req: AuthedRequest) {
    const p = req.principal;
    return { sub: p.sub, role: p.role, ...(p.caisse ? { caisse: p.caisse } : {}), ...(p.rpps ? { rpps: p.rpps } : {}) };
  }
}
