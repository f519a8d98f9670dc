import { assertSchemaName, migrate, quoteIdent, type SqlDatabase } from '@forfait/store';

/**
 * The import batches the system received (JSON pre-fills and measures, CSV extracts), with their
 * report: what was appended, what was a duplicate, and every rejected item by index (and line), so
 * that a batch with rejected items cannot pass unseen (issue 21: the console's imports screen).
 *
 * A table rather than events, like the journal of accepted jobs: a batch is a delivery, not a fact
 * about a doctor; the facts it leads to are events carrying its correlationId. A batch is bound to
 * the caisses of the doctors its items name (as the registry knows them when it is recorded); a
 * batch whose items name no known doctor is bound to none and shown to every caisse.
 */
export interface ImportBatchRejection {
  index: number;
  line?: number;
  code: string;
  message: string;
  /** The item's doctor and caisse, when the item names a doctor the registry knows. */
  rpps?: string;
  caisse?: string;
}

export interface ImportBatch {
  id: string;
  kind: 'prefills' | 'measures' | 'measures-csv';
  source: string;
  receivedAt: string;
  correlationId: string;
  received: number;
  appended: number;
  duplicates: number;
  /** Every rejected item of the batch (a CSV report keeps its first thousand). */
  rejectedCount: number;
  status: 'complete' | 'partial' | 'rejected';
  summary: string;
  /** The caisses of the doctors its items name; empty: bound to none. */
  caisses: string[];
  rejected: ImportBatchRejection[];
}

const table = (schema: string) => `${quoteIdent(assertSchemaName(schema))}.import_batches`;

export async function setupImportBatches(db: SqlDatabase, schema: string): Promise<void> {
  await migrate(
    db,
    [
      `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(assertSchemaName(schema))}`,
      `CREATE TABLE IF NOT EXISTS ${table(schema)} (
         id text PRIMARY KEY, kind text NOT NULL, source text NOT NULL, received_at timestamptz NOT NULL, correlation_id text NOT NULL,
         received integer NOT NULL, appended integer NOT NULL, duplicates integer NOT NULL, rejected_count integer NOT NULL,
         status text NOT NULL, summary text NOT NULL, caisses text[] NOT NULL, rejected jsonb NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS import_batches_received ON ${table(schema)} (received_at DESC)`,
    ],
    'forfait-import-batches',
  );
}

/**
 * Records a batch once (its id: the request's correlation id, or the CSV job's id). `binding.named`:
 * the doctors its items name, whose caisses the batch is bound to; `binding.rejectedRpps[i]`: the
 * doctor rejection i names, whose caisse it is shown to.
 */
/** The binding of a batch whose doctors' caisses could not be read: seen by auditors and admins only. */
export const UNREADABLE_BINDING = '?';

export async function recordImportBatch(
  db: SqlDatabase,
  schema: string,
  batch: Omit<ImportBatch, 'caisses' | 'rejected'> & { rejected: Omit<ImportBatchRejection, 'rpps' | 'caisse'>[] },
  binding: { named: Iterable<string>; rejectedRpps: readonly (string | undefined)[] },
): Promise<void> {
  const named = [...new Set([...binding.named, ...binding.rejectedRpps.filter((r): r is string => r !== undefined)])];
  // The registry's doctors (its table in the same schema). A registry it cannot read never loses the
  // batch, and never shows it to every caisse either: it is bound to UNREADABLE_BINDING, which no
  // caisse's filter matches (auditors and admins, who list without one, still see it).
  const rows = named.length
    ? await db
        .query<{ rpps: string; caisse: string }>(`SELECT rpps, caisse FROM ${quoteIdent(assertSchemaName(schema))}.doctors WHERE rpps = ANY($1::text[])`, [
          named,
        ])
        .then((r) => r.rows)
        .catch(() => undefined)
    : [];
  const caisseOf = new Map((rows ?? []).map((r) => [r.rpps, r.caisse]));
  const caisses = rows ? [...new Set(rows.map((r) => r.caisse))].sort() : [UNREADABLE_BINDING];
  const rejected = batch.rejected.map((r, i) => {
    const rpps = binding.rejectedRpps[i];
    const caisse = rpps !== undefined ? caisseOf.get(rpps) : undefined;
    return { ...r, ...(rpps !== undefined ? { rpps } : {}), ...(caisse !== undefined ? { caisse } : {}) };
  });
  await db.query(
    `INSERT INTO ${table(schema)} (id, kind, source, received_at, correlation_id, received, appended, duplicates, rejected_count, status, summary, caisses, rejected)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text[], $13::jsonb) ON CONFLICT (id) DO NOTHING`,
    [
      batch.id,
      batch.kind,
      batch.source,
      batch.receivedAt,
      batch.correlationId,
      batch.received,
      batch.appended,
      batch.duplicates,
      batch.rejectedCount,
      batch.status,
      batch.summary,
      caisses,
      JSON.stringify(rejected),
    ],
  );
}

/**
 * The batches, newest first. With `caisse`: those bound to it or to none, and of their rejections
 * those of its doctors or of no known doctor (another caisse's are not its business).
 */
export async function listImportBatches(db: SqlDatabase, schema: string, filter: { caisse?: string; limit?: number }): Promise<ImportBatch[]> {
  const { rows } = await db.query<{
    id: string;
    kind: ImportBatch['kind'];
    source: string;
    received_at: Date | string;
    correlation_id: string;
    received: number | string;
    appended: number | string;
    duplicates: number | string;
    rejected_count: number | string;
    status: ImportBatch['status'];
    summary: string;
    caisses: string[];
    rejected: ImportBatchRejection[] | string;
  }>(`SELECT * FROM ${table(schema)} WHERE ($1::text IS NULL OR cardinality(caisses) = 0 OR $1 = ANY(caisses)) ORDER BY received_at DESC, id LIMIT $2`, [
    filter.caisse ?? null,
    filter.limit ?? 200,
  ]);
  return rows.map((r) => {
    const all = typeof r.rejected === 'string' ? (JSON.parse(r.rejected) as ImportBatchRejection[]) : r.rejected;
    return {
      id: r.id,
      kind: r.kind,
      source: r.source,
      receivedAt: new Date(r.received_at).toISOString(),
      correlationId: r.correlation_id,
      received: Number(r.received),
      appended: Number(r.appended),
      duplicates: Number(r.duplicates),
      rejectedCount: Number(r.rejected_count),
      status: r.status,
      summary: r.summary,
      caisses: r.caisses,
      rejected: filter.caisse === undefined ? all : all.filter((x) => x.caisse === undefined || x.caisse === filter.caisse),
    };
  });
}
