import { assertSchemaName, quoteIdent, type SqlDatabase } from './sql-client';

/**
 * The event-store tables. `es_head` is a single row locked by every append: positions are taken
 * under that lock and released at commit, so they become visible in order and without gaps (the
 * classic PostgreSQL event-store bug is a reader skipping a position that committed late).
 */
export function eventStoreDdl(schema: string): string[] {
  const s = quoteIdent(assertSchemaName(schema));
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.es_head (
       id smallint PRIMARY KEY CHECK (id = 1),
       last_position bigint NOT NULL,
       last_recorded_at timestamptz
     )`,
    `INSERT INTO ${s}.es_head (id, last_position) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`,
    `CREATE TABLE IF NOT EXISTS ${s}.es_streams (
       stream_id text PRIMARY KEY,
       revision bigint NOT NULL,
       last_hash text NOT NULL
     )`,
    `CREATE TABLE IF NOT EXISTS ${s}.es_events (
       position bigint PRIMARY KEY,
       event_id uuid NOT NULL UNIQUE,
       stream_id text NOT NULL,
       revision bigint NOT NULL,
       type text NOT NULL,
       schema_version integer NOT NULL,
       data jsonb NOT NULL,
       metadata jsonb NOT NULL,
       recorded_at timestamptz NOT NULL,
       effective_at timestamptz NOT NULL,
       prev_hash text NOT NULL,
       hash text NOT NULL
     )`,
    // Three indexes, each serving a query the system makes: by position (catch-up, replays of
    // $all), by event id (idempotency), by stream and revision (streams, a doctor's prefixes: the
    // pattern operator class serves both = and LIKE 'prefix%'). Every index costs every append;
    // the ones earlier versions had for ad-hoc searches (times, type, correlation) are dropped
    // (issue 7: they cost a third of the insert rate and no query of the system used them).
    `CREATE UNIQUE INDEX IF NOT EXISTS es_events_stream_revision ON ${s}.es_events (stream_id text_pattern_ops, revision)`,
    `ALTER TABLE ${s}.es_events DROP CONSTRAINT IF EXISTS es_events_stream_id_revision_key`,
    `DROP INDEX IF EXISTS ${s}.es_events_stream_prefix`,
    `DROP INDEX IF EXISTS ${s}.es_events_recorded_at`,
    `DROP INDEX IF EXISTS ${s}.es_events_effective_at`,
    `DROP INDEX IF EXISTS ${s}.es_events_type`,
    `DROP INDEX IF EXISTS ${s}.es_events_correlation`,
    // The append, in one statement: lock the head (positions in commit order), check that every
    // stream is still where the writer read it and that recordedAt does not go backwards, then
    // write. Returns {firstPosition}, or {retry} (nothing written) when something moved meanwhile.
    `CREATE OR REPLACE FUNCTION ${s}.es_append(p_streams jsonb, p_events jsonb, p_recorded_at timestamptz, p_channel text)
     RETURNS jsonb LANGUAGE plpgsql AS $fn$
     DECLARE
       h record;
       moved boolean;
       n bigint := jsonb_array_length(p_events);
     BEGIN
       SELECT last_position, last_recorded_at INTO h FROM ${s}.es_head WHERE id = 1 FOR UPDATE;
       IF h.last_recorded_at IS NOT NULL AND h.last_recorded_at > p_recorded_at THEN
         RETURN jsonb_build_object('retry', 'recorded_at');
       END IF;
       SELECT EXISTS (
         SELECT 1 FROM jsonb_to_recordset(p_streams) AS x(stream_id text, expected_revision bigint, expected_hash text)
         LEFT JOIN ${s}.es_streams st ON st.stream_id = x.stream_id
         WHERE st.revision IS DISTINCT FROM x.expected_revision OR st.last_hash IS DISTINCT FROM x.expected_hash
       ) INTO moved;
       IF moved THEN
         RETURN jsonb_build_object('retry', 'streams');
       END IF;
       INSERT INTO ${s}.es_events (position, event_id, stream_id, revision, type, schema_version, data, metadata, recorded_at, effective_at, prev_hash, hash)
       SELECT h.last_position + x.ord, x.event_id, x.stream_id, x.revision, x.type, x.schema_version, x.data, x.metadata, p_recorded_at, x.effective_at, x.prev_hash, x.hash
       FROM jsonb_to_recordset(p_events) AS x(ord bigint, event_id uuid, stream_id text, revision bigint, type text, schema_version integer,
         data jsonb, metadata jsonb, effective_at timestamptz, prev_hash text, hash text);
       INSERT INTO ${s}.es_streams (stream_id, revision, last_hash)
       SELECT stream_id, revision, last_hash FROM jsonb_to_recordset(p_streams) AS x(stream_id text, revision bigint, last_hash text, write boolean)
       WHERE x.write
       ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, last_hash = EXCLUDED.last_hash;
       UPDATE ${s}.es_head SET last_position = h.last_position + n, last_recorded_at = p_recorded_at WHERE id = 1;
       IF p_channel IS NOT NULL THEN
         PERFORM pg_notify(p_channel, (h.last_position + n)::text);
       END IF;
       RETURN jsonb_build_object('firstPosition', (h.last_position + 1)::text);
     END
     $fn$`,
  ];
}

/** Runs DDL under an advisory lock so that two processes starting together do not race. */
export async function migrate(db: SqlDatabase, statements: string[], lockName: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockName]);
    for (const statement of statements) await tx.query(statement);
  });
}
