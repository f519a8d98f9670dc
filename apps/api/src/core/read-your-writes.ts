import { Inject, Injectable } from '@nestjs/common';
import { waitForPosition, type Runtime } from '@forfait/read-models';
import { RequestValidationError } from '../common/validation';
import { RUNTIME } from '../runtime.token';

/** What the OpenAPI says of `minPosition` on every current-state query. */
export const MIN_POSITION_DOC =
  'The `position` a command answered: the query waits (READ_MODELS_WAIT_MS, 5 s by default) until the read models it reads (on the standby, with READ_DATABASE_URL) reach it, else 503 READ_MODELS_BEHIND with Retry-After. Omitted: the store’s head when the request arrives.';

/** A position as a command answers it: a decimal integer, 0 … 2⁶³−1. */
export function parseMinPosition(value: string | undefined): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,19}$/.test(value) || BigInt(value) > 9223372036854775807n) {
    throw new RequestValidationError('minPosition : la position répondue par une commande est attendue (un entier ≥ 0)', { field: 'minPosition' });
  }
  return BigInt(value);
}

/**
 * The query side's read-your-writes (api.md, "Current-state queries"): a query names the
 * projections it reads and the position it must see; this waits, bounded, on the database the
 * queries read (`runtime.queryDb`: the standby when there is one), then the query reads there.
 */
@Injectable()
export class ReadYourWrites {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  /** The database current-state queries read: the standby with READ_DATABASE_URL, else the read models' own. */
  get db() {
    return this.runtime.queryDb;
  }

  get schema(): string {
    return this.runtime.readModelSchema;
  }

  /**
   * Waits until `projections` reach `minPosition` (or, without one, the store's head as the
   * request arrives: a client that sends none still reads what was written before it asked).
   */
  async reach(minPosition: string | undefined, projections: readonly string[], ready?: () => Promise<boolean>): Promise<void> {
    const position = parseMinPosition(minPosition) ?? (await this.runtime.store.headPosition());
    await waitForPosition(this.runtime.queryDb, this.runtime.readModelSchema, projections, position, this.runtime.config.readModelsWaitMs, ready);
  }
}
