import type { RecordedEvent } from '@forfait/events';
import { quoteIdent, type SqlExecutor } from '@forfait/store';
import type { BatchContext, Projection } from '../projection';

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
 */
export const auditTrailProjection: Projection = {
  name: 'audit_trail',
  version: 1,
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
      recorded_at timestamptz NOT NULL,
      effective_at timestamptz NOT NULL,
      actor jsonb NOT NULL,
      on_behalf_of jsonb,
      channel text NOT NULL,
      correlation_id text NOT NULL,
      hash text NOT NULL,
      prev_hash text NOT NULL
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS audit_trail_rpps ON ${s}.audit_trail (rpps, year, position)`);
  },
  async apply(tx: SqlExecutor, schema: string, events: RecordedEvent[], context?: BatchContext) {
    if (context?.eventsTable) {
      // Same database as the store: the server copies the batch's rows (no JSON through Node).
      // The SQL below is doctorOfStream's; a test proves both paths write the same rows.
      await tx.query(
        `INSERT INTO ${quoteIdent(schema)}.audit_trail
         SELECT e.position,
           CASE WHEN e.stream_id ~ '^declaration-[0-9]{11}-[0-9]{4}$' THEN substr(e.stream_id, 13, 11)
                WHEN e.stream_id ~ '^(doctor|access)-[0-9]{11}$' THEN right(e.stream_id, 11) END,
           CASE WHEN e.stream_id ~ '^declaration-[0-9]{11}-[0-9]{4}$' OR e.stream_id ~ '^campaign-[0-9]{4}$' THEN right(e.stream_id, 4)::integer END,
           e.stream_id, e.revision, e.event_id, e.type, e.recorded_at, e.effective_at, e.metadata->'actor', e.metadata->'onBehalfOf',
           e.metadata->>'channel', e.metadata->>'correlationId', e.hash, e.prev_hash
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
        recorded_at: e.metadata.recordedAt,
        effective_at: e.metadata.effectiveAt,
        actor: e.metadata.actor,
        on_behalf_of: e.metadata.onBehalfOf ?? null,
        channel: e.metadata.channel,
        correlation_id: e.metadata.correlationId,
        hash: e.hash,
        prev_hash: e.prevHash,
      };
    });
    await tx.query(
      `INSERT INTO ${quoteIdent(schema)}.audit_trail
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
         position numeric, rpps text, year integer, stream_id text, revision bigint, event_id uuid, type text,
         recorded_at timestamptz, effective_at timestamptz, actor jsonb, on_behalf_of jsonb, channel text,
         correlation_id text, hash text, prev_hash text)
       ON CONFLICT (position) DO NOTHING`,
      [JSON.stringify(rows)],
    );
  },
};
