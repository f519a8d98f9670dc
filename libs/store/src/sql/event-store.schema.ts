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
    `DROP FUNCTION IF EXISTS ${s}.es_append_group(jsonb, timestamptz, interval, integer, text)`,
    // The lists' first version named each request's unit (p_unit) and lost the empty ones; the
    // same types, so it goes before its replacement is created (in the migration's transaction).
    `DO $do$ BEGIN
       IF EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = '${s}'::regnamespace AND proname = 'es_append_group' AND 'p_unit' = ANY(proargnames)) THEN
         DROP FUNCTION ${s}.es_append_group(text[], text[], integer[], integer[], integer[], bigint[], text[], text, text, text, text, text, text, text, text,
           boolean, timestamptz, interval, integer, text);
       END IF;
     END $do$`,
    // The append of a group (issue 14), in one statement: one lock, one flush, one round trip for
    // every append a process had waiting (sql-event-store.ts). Under the head lock it
    //  - refuses the whole group, writing nothing, when the writer's clock is more than
    //    p_max_ahead ahead of the database's ({skew}; null: no bound, an injected clock);
    //  - chooses recordedAt: the writer's proposal, or the last recorded time if that is later
    //    (recorded time never goes backwards along the positions, and no writer is refused
    //    because another one's clock was ahead);
    //  - takes each unit (one append, or one all-or-nothing appendBatch) in order: checks every
    //    request's expected revision on the stream's head as the earlier units left it, and that
    //    none of its events is already stored; a unit that fails is reported ({conflict},
    //    {duplicate} or {tooLarge}) and the others are written;
    //  - completes each event's canonical JSON (canonical.ts, canonicalEventParts: the writer
    //    sends it cut around recordedAt, prevHash and revision), checks its size, chains its hash
    //    (hash.ts: SHA-256 of prevHash followed by the canonical JSON), and writes every event,
    //    the streams' heads and the global head.
    // The group comes as lists, one element a request or one an event (a JSON document of the
    // group cost 1.3 ms to take apart for 60 events, three times the parse of their texts):
    //  - per request, in order, as arrays: p_stream, p_expected ('any' | 'no_stream' |
    //    'stream_exists' | '<revision>'), p_prev (the 1-based index of the group's previous
    //    request on the same stream, or null), p_count (its events: each request's are the next
    //    p_count of the event lists), and, planned, p_r0, p_h0 (the head it was chained on:
    //    revision, -1 for none; hash, null);
    //  - per unit, in order: p_unit_requests, how many of the requests are its own (the next ones;
    //    none for an empty batch, which is answered ok);
    //  - per event, in order, each list one text of its elements joined by U+0001, which no
    //    element holds (canonical JSON writes every control character escaped, RFC 8785 §3.2.2.2;
    //    ids, hashes and revisions are hex and digits), so nothing is escaped to be sent or
    //    unescaped to be read (the writer's array literals cost it a third more CPU): p_id, the
    //    four parts p_part0..p_part3, and, planned, p_hash, p_prevhash, p_rev (its place in the
    //    lists gives its position: the head's + place).
    // p_planned: the writer chained every event itself, on heads it knows (its own last writes,
    // the caller's head hints) and recordedAt = p_proposed. When every planned head is the real
    // one, no event is stored yet, and p_proposed is not before the last recorded time, the group
    // is written set-based as planned (the common case: one writer process); otherwise the
    // statement settles it event by event below, in the same lock.
    // jit off: the planner's row guesses would JIT-compile a statement of a few rows (35–100 ms
    // measured, for under 1 ms of work). Heads are read by index, one lateral lookup per request
    // (OFFSET 0 keeps the planner from flattening it into a hash join over es_streams). Each
    // event's text is parsed once: without OFFSET 0 on the subquery that parses it, the planner
    // pulls it up and parses the text again for every column taken from it.
    `CREATE OR REPLACE FUNCTION ${s}.es_append_group(
       p_stream text[], p_expected text[], p_prev integer[], p_unit_requests integer[], p_count integer[], p_r0 bigint[], p_h0 text[],
       p_ids text, p_parts0 text, p_parts1 text, p_parts2 text, p_parts3 text, p_hashes text, p_prevhashes text, p_revs text,
       p_planned boolean, p_proposed timestamptz, p_max_ahead interval, p_max_bytes integer, p_channel text)
     RETURNS jsonb LANGUAGE plpgsql SET jit = off AS $fn$
     DECLARE
       h record;
       rec timestamptz;
       rec_text text;
       p_id uuid[] := string_to_array(p_ids, chr(1))::uuid[];
       p_part0 text[] := string_to_array(p_parts0, chr(1));
       p_part1 text[] := string_to_array(p_parts1, chr(1));
       p_part2 text[] := string_to_array(p_parts2, chr(1));
       p_part3 text[] := string_to_array(p_parts3, chr(1));
       p_hash text[] := string_to_array(p_hashes, chr(1));
       p_prevhash text[] := string_to_array(p_prevhashes, chr(1));
       p_rev bigint[] := string_to_array(p_revs, chr(1))::bigint[];
       n_req integer := coalesce(cardinality(p_stream), 0);
       n_all integer := coalesce(cardinality(p_id), 0);
       req_first integer[] := '{}';
       req_last integer[] := '{}';
       ev_of_stream text[] := '{}';
       base_rev bigint[];
       base_hash text[];
       out_rev bigint[] := '{}';
       out_hash text[] := '{}';
       start_rev bigint[] := '{}';
       start_hash text[] := '{}';
       unit_out jsonb[] := '{}';
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
       n_units integer := coalesce(cardinality(p_unit_requests), 0);
       x text;
       i integer := 0;
       k integer;
       ku integer;
       fi integer;
       cur_rev bigint;
       cur_hash text;
       unit_pos bigint;
       unit_ev integer;
       unit_st integer;
       failed jsonb;
       full_text text;
       pos bigint;
       pl_type text[];
       pl_sv integer[];
       pl_data jsonb[];
       pl_meta jsonb[];
       pl_eff timestamptz[];
     BEGIN
       IF p_max_ahead IS NOT NULL AND p_proposed > clock_timestamp() + p_max_ahead THEN
         RETURN jsonb_build_object('skew', ${isoOf('clock_timestamp()')});
       END IF;
       -- Where each request's events are in the event arrays, and each event's stream.
       FOR k IN 1 .. n_req LOOP
         req_first[k] := i + 1;
         FOR j IN 1 .. p_count[k] LOOP
           i := i + 1;
           ev_of_stream[i] := p_stream[k];
         END LOOP;
         req_last[k] := i;
       END LOOP;
       IF i <> n_all THEN
         RAISE EXCEPTION 'es_append_group: the requests count % events, % were sent', i, n_all;
       END IF;
       IF coalesce((SELECT sum(n) FROM unnest(p_unit_requests) AS n), 0) <> n_req THEN
         RAISE EXCEPTION 'es_append_group: the units count other than the % requests sent', n_req;
       END IF;
       IF p_planned AND (coalesce(cardinality(p_hash), 0) <> n_all OR coalesce(cardinality(p_prevhash), 0) <> n_all
           OR coalesce(cardinality(p_rev), 0) <> n_all OR coalesce(cardinality(p_r0), 0) <> n_req) THEN
         p_planned := false;
       END IF;
       IF p_planned THEN
         -- The planned rows, parsed before the lock (only the positions wait for it).
         rec_text := ${isoOf('p_proposed')};
         -- In the lists' order (ORDER BY: array_agg keeps its input's order only in practice).
         SELECT array_agg(w.j->>'type' ORDER BY w.o), array_agg((w.j->>'schemaVersion')::integer ORDER BY w.o), array_agg(w.j->'data' ORDER BY w.o),
                array_agg((w.j->'metadata') - 'recordedAt' - 'effectiveAt' ORDER BY w.o),
                array_agg((w.j->'metadata'->>'effectiveAt')::timestamptz ORDER BY w.o)
           INTO pl_type, pl_sv, pl_data, pl_meta, pl_eff
         FROM (SELECT t.o, (t.a || rec_text || t.b || t.ph || t.c || t.rv::text || t.d)::jsonb AS j
               FROM unnest(p_part0, p_part1, p_part2, p_part3, p_prevhash, p_rev) WITH ORDINALITY AS t(a, b, c, d, ph, rv, o) OFFSET 0) w;
       END IF;
       SELECT last_position, last_recorded_at INTO h FROM ${s}.es_head WHERE id = 1 FOR UPDATE;
       rec_text := to_char(greatest(p_proposed, h.last_recorded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
       rec := rec_text::timestamptz;
       IF p_planned AND rec = p_proposed
          AND NOT EXISTS (SELECT 1 FROM ${s}.es_events WHERE event_id = ANY(p_id))
          AND NOT EXISTS (
            SELECT 1 FROM unnest(p_stream, p_prev, p_r0, p_h0) AS q(s, p, r0, h0)
            LEFT JOIN LATERAL (SELECT revision, last_hash FROM ${s}.es_streams WHERE stream_id = q.s OFFSET 0) st ON true
            WHERE q.p IS NULL AND (coalesce(st.revision, -1) <> q.r0 OR st.last_hash IS DISTINCT FROM q.h0)) THEN
         INSERT INTO ${s}.es_events (position, event_id, stream_id, revision, type, schema_version, data, metadata, recorded_at, effective_at, prev_hash, hash)
         SELECT h.last_position + t.n, t.id, t.stream, t.rev, t.type, t.sv, t.data, t.meta, rec, t.eff, t.prev, t.hsh
         FROM unnest(p_id, ev_of_stream, p_rev, pl_type, pl_sv, pl_data, pl_meta, pl_eff, p_prevhash, p_hash) WITH ORDINALITY
           AS t(id, stream, rev, type, sv, data, meta, eff, prev, hsh, n);
         GET DIAGNOSTICS n_ev = ROW_COUNT;
         IF n_ev > 0 THEN
           INSERT INTO ${s}.es_streams (stream_id, revision, last_hash)
           SELECT DISTINCT ON (q.s) q.s, q.r0 + q.c, p_hash[q.last]
           FROM unnest(p_stream, p_r0, p_count, req_last) WITH ORDINALITY AS q(s, r0, c, last, k)
           WHERE q.c > 0
           ORDER BY q.s, q.k DESC
           ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, last_hash = EXCLUDED.last_hash;
           UPDATE ${s}.es_head SET last_position = h.last_position + n_ev, last_recorded_at = rec WHERE id = 1;
           IF p_channel IS NOT NULL THEN
             PERFORM pg_notify(p_channel, (h.last_position + n_ev)::text);
           END IF;
         END IF;
         RETURN jsonb_build_object('planned', true, 'recordedAt', rec_text, 'first', (h.last_position + 1)::text, 'head', (h.last_position + n_ev)::text);
       END IF;
       SELECT array_agg(st.revision ORDER BY q.k), array_agg(st.last_hash ORDER BY q.k)
         INTO base_rev, base_hash
         FROM unnest(p_stream) WITH ORDINALITY AS q(s, k)
         LEFT JOIN LATERAL (SELECT revision, last_hash FROM ${s}.es_streams WHERE stream_id = q.s OFFSET 0) st ON true;
       SELECT jsonb_object_agg(event_id::text, true) INTO dup FROM ${s}.es_events WHERE event_id = ANY(p_id);
       pos := h.last_position;
       k := 1;
       FOR ui IN 1 .. n_units LOOP
         -- The unit: requests k .. ku (none when ku < k).
         ku := k + p_unit_requests[ui] - 1;
         failed := NULL;
         -- Every request of the unit is checked before any is written.
         FOR fi IN k .. ku LOOP
           IF p_prev[fi] IS NULL THEN
             cur_rev := base_rev[fi];
             cur_hash := base_hash[fi];
           ELSE
             cur_rev := out_rev[p_prev[fi]];
             cur_hash := out_hash[p_prev[fi]];
           END IF;
           out_rev[fi] := cur_rev;
           out_hash[fi] := cur_hash;
           start_rev[fi] := coalesce(cur_rev, -1);
           start_hash[fi] := coalesce(cur_hash, repeat('0', 64));
           x := p_expected[fi];
           IF failed IS NULL AND NOT (CASE x WHEN 'any' THEN true WHEN 'no_stream' THEN cur_rev IS NULL
               WHEN 'stream_exists' THEN cur_rev IS NOT NULL ELSE cur_rev IS NOT DISTINCT FROM x::bigint END) THEN
             failed := jsonb_build_object('conflict', p_stream[fi], 'expected', x, 'actual', coalesce(cur_rev::text, 'no_stream'));
           END IF;
           IF failed IS NULL AND dup IS NOT NULL THEN
             SELECT jsonb_build_object('duplicate', p_stream[fi], 'eventIds', jsonb_agg(d.id)) INTO failed
               FROM unnest(p_id[req_first[fi]:req_last[fi]]) AS d(id) WHERE dup ? d.id::text HAVING count(*) > 0;
           END IF;
         END LOOP;
         unit_pos := pos;
         unit_ev := n_ev;
         unit_st := n_st;
         IF failed IS NULL THEN
           FOR fi IN k .. ku LOOP
             cur_rev := start_rev[fi];
             cur_hash := start_hash[fi];
             FOR ei IN req_first[fi] .. req_last[fi] LOOP
               cur_rev := cur_rev + 1;
               full_text := p_part0[ei] || rec_text || p_part1[ei] || cur_hash || p_part2[ei] || cur_rev::text || p_part3[ei];
               IF octet_length(full_text) > p_max_bytes THEN
                 failed := jsonb_build_object('tooLarge', p_stream[fi], 'eventId', p_id[ei], 'type', full_text::jsonb->>'type', 'bytes', octet_length(full_text));
                 EXIT;
               END IF;
               pos := pos + 1;
               n_ev := n_ev + 1;
               ev_pos[n_ev] := pos;
               ev_id[n_ev] := p_id[ei];
               ev_stream[n_ev] := p_stream[fi];
               ev_rev[n_ev] := cur_rev;
               ev_full[n_ev] := full_text;
               ev_prev[n_ev] := cur_hash;
               cur_hash := encode(sha256(convert_to(cur_hash || full_text, 'UTF8')), 'hex');
               ev_hash[n_ev] := cur_hash;
             END LOOP;
             EXIT WHEN failed IS NOT NULL;
             IF p_count[fi] > 0 THEN
               out_rev[fi] := cur_rev;
               out_hash[fi] := cur_hash;
               n_st := n_st + 1;
               st_stream[n_st] := p_stream[fi];
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
           FOR fi IN k .. ku LOOP
             out_rev[fi] := nullif(start_rev[fi], -1);
             out_hash[fi] := CASE WHEN start_rev[fi] = -1 THEN NULL ELSE start_hash[fi] END;
           END LOOP;
           unit_out[ui] := failed;
         ELSE
           unit_out[ui] := jsonb_build_object('ok', true);
         END IF;
         k := ku + 1;
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
    // The group as one JSON document, as the writers of the versions before sent it (a rolling
    // restart: this migration replaces the function while an older process still calls it):
    // taken apart into the arrays above. p_units: [[{s, x, p, r0, h0, e: [[eventId, part0, part1,
    // part2, part3] or, planned, [eventId, part0..part3, hash, prevHash, revision, place]]}]]; a
    // planned event without its place (the version before that) makes the group settled event by
    // event.
    `CREATE OR REPLACE FUNCTION ${s}.es_append_group(p_units jsonb, p_planned boolean, p_proposed timestamptz, p_max_ahead interval, p_max_bytes integer, p_channel text)
     RETURNS jsonb LANGUAGE plpgsql SET jit = off AS $fn$
     DECLARE
       q record;
       e record;
       unit_requests integer[];
     BEGIN
       SELECT array_agg(r.req->>'s' ORDER BY r.i, r.j) AS stream, array_agg(r.req->>'x' ORDER BY r.i, r.j) AS expected,
              array_agg((r.req->>'p')::integer ORDER BY r.i, r.j) AS prev, array_agg(jsonb_array_length(r.req->'e') ORDER BY r.i, r.j) AS count,
              array_agg((r.req->>'r0')::bigint ORDER BY r.i, r.j) AS r0, array_agg(r.req->>'h0' ORDER BY r.i, r.j) AS h0
         INTO q
         FROM (SELECT u.i, t.j, t.req FROM jsonb_array_elements(p_units) WITH ORDINALITY AS u(unit, i)
               CROSS JOIN LATERAL jsonb_array_elements(u.unit) WITH ORDINALITY AS t(req, j)) r;
       SELECT array_agg((v.e->>0)::uuid ORDER BY v.i, v.j, v.k) AS id, array_agg(v.e->>1 ORDER BY v.i, v.j, v.k) AS part0,
              array_agg(v.e->>2 ORDER BY v.i, v.j, v.k) AS part1, array_agg(v.e->>3 ORDER BY v.i, v.j, v.k) AS part2,
              array_agg(v.e->>4 ORDER BY v.i, v.j, v.k) AS part3, array_agg(v.e->>5 ORDER BY v.i, v.j, v.k) AS hash,
              array_agg(v.e->>6 ORDER BY v.i, v.j, v.k) AS prevhash, array_agg((v.e->>7)::bigint ORDER BY v.i, v.j, v.k) AS rev,
              bool_and(v.e->>8 IS NOT NULL) AS placed
         INTO e
         FROM (SELECT u.i, t.j, x.k, x.e FROM jsonb_array_elements(p_units) WITH ORDINALITY AS u(unit, i)
               CROSS JOIN LATERAL jsonb_array_elements(u.unit) WITH ORDINALITY AS t(req, j)
               CROSS JOIN LATERAL jsonb_array_elements(t.req->'e') WITH ORDINALITY AS x(e, k)) v;
       p_planned := p_planned AND coalesce(e.placed, false);
       SELECT array_agg(jsonb_array_length(u.unit) ORDER BY u.i) INTO unit_requests FROM jsonb_array_elements(p_units) WITH ORDINALITY AS u(unit, i);
       RETURN ${s}.es_append_group(q.stream, q.expected, q.prev, unit_requests, q.count, q.r0, q.h0,
         array_to_string(e.id, chr(1)), array_to_string(e.part0, chr(1)), array_to_string(e.part1, chr(1)),
         array_to_string(e.part2, chr(1)), array_to_string(e.part3, chr(1)),
         CASE WHEN p_planned THEN array_to_string(e.hash, chr(1)) END, CASE WHEN p_planned THEN array_to_string(e.prevhash, chr(1)) END,
         CASE WHEN p_planned THEN array_to_string(e.rev, chr(1)) END,
         p_planned, p_proposed, p_max_ahead, p_max_bytes, p_channel);
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
