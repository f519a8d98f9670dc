import { assertSchemaName, isoOf, quoteIdent, type SqlDatabase } from './sql-client';

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
    `DROP FUNCTION IF EXISTS ${s}.es_append(jsonb, jsonb, timestamptz, text)`,
    // The append of a group (issue 14), in one statement: one lock, one flush, one round trip for
    // every append a process had waiting (sql-event-store.ts). Under the head lock it
    //  - refuses the whole group, writing nothing, when the writer's clock is more than
    //    p_max_ahead ahead of the database's ({skew}; null: no bound, an injected clock);
    //  - chooses recordedAt: the writer's proposal, or the last recorded time if that is later
    //    (recorded time never goes backwards along the positions, and no writer is refused
    //    because another one's clock was ahead);
    //  - takes each unit (one append, or one all-or-nothing appendBatch) in order: checks every
    //    request's expected revision on the stream's head as the earlier units left it, and that
    //    none of its events is already stored; a unit that fails is reported ({conflict} or
    //    {duplicate}) and the others are written;
    //  - completes each event's canonical JSON (canonical.ts, canonicalEventParts: the writer
    //    sends it cut around recordedAt, prevHash and revision), checks its size, chains its hash
    //    (hash.ts: SHA-256 of prevHash followed by the canonical JSON), and writes every event,
    //    the streams' heads and the global head.
    // p_units: [[{s: stream, x: expected ('any' | 'no_stream' | 'stream_exists' | '<revision>'),
    //   p: 1-based index (over all requests of the group) of the group's previous request on
    //   the same stream or null, e: [[eventId, part0, part1, part2, part3], ...] or, planned,
    //   [[eventId, part0, part1, part2, part3, hash, prevHash, revision, n (the event's 1-based
    //   place in the group: its position is the head's + n)], ...],
    //   r0, h0: the planned head (revision, -1 for none; hash, null for none)}, ...], ...].
    // p_planned: the writer chained every event itself, on heads it knows (its own last writes,
    // the caller's head hints) and recordedAt = p_proposed. When every planned head is the real
    // one, no event is stored yet, and p_proposed is not before the last recorded time, the group
    // is written set-based as planned (the common case: one writer process); otherwise the
    // statement settles it event by event below, in the same lock.
    `DROP FUNCTION IF EXISTS ${s}.es_append_group(jsonb, timestamptz, interval, integer, text)`,
    // jit off: the planner guesses 100 rows per jsonb_array_elements, a million for three levels,
    // and JIT-compiles a statement of a few rows (35–100 ms measured, for under 1 ms of work). The
    // same guess would hash-join a seq scan of es_streams: heads are read by index, one lateral
    // lookup per request (OFFSET 0 keeps the planner from flattening it into a join). Each event's
    // text is parsed once: without OFFSET 0 on the subquery that parses it, the planner pulls it up
    // and parses the text again for every column taken from it (8.7 ms for a group of 4 × 30 events
    // measured in the function, 4.4 ms with it).
    `CREATE OR REPLACE FUNCTION ${s}.es_append_group(p_units jsonb, p_planned boolean, p_proposed timestamptz, p_max_ahead interval, p_max_bytes integer, p_channel text)
     RETURNS jsonb LANGUAGE plpgsql SET jit = off AS $fn$
     DECLARE
       h record;
       rec timestamptz;
       rec_text text;
       base_rev bigint[];
       base_hash text[];
       out_rev bigint[] := '{}';
       out_hash text[] := '{}';
       start_rev bigint[] := '{}';
       start_hash text[] := '{}';
       unit_out jsonb[] := '{}';
       ids uuid[];
       dup jsonb;
       ev_pos bigint[] := '{}';
       ev_id uuid[] := '{}';
       ev_stream text[] := '{}';
       ev_rev bigint[] := '{}';
       ev_full text[] := '{}';
       ev_prev text[] := '{}';
       ev_hash text[] := '{}';
       st_stream text[] := '{}';
       st_rev bigint[] := '{}';
       st_hash text[] := '{}';
       n_ev integer := 0;
       n_st integer := 0;
       unit jsonb;
       r jsonb;
       e jsonb;
       x text;
       k integer := 0;
       fi integer;
       cur_rev bigint;
       cur_hash text;
       unit_pos bigint;
       unit_ev integer;
       unit_st integer;
       failed jsonb;
       full_text text;
       pos bigint;
       pl_id uuid[];
       pl_stream text[];
       pl_rev bigint[];
       pl_type text[];
       pl_sv integer[];
       pl_data jsonb[];
       pl_meta jsonb[];
       pl_eff timestamptz[];
       pl_prev text[];
       pl_hash text[];
       pl_n bigint[];
       pl_whole boolean;
     BEGIN
       IF p_max_ahead IS NOT NULL AND p_proposed > clock_timestamp() + p_max_ahead THEN
         RETURN jsonb_build_object('skew', ${isoOf('clock_timestamp()')});
       END IF;
       SELECT array_agg((ev.e->>0)::uuid) INTO ids
         FROM jsonb_array_elements(p_units) AS u(unit)
         CROSS JOIN LATERAL jsonb_array_elements(u.unit) AS q(req)
         CROSS JOIN LATERAL jsonb_array_elements(q.req->'e') AS ev(e);
       IF p_planned THEN
         -- The planned rows, parsed before the lock (only the positions wait for it). Each row
         -- carries its place, revision and previous hash: no window or sort over the group (they
         -- were half of this statement's time for 4 × 30 events).
         rec_text := ${isoOf('p_proposed')};
         SELECT array_agg((w.e->>0)::uuid), array_agg(w.stream), array_agg(w.rev), array_agg(w.j->>'type'),
                array_agg((w.j->>'schemaVersion')::integer), array_agg(w.j->'data'),
                array_agg((w.j->'metadata') - 'recordedAt' - 'effectiveAt'), array_agg((w.j->'metadata'->>'effectiveAt')::timestamptz),
                array_agg(w.prev), array_agg(w.e->>5), array_agg(w.n), bool_and(w.n IS NOT NULL)
           INTO pl_id, pl_stream, pl_rev, pl_type, pl_sv, pl_data, pl_meta, pl_eff, pl_prev, pl_hash, pl_n, pl_whole
         FROM (SELECT ev.e, q.req->>'s' AS stream, (ev.e->>7)::bigint AS rev, ev.e->>6 AS prev, (ev.e->>8)::bigint AS n,
                 ((ev.e->>1) || rec_text || (ev.e->>2) || (ev.e->>6) || (ev.e->>3) || (ev.e->>7) || (ev.e->>4))::jsonb AS j
               FROM jsonb_array_elements(p_units) AS u(unit)
               CROSS JOIN LATERAL jsonb_array_elements(u.unit) AS q(req)
               CROSS JOIN LATERAL jsonb_array_elements(q.req->'e') AS ev(e) OFFSET 0) w;
         -- A writer of the version before (a rolling restart: its planned events carry no place,
         -- revision or previous hash) is settled event by event below, from the parts it sent.
         IF pl_whole IS NOT TRUE THEN
           p_planned := false;
         END IF;
       END IF;
       SELECT last_position, last_recorded_at INTO h FROM ${s}.es_head WHERE id = 1 FOR UPDATE;
       rec_text := to_char(greatest(p_proposed, h.last_recorded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
       rec := rec_text::timestamptz;
       IF p_planned AND rec = p_proposed
          AND NOT EXISTS (SELECT 1 FROM ${s}.es_events WHERE event_id = ANY(ids))
          AND NOT EXISTS (
            SELECT 1 FROM jsonb_array_elements(p_units) AS u(unit)
            CROSS JOIN LATERAL jsonb_array_elements(u.unit) AS q(req)
            LEFT JOIN LATERAL (SELECT revision, last_hash FROM ${s}.es_streams WHERE stream_id = q.req->>'s' OFFSET 0) st ON true
            WHERE q.req->>'p' IS NULL
              AND (coalesce(st.revision, -1) <> (q.req->>'r0')::bigint OR st.last_hash IS DISTINCT FROM q.req->>'h0')) THEN
         INSERT INTO ${s}.es_events (position, event_id, stream_id, revision, type, schema_version, data, metadata, recorded_at, effective_at, prev_hash, hash)
         SELECT h.last_position + t.n, t.id, t.stream, t.rev, t.type, t.sv, t.data, t.meta, rec, t.eff, t.prev, t.hsh
         FROM unnest(pl_id, pl_stream, pl_rev, pl_type, pl_sv, pl_data, pl_meta, pl_eff, pl_prev, pl_hash, pl_n)
           AS t(id, stream, rev, type, sv, data, meta, eff, prev, hsh, n);
         GET DIAGNOSTICS n_ev = ROW_COUNT;
         IF n_ev > 0 THEN
           INSERT INTO ${s}.es_streams (stream_id, revision, last_hash)
           SELECT DISTINCT ON (q.req->>'s') q.req->>'s', (q.req->>'r0')::bigint + jsonb_array_length(q.req->'e'), q.req->'e'->-1->>5
           FROM jsonb_array_elements(p_units) WITH ORDINALITY AS u(unit, i)
           CROSS JOIN LATERAL jsonb_array_elements(u.unit) WITH ORDINALITY AS q(req, j)
           WHERE jsonb_array_length(q.req->'e') > 0
           ORDER BY q.req->>'s', u.i DESC, q.j DESC
           ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, last_hash = EXCLUDED.last_hash;
           UPDATE ${s}.es_head SET last_position = h.last_position + n_ev, last_recorded_at = rec WHERE id = 1;
           IF p_channel IS NOT NULL THEN
             PERFORM pg_notify(p_channel, (h.last_position + n_ev)::text);
           END IF;
         END IF;
         RETURN jsonb_build_object('planned', true, 'recordedAt', rec_text, 'first', (h.last_position + 1)::text, 'head', (h.last_position + n_ev)::text);
       END IF;
       SELECT array_agg(st.revision ORDER BY u.i, q.j), array_agg(st.last_hash ORDER BY u.i, q.j)
         INTO base_rev, base_hash
         FROM jsonb_array_elements(p_units) WITH ORDINALITY AS u(unit, i)
         CROSS JOIN LATERAL jsonb_array_elements(u.unit) WITH ORDINALITY AS q(req, j)
         LEFT JOIN LATERAL (SELECT revision, last_hash FROM ${s}.es_streams WHERE stream_id = q.req->>'s' OFFSET 0) st ON true;
       SELECT jsonb_object_agg(event_id::text, true) INTO dup FROM ${s}.es_events WHERE event_id = ANY(ids);
       pos := h.last_position;
       FOR ui IN 0 .. jsonb_array_length(p_units) - 1 LOOP
         unit := p_units->ui;
         failed := NULL;
         -- Every request of the unit is checked before any is written.
         FOR ri IN 0 .. jsonb_array_length(unit) - 1 LOOP
           r := unit->ri;
           fi := k + ri + 1;
           IF r->>'p' IS NULL THEN
             cur_rev := base_rev[fi];
             cur_hash := base_hash[fi];
           ELSE
             cur_rev := out_rev[(r->>'p')::integer];
             cur_hash := out_hash[(r->>'p')::integer];
           END IF;
           out_rev[fi] := cur_rev;
           out_hash[fi] := cur_hash;
           start_rev[fi] := coalesce(cur_rev, -1);
           start_hash[fi] := coalesce(cur_hash, repeat('0', 64));
           x := r->>'x';
           IF failed IS NULL AND NOT (CASE x WHEN 'any' THEN true WHEN 'no_stream' THEN cur_rev IS NULL
               WHEN 'stream_exists' THEN cur_rev IS NOT NULL ELSE cur_rev IS NOT DISTINCT FROM x::bigint END) THEN
             failed := jsonb_build_object('conflict', r->>'s', 'expected', x, 'actual', coalesce(cur_rev::text, 'no_stream'));
           END IF;
           IF failed IS NULL AND dup IS NOT NULL THEN
             SELECT jsonb_build_object('duplicate', r->>'s', 'eventIds', jsonb_agg(ev.e->>0)) INTO failed
               FROM jsonb_array_elements(r->'e') AS ev(e) WHERE dup ? (ev.e->>0) HAVING count(*) > 0;
           END IF;
         END LOOP;
         unit_pos := pos;
         unit_ev := n_ev;
         unit_st := n_st;
         IF failed IS NULL THEN
           FOR ri IN 0 .. jsonb_array_length(unit) - 1 LOOP
             r := unit->ri;
             fi := k + ri + 1;
             cur_rev := start_rev[fi];
             cur_hash := start_hash[fi];
             FOR e IN SELECT value FROM jsonb_array_elements(r->'e') LOOP
               cur_rev := cur_rev + 1;
               full_text := (e->>1) || rec_text || (e->>2) || cur_hash || (e->>3) || cur_rev::text || (e->>4);
               IF octet_length(full_text) > p_max_bytes THEN
                 failed := jsonb_build_object('tooLarge', r->>'s', 'eventId', e->>0, 'type', full_text::jsonb->>'type', 'bytes', octet_length(full_text));
                 EXIT;
               END IF;
               pos := pos + 1;
               n_ev := n_ev + 1;
               ev_pos[n_ev] := pos;
               ev_id[n_ev] := (e->>0)::uuid;
               ev_stream[n_ev] := r->>'s';
               ev_rev[n_ev] := cur_rev;
               ev_full[n_ev] := full_text;
               ev_prev[n_ev] := cur_hash;
               cur_hash := encode(sha256(convert_to(cur_hash || full_text, 'UTF8')), 'hex');
               ev_hash[n_ev] := cur_hash;
             END LOOP;
             EXIT WHEN failed IS NOT NULL;
             IF jsonb_array_length(r->'e') > 0 THEN
               out_rev[fi] := cur_rev;
               out_hash[fi] := cur_hash;
               n_st := n_st + 1;
               st_stream[n_st] := r->>'s';
               st_rev[n_st] := cur_rev;
               st_hash[n_st] := cur_hash;
             END IF;
           END LOOP;
         END IF;
         IF failed IS NOT NULL THEN
           -- Nothing of a failed unit is written: its events and heads are taken back.
           pos := unit_pos;
           n_ev := unit_ev;
           n_st := unit_st;
           FOR ri IN 0 .. jsonb_array_length(unit) - 1 LOOP
             out_rev[k + ri + 1] := nullif(start_rev[k + ri + 1], -1);
             out_hash[k + ri + 1] := CASE WHEN start_rev[k + ri + 1] = -1 THEN NULL ELSE start_hash[k + ri + 1] END;
           END LOOP;
           unit_out[ui + 1] := failed;
         ELSE
           unit_out[ui + 1] := jsonb_build_object('ok', true);
         END IF;
         k := k + jsonb_array_length(unit);
       END LOOP;
       IF n_ev > 0 THEN
         INSERT INTO ${s}.es_events (position, event_id, stream_id, revision, type, schema_version, data, metadata, recorded_at, effective_at, prev_hash, hash)
         SELECT w.pos, w.id, w.stream, w.rev, w.j->>'type', (w.j->>'schemaVersion')::integer, w.j->'data',
           (w.j->'metadata') - 'recordedAt' - 'effectiveAt', rec, (w.j->'metadata'->>'effectiveAt')::timestamptz, w.prev, w.hsh
         FROM (SELECT t.pos, t.id, t.stream, t.rev, t.full_text::jsonb AS j, t.prev, t.hsh
               FROM unnest(ev_pos[1:n_ev], ev_id[1:n_ev], ev_stream[1:n_ev], ev_rev[1:n_ev], ev_full[1:n_ev], ev_prev[1:n_ev], ev_hash[1:n_ev])
                 AS t(pos, id, stream, rev, full_text, prev, hsh) OFFSET 0) w;
         INSERT INTO ${s}.es_streams (stream_id, revision, last_hash)
         SELECT DISTINCT ON (t.stream) t.stream, t.rev, t.hsh
         FROM unnest(st_stream[1:n_st], st_rev[1:n_st], st_hash[1:n_st]) WITH ORDINALITY AS t(stream, rev, hsh, o)
         ORDER BY t.stream, t.o DESC
         ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, last_hash = EXCLUDED.last_hash;
         UPDATE ${s}.es_head SET last_position = pos, last_recorded_at = rec WHERE id = 1;
         IF p_channel IS NOT NULL THEN
           PERFORM pg_notify(p_channel, pos::text);
         END IF;
       END IF;
       RETURN jsonb_build_object('recordedAt', rec_text, 'first', (h.last_position + 1)::text, 'head', pos::text, 'units', to_jsonb(unit_out),
         'startRev', to_jsonb(start_rev), 'startHash', to_jsonb(start_hash), 'hashes', to_jsonb(ev_hash[1:n_ev]));
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
