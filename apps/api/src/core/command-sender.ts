import {
  applyDecorators,
  Controller,
  createParamDecorator,
  Inject,
  Injectable,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { map, type Observable } from 'rxjs';
import type { Channel } from '@forfait/events';
import type { Runtime } from '@forfait/read-models';
import type { CommandMeta, Sent } from '@forfait/application';
import type { AuthedRequest } from '../auth/auth.guard';
import { actorOf, type Principal } from '../auth/principal';
import { parseIfMatch } from '../common/validation';
import type { ContextRequest } from './request-context';
import { RUNTIME } from '../runtime.token';

/**
 * Who sends a command and how, as the token and the headers say: the command metadata of
 * libs/application (`CommandMeta`) built in this one place for every command controller.
 */
export class CommandSender {
  constructor(
    readonly principal: Principal,
    readonly correlationId: string,
    /** The server's now as the request reaches its handler: a command's `now` and its envelope's default `effectiveAt` agree. */
    readonly now: string,
    private readonly ifMatchHeader: string | undefined,
  ) {}

  /**
   * The envelope facts: the channel, when it took effect (now unless given) and, for an agent
   * acting on a doctor's file (`forDoctor`), the doctor it acts for (`onBehalfOf`).
   */
  meta(channel: Channel, { effectiveAt, forDoctor }: { effectiveAt?: string | undefined; forDoctor?: string | undefined } = {}): CommandMeta {
    return {
      actor: actorOf(this.principal),
      channel,
      correlationId: this.correlationId,
      effectiveAt: effectiveAt ?? this.now,
      ...(forDoctor !== undefined && this.principal.role === 'agent' ? { onBehalfOf: forDoctor } : {}),
    };
  }

  /** The metadata and the revision the client saw (If-Match; a malformed one: 400 INVALID_IF_MATCH), as a handler takes them. */
  sent(channel: Channel, options: { effectiveAt?: string | undefined; forDoctor?: string | undefined } = {}): Sent {
    return { meta: this.meta(channel, options), ifMatch: parseIfMatch(this.ifMatchHeader) };
  }
}

type SenderRequest = AuthedRequest & ContextRequest & { sender?: CommandSender };

/**
 * On every command controller: gives the request its CommandSender (`@Sender()`), and sets the
 * ETag of a command's answer (api.md, "Concurrency": every command answers an ETag, the revision
 * the stream reached, which the answer carries as `revision`). Queries set their stream's ETag
 * themselves (api.md names them), so only commands (not GET) get it here.
 */
@Injectable()
export class CommandInterceptor implements NestInterceptor {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<SenderRequest>();
    const res = http.getResponse<Response>();
    req.sender = new CommandSender(req.principal, req.correlationId, this.runtime.clock.now().toISOString(), req.header('if-match'));
    if (req.method === 'GET') return next.handle();
    return next.handle().pipe(
      map((body: unknown) => {
        const revision = typeof body === 'object' && body !== null ? (body as { revision?: unknown }).revision : undefined;
        if (typeof revision === 'number') res.setHeader('ETag', `"${revision}"`);
        return body;
      }),
    );
  }
}

/** The request's CommandSender; the controller must be under CommandInterceptor. */
export const Sender = createParamDecorator((_data: unknown, context: ExecutionContext): CommandSender => {
  const { sender } = context.switchToHttp().getRequest<SenderRequest>();
  if (!sender) throw new Error('@Sender() needs the CommandInterceptor on its controller');
  return sender;
});

/** A controller of commands at `path` (OpenAPI `tag`, bearer token), under the CommandInterceptor: its routes take `@Sender()`, its commands answer an ETag. */
export const CommandController = (path: string, tag: string): ClassDecorator =>
  applyDecorators(ApiTags(tag), ApiBearerAuth(), Controller(path), UseInterceptors(CommandInterceptor));
