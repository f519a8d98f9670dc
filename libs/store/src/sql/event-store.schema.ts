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
       hash text NOT NULL,
       UNIQUE (stream_id, revision)
     )`,
    `CREATE INDEX IF NOT EXISTS es_events_stream_prefix ON ${s}.es_events (stream_id text_pattern_ops, revision)`,
    `CREATE INDEX IF NOT EXISTS es_events_recorded_at ON ${s}.es_events (recorded_at)`,
    `CREATE INDEX IF NOT EXISTS es_events_effective_at ON ${s}.es_events (effective_at)`,
    `CREATE INDEX IF NOT EXISTS es_events_type ON ${s}.es_events (type)`,
    `CREATE INDEX IF NOT EXISTS es_events_correlation ON ${s}.es_events ((metadata->>'correlationId'))`,
  ];
}

/** Runs DDL under an advisory lock so that two processes starting together do not race. */
export async function migrate(db: SqlDatabase, statements: string[], lockName: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockName]);
    for (const statement of statements) await tx.query(statement);
  });
}
