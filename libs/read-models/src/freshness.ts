import { AppError } from '@forfait/events';
import { quoteIdent, type SqlDatabase } from '@forfait/store';

/** The read models did not reach the position a query asked for within its bound (api.md: 503, with Retry-After). */
export class ReadModelsBehindError extends AppError {
  readonly code = 'READ_MODELS_BEHIND';
}

/** How often a waiting query reads the checkpoints again. */
const POLL_MS = 20;

/**
 * Read-your-writes (api.md, "Current-state queries accept ?minPosition="): waits until each of
 * `projections` has committed its checkpoint at or past `position`, as `db` sees it, and `ready`
 * (a further condition on the same database) holds; past `ms`, READ_MODELS_BEHIND.
 *
 * `db` is the database the query then reads: on a streaming standby the checkpoint is replayed in
 * the same WAL record stream as the rows committed with it, so once the standby shows the
 * checkpoint it shows those rows too (a paused or lagging standby makes the query wait, then
 * refuse, never answer stale).
 */
export async function waitForPosition(
  db: SqlDatabase,
  schema: string,
  projections: readonly string[],
  position: bigint,
  ms: number,
  ready?: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + ms;
  let reached: bigint | undefined;
  for (;;) {
    const { rows } = await db.query<{ name: string; position: string }>(
      `SELECT name, position::text AS position FROM ${quoteIdent(schema)}.projection_checkpoints WHERE name = ANY($1::text[])`,
      [[...projections]],
    );
    const positions = projections.map((name) => rows.find((r) => r.name === name)?.position);
    reached = positions.every((p) => p !== undefined) ? positions.reduce((min, p) => (BigInt(p) < min ? BigInt(p) : min), BigInt(positions[0]!)) : 0n;
    if (reached >= position && (!ready || (await ready()))) return;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
  }
  throw new ReadModelsBehindError(
    `les modèles de lecture (${projections.join(', ')}) n’ont pas atteint la position ${position} en ${(ms / 1000).toLocaleString('fr-FR')} s (atteinte : ${reached}) ; réessayer dans un instant`,
    { minPosition: position.toString(), reached: reached.toString(), projections: [...projections], retryAfterSeconds: 1 },
  );
}
