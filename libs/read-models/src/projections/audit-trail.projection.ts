import type { EventMetadata, RecordedEvent } from '@forfait/events';
import { quoteIdent, type SqlDatabase, type SqlExecutor } from '@forfait/store';
import type { BatchContext, Projection } from '../projection';

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const COLUMNS = 'position, rpps, year, stream_id, revision, event_id, type, hash, prev_hash, schema_version, data, metadata';

/** `doctor-<rpps>` and `declaration-<rpps>-<year>` name their doctor; campaign streams name none. */
export function doctorOfStream(streamId: string): { rpps: string | null; year: number | null } {
  const declaration = /^declaration-(\d{11})-(\d{4})$/.exec(streamId);
  if (declaration) return { rpps: declaration[1]!, year: Number(declaration[2]) };
  const doctor = /^(?:doctor|access)-(\d{11})$/.exec(streamId);
  if (doctor) return { rpps: doctor[1]!, year: null };
  const campaign = /^campaign-(\d{4})$/.exec(streamId);
  return { rpps: null, year: campaign ? Number(campaign[1]) : null };
}

/**
 * The audit trail (architecture.md, "Projections"): per doctor, every event in order with its
 * actor, channel, both times and hash. Keyed by global position, so a replayed batch is a no-op.
 * Version 2 keeps each event's data, schema version and metadata (actor, channel, both times,
 * correlation) as the store reads them back, and no column that only repeated them: GET …/history
 * (without `knownAt`) answers from it what the replay of the streams answered, field for field.
 */
export const auditTrailProjection: Projection = {
  name: 'audit_trail',
  version: 2,
  tables: ['audit_trail'],
  // Beside the store, the server copies the columns: Node needs no event whole.
  fullTypes: (shared) => (shared ? [] : 'all'),
  serverSide: (shared) => shared,
  async setup(tx, schema) {
    const s = quoteIdent(schema);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.audit_trail (
      position numeric PRIMARY KEY,
      rpps text,
      year integer,
      stream_id text NOT NULL,
      revision bigint NOT NULL,
      event_id uuid NOT NULL,
      type text NOT NULL,
      hash text NOT NULL,
      prev_hash text NOT NULL,
      schema_version integer NOT NULL,
      data jsonb NOT NULL,
      metadata jsonb NOT NULL
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS audit_trail_rpps ON ${s}.audit_trail (rpps, year, position)`);
  },
  async apply(tx: SqlExecutor, schema: string, events: RecordedEvent[], context?: BatchContext) {
    if (context?.eventsTable) {
      // Same database as the store: the server copies the batch's rows (no JSON through Node).
      // The SQL below is doctorOfStream's; a test proves both paths write the same rows.
      await tx.query(
        `INSERT INTO ${quoteIdent(schema)}.audit_trail (${COLUMNS})
         SELECT e.position,
           CASE WHEN e.stream_id ~ '^declaration-[0-9]{11}-[0-9]{4}$' THEN substr(e.stream_id, 13, 11)
                WHEN e.stream_id ~ '^(doctor|access)-[0-9]{11}$' THEN right(e.stream_id, 11) END,
           CASE WHEN e.stream_id ~ '^declaration-[0-9]{11}-[0-9]{4}$' OR e.stream_id ~ '^campaign-[0-9]{4}$' THEN right(e.stream_id, 4)::integer END,
           e.stream_id, e.revision, e.event_id, e.type, e.hash, e.prev_hash, e.schema_version, e.data,
           -- the metadata as the store reads it back (its times are columns there, in this format)
           e.metadata || jsonb_build_object('recordedAt', ${ISO('e.recorded_at')}, 'effectiveAt', ${ISO('e.effective_at')})
         FROM ${context.eventsTable} e WHERE e.position >= $1 AND e.position <= $2
         ON CONFLICT (position) DO NOTHING`,
        [events[0]!.position.toString(), events[events.length - 1]!.position.toString()],
      );
      return;
    }
    const rows = events.map((e) => {
      const { rpps, year } = doctorOfStream(e.streamId);
      return {
        position: e.position.toString(),
        rpps,
        year,
        stream_id: e.streamId,
        revision: e.revision,
        event_id: e.eventId,
        type: e.type,
        hash: e.hash,
        prev_hash: e.prevHash,
        schema_version: e.schemaVersion,
        data: e.data,
        metadata: e.metadata,
      };
    });
    await tx.query(
      `INSERT INTO ${quoteIdent(schema)}.audit_trail (${COLUMNS})
       SELECT ${COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS x(
         position numeric, rpps text, year integer, stream_id text, revision bigint, event_id uuid, type text,
         hash text, prev_hash text, schema_version integer, data jsonb, metadata jsonb)
       ON CONFLICT (position) DO NOTHING`,
      [JSON.stringify(rows)],
    );
  },
};

/**
 * A doctor's events as the audit trail holds them, in global order: the profile stream and the
 * declaration streams (of `year` when given), the access journal apart; each as the store recorded
 * it (data not upcast). What GET …/history answers without `knownAt`; `only: 'profile'`, the profile
 * stream alone (the doctor's caisse, for the scope of a query).
 */
export async function doctorTrail(db: SqlDatabase, schema: string, rpps: string, year?: number, only?: 'profile'): Promise<RecordedEvent[]> {
  const { rows } = await db.query<{
    position: string;
    stream_id: string;
    revision: string;
    event_id: string;
    type: string;
    schema_version: number | string;
    data: unknown;
    metadata: EventMetadata;
    hash: string;
    prev_hash: string;
  }>(
    `SELECT position::text AS position, stream_id, revision::text AS revision, event_id::text AS event_id, type, schema_version, data, metadata, hash, prev_hash
     FROM ${quoteIdent(schema)}.audit_trail
     WHERE rpps = $1 AND (stream_id = $2 OR (NOT $4::boolean AND stream_id LIKE 'declaration-%' AND ($3::integer IS NULL OR year = $3)))
     ORDER BY audit_trail.position`,
    [rpps, `doctor-${rpps}`, year ?? null, only === 'profile'],
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    streamId: r.stream_id,
    revision: Number(r.revision),
    position: BigInt(r.position),
    type: r.type,
    schemaVersion: Number(r.schema_version),
    data: r.data,
    metadata: r.metadata,
    hash: r.hash,
    prevHash: r.prev_hash,
  }));
}

/** The revision of a stream as the audit trail holds it (-1: no event yet): a doctor-year's ETag. */
export async function trailRevision(db: SqlDatabase, schema: string, streamId: string, rpps: string): Promise<number> {
  const { rows } = await db.query<{ r: string | null }>(
    `SELECT max(revision)::text AS r FROM ${quoteIdent(schema)}.audit_trail WHERE rpps = $1 AND stream_id = $2`,
    [rpps, streamId],
  );
  return rows[0]?.r == null ? -1 : Number(rows[0].r);
}
