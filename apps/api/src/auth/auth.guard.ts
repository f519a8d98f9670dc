import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@forfait/events';
import type { Request } from 'express';
import type { Runtime } from '@forfait/read-models';
import { RUNTIME } from '../runtime.token';
import { ForbiddenError } from './auth.errors';
import type { Principal } from './principal';
import { TokenVerifier } from './token-verifier';

export const PUBLIC = 'auth:public';
export const ROLES_KEY = 'auth:roles';
export const PUBLIC_LOG = 'auth:public-log';
/** The verifiable log's routes: without a token when the caisse publishes its log (LOG_PUBLIC=true). */
export const PublicLog = () => SetMetadata(PUBLIC_LOG, true);
/** The route needs no token (health, docs). */
export const Public = () => SetMetadata(PUBLIC, true);
/** The roles that may call the route; the handler checks the doctor scope itself. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

export type AuthedRequest = Request & { principal: Principal };

/** Every route needs a verified token unless marked @Public; @Roles narrows who may call it. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(RUNTIME) private readonly runtime: Runtime,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_LOG, targets) && this.runtime.config.log.public && !request.headers.authorization) return true;
    const principal = await this.verifier.verify(request.headers.authorization);
    request.principal = principal;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(principal.role)) {
      throw new ForbiddenError(
        `le rôle ${principal.role} ne peut pas appeler ${request.method} ${(request.route as { path?: string } | undefined)?.path ?? request.path} (rôles autorisés : ${roles.join(', ')})`,
        {
          reason: 'ROLE_NOT_ALLOWED',
        },
      );
    }
    return true;
  }
}
