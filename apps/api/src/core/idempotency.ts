import { createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { AppError, canonicalJson } from '@forfait/events';
import { commandContext, type CommandContext } from '@forfait/application';
import type { Runtime } from '@forfait/read-models';
import { assertSchemaName, migrate, quoteIdent, type SqlDatabase } from '@forfait/store';
import type { Request, Response } from 'express';
import { Observable } from 'rxjs';
import type { AuthedRequest } from '../auth/auth.guard';
import { RequestValidationError } from '../common/validation';
import { RUNTIME } from '../runtime.token';

export class IdempotencyKeyReusedError extends AppError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
}

/** A kept answer, sent again as it was (status and body) by the exception filter. */
export class ReplayedAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** Answers are kept at least this long (api.md: 24 h), then purged. */
export const IDEMPOTENCY_RETENTION_HOURS = 48;

interface StoredAnswer {
  request_hash: string;
  status: number | null;
  body: unknown;
  etag: string | null;
}

/**
 * Idempotency keys, kept in the database next to the store (they survive a restart). A row is
 * written before the command runs (`pending`, with the request's hash: another body under the same
 * key is refused even after a crash) and completed with the answer before the answer leaves.
 */
@Injectable()
export class IdempotencyStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('idempotency');
  private readonly table: string;
  private ready: Promise<void> | undefined;
  private purger: NodeJS.Timeout | undefined;

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {
    this.table = `${quoteIdent(assertSchemaName(runtime.config.databaseSchema))}.api_idempotency`;
  }

  private get db(): SqlDatabase {
    return this.runtime.readDb;
  }

  private async setup(): Promise<void> {
    this.ready ??= (async () => {
      // Under a lock: two APIs taking their first command together would race on CREATE ... IF NOT EXISTS.
      await migrate(
        this.db,
        [
          `CREATE TABLE IF NOT EXISTS ${this.table} (
             scope text PRIMARY KEY,
             request_hash text NOT NULL,
             status integer,
             body jsonb,
             etag text,
             created_at timestamptz NOT NULL DEFAULT now(),
             completed_at timestamptz
           )`,
        ],
        'forfait-idempotency',
      );
      await this.purge();
      this.purger = setInterval(() => void this.purge().catch((e: unknown) => this.logger.warn(`purge: ${(e as Error).message}`)), 3_600_000);
      this.purger.unref();
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async purge(): Promise<void> {
    await this.db.query(`DELETE FROM ${this.table} WHERE created_at < now() - make_interval(hours => $1)`, [IDEMPOTENCY_RETENTION_HOURS]);
  }

  /** The stored answer under this scope, after making sure the row exists (pending) with this request's hash. */
  async begin(scope: string, requestHash: string): Promise<StoredAnswer> {
    await this.setup();
    await this.db.query(`INSERT INTO ${this.table} (scope, request_hash) VALUES ($1, $2) ON CONFLICT (scope) DO NOTHING`, [scope, requestHash]);
    const { rows } = await this.db.query<StoredAnswer>(`SELECT request_hash, status, body, etag FROM ${this.table} WHERE scope = $1`, [scope]);
    return rows[0]!;
  }

  async complete(scope: string, status: number, body: unknown, etag: string | null): Promise<void> {
    await this.db.query(`UPDATE ${this.table} SET status = $2, body = $3::jsonb, etag = $4, completed_at = now() WHERE scope = $1`, [
      scope,
      status,
      JSON.stringify(body ?? null),
      etag,
    ]);
  }

  /** The table exists before the first request (a store that is down at boot still lets the API start). */
  async onModuleInit(): Promise<void> {
    await this.setup().catch((e: unknown) => this.logger.warn(`idempotency keys not ready yet: ${(e as Error).message}`));
  }

  onModuleDestroy(): void {
    if (this.purger) clearInterval(this.purger);
  }
}

const KEY = /^[\x21-\x7e]{1,255}$/;
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type Req_ = Request & Partial<AuthedRequest> & { file?: { buffer: Buffer }; idempotencyHandled?: boolean; streamedIdempotency?: { scope: string } };

/**
 * `Idempotency-Key` on every command (api.md): the same key and body answer as the first time and
 * append nothing; another body under the key is 422 IDEMPOTENCY_KEY_REUSED. Keys are scoped to the
 * caller (`sub`) and the route; the body is compared as a JSON value (key order ignored), or for
 * multipart as its fields and the file's bytes, or for a streamed body (a text/csv extract) as its
 * SHA-256, checked by its handler once read (`checkStreamedBody`). Every answer but a 5xx is kept and
 * replayed. A crash after the append and before the answer is covered too: the events' ids derive
 * from the key, so the retry finds them in the stream and answers them (CommandExecutor) instead of
 * appending again.
 *
 * Registered globally; a multipart route adds it again after its FileInterceptor, where the fields and
 * the file are known (the global one leaves multipart requests to it).
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(@Inject(IdempotencyStore) private readonly keys: IdempotencyStore) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<Req_>();
    const res = context.switchToHttp().getResponse<Response>();
    const key = req.header('idempotency-key');
    if (key === undefined || !WRITES.has(req.method) || req.idempotencyHandled) return next.handle();
    const multipart = Boolean(req.is('multipart/form-data'));
    if (multipart && !req.file && (req.body === undefined || Object.keys(req.body as object).length === 0)) return next.handle();
    req.idempotencyHandled = true;
    if (!KEY.test(key)) throw new RequestValidationError('Idempotency-Key est une chaîne de 1 à 255 caractères ASCII visibles');

    const route = `${req.method} ${(req.route as { path?: string } | undefined)?.path ?? req.path}`;
    const scope = sha256(canonicalJson({ sub: req.principal?.sub ?? null, route, key }));
    if (req.is('text/csv')) {
      // Not read yet (its handler streams it to disk): the handler checks the key once it knows the body's hash.
      req.streamedIdempotency = { scope };
      return next.handle();
    }
    const requestHash = sha256(
      canonicalJson({
        path: req.path,
        query: req.query,
        body: (req.body as unknown) ?? null,
        ...(req.file ? { file: sha256(req.file.buffer) } : {}),
      }),
    );
    await checkKey(this.keys, res, scope, requestHash, route);
    keepAnswer(this.keys, res, scope);
    const ctx: CommandContext = { eventIdSeed: sha256(`${scope}:${requestHash}`), writes: 0 };
    return new Observable((subscriber) => commandContext.run(ctx, () => next.handle().subscribe(subscriber)));
  }
}

/** The answer is kept before it leaves, whether it comes from the handler or from the error filter. */
function keepAnswer(keys: IdempotencyStore, res: Response, scope: string): void {
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    if (res.statusCode >= 500) return json(body);
    const etag = res.getHeader('etag');
    void keys
      .complete(scope, res.statusCode, body, typeof etag === 'string' ? etag : null)
      .catch(() => undefined) // the events' ids still make a retry safe
      .finally(() => json(body));
    return res;
  };
}

/** Records the key's request (pending) or answers as the first time, or refuses another request under it. */
async function checkKey(keys: IdempotencyStore, res: Response, scope: string, requestHash: string, route: string): Promise<void> {
  const stored = await keys.begin(scope, requestHash);
  if (stored.request_hash !== requestHash) {
    throw new IdempotencyKeyReusedError('cette Idempotency-Key a déjà servi pour une autre requête (corps ou chemin différents)', { route });
  }
  if (stored.status !== null) {
    res.setHeader('Idempotent-Replayed', 'true');
    if (stored.etag) res.setHeader('ETag', stored.etag);
    // Sent by the error filter, the one place that writes answers outside the handlers' own.
    throw new ReplayedAnswer(stored.status, stored.body);
  }
}

/**
 * For a handler that streams its body (a text/csv extract): once the body's SHA-256 is known, and
 * before anything is kept of it, the key's check (a no-op without an Idempotency-Key). Throws the
 * first answer (ReplayedAnswer) or IDEMPOTENCY_KEY_REUSED; the caller removes what it wrote.
 */
export async function checkStreamedBody(keys: IdempotencyStore, req: Request, res: Response, bodySha256: string): Promise<void> {
  const scope = (req as Req_).streamedIdempotency?.scope;
  if (!scope) return;
  const route = `${req.method} ${(req.route as { path?: string } | undefined)?.path ?? req.path}`;
  await checkKey(keys, res, scope, sha256(canonicalJson({ path: req.path, query: req.query, body: { sha256: bodySha256 } })), route);
  keepAnswer(keys, res, scope);
}

function sha256(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}
