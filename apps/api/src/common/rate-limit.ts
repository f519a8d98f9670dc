import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError } from '@forfait/events';
import type { Runtime } from '@forfait/read-models';
import type { Request } from 'express';
import type { AuthedRequest } from '../auth/auth.guard';
import { RUNTIME } from '../runtime.token';

/** 429 with Retry-After (api.md); the filter writes the header from `retryAfterSeconds`. */
export class RateLimitedError extends AppError {
  readonly code = 'RATE_LIMITED';
}

/**
 * A token bucket per principal (`sub`), in this process: `burst` requests at once, refilled at
 * `perMinute`. Enough for one API process; several behind a balancer each keep their own.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** undefined when taken; else the seconds until a token is back. */
  take(key: string): number | undefined {
    if (this.burst === 0) return undefined;
    const now = this.now();
    const perMs = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    this.buckets.set(key, b);
    if (this.buckets.size > 100_000) this.prune(now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
  }

  private prune(now: number): void {
    const full = this.burst / (this.perMinute / 60_000);
    for (const [key, b] of this.buckets) if (now - b.at > full) this.buckets.delete(key);
  }
}

const RATE_LIMITED = 'rate:limited';
/**
 * Marks an expensive endpoint (it reads a whole history, renders a PDF, or streams a file): the
 * integrity check, the audit bundle and its PDF, recap.pdf, a doctor's history, the entitlement
 * diff, the CSV import. `when` narrows it (the CSV import, not a JSON batch).
 */
export const RateLimited = (when?: (req: Request) => boolean) => SetMetadata(RATE_LIMITED, when ?? true);

/** Runs after AuthGuard (registered after it): the principal is known. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly buckets: TokenBuckets;

  constructor(
    private readonly reflector: Reflector,
    @Inject(RUNTIME) runtime: Runtime,
  ) {
    this.buckets = new TokenBuckets(runtime.config.rateLimit.burst, runtime.config.rateLimit.perMinute);
  }

  canActivate(context: ExecutionContext): boolean {
    const mark = this.reflector.get<true | ((req: Request) => boolean) | undefined>(RATE_LIMITED, context.getHandler());
    if (!mark) return true;
    // Before authentication on public routes: the principal may be absent.
    const req = context.switchToHttp().getRequest<Partial<AuthedRequest> & Request>();
    if (typeof mark === 'function' && !mark(req)) return true;
    const key = req.principal ? `${req.principal.role}:${req.principal.sub}` : `ip:${req.ip ?? ''}`;
    const wait = this.buckets.take(key);
    if (wait !== undefined) {
      throw new RateLimitedError(`trop de requêtes coûteuses pour ${req.principal?.sub ?? 'cet appelant'} : réessayez dans ${wait} s`, {
        retryAfterSeconds: wait,
      });
    }
    return true;
  }
}
