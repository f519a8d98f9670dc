import { defaultUpcasters, streams, type RecordedEvent } from '@forfait/events';
import {
  EARLIER_YEARS_TYPES,
  ENTITLEMENT_READS,
  FIRST_CAMPAIGN_YEAR,
  countsInEarlierYears,
  computeEntitlement,
  toEntitlementView,
  type EntitlementView,
  type KnownEvent,
} from '@forfait/domain';
import { resolveCampaign } from '@forfait/application';
import { quoteIdent, type SqlDatabase, type SqlExecutor } from '@forfait/store';
import type { BatchContext, Projection } from '../projection';
import { doctorOfStream } from './audit-trail.projection';

/**
 * The entitlement of every doctor-year, as the caisse knows it once the events applied so far are
 * known: the same pure function as the API's replay (libs/domain computeEntitlement). A batch marks
 * the doctor-years it touches dirty; once the projection is at the store's head they are recomputed
 * from their streams, read from the store up to the batch's last position (never beyond), so a
 * catch-up or a rebuild computes each doctor-year once rather than once per batch that touched it.
 */
export const entitlementProjection: Projection = {
  name: 'entitlement',
  // 3: the row is the view GET …/entitlement answers, and nothing else (nothing read the columns that repeated it).
  // 4: the view's knownAt is the latest of the events it is computed from, the earlier years' of EARLIER_YEARS_TYPES only.
  // 5: the view kept as its JSON text (written as parameters, read back whole): the server neither parses nor re-encodes 4 KB a doctor-year.
  version: 5,
  tables: ['entitlement_keys', 'entitlements', 'entitlement_dirty'],
  // A batch only marks doctor-years dirty (by stream); the recompute reads the streams itself (earlier years in part).
  fullTypes: () => [],
  async setup(tx, schema) {
    const s = quoteIdent(schema);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.entitlement_keys (year integer NOT NULL, rpps text NOT NULL, PRIMARY KEY (year, rpps))`);
    await tx.query(`CREATE INDEX IF NOT EXISTS entitlement_keys_rpps ON ${s}.entitlement_keys (rpps)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.entitlements (rpps text NOT NULL, year integer NOT NULL, view text NOT NULL, PRIMARY KEY (year, rpps))`);
    // lz4 where the server has it (PostgreSQL 14+ built with it; not PGlite): a view is compressed
    // several times faster than by pglz. Only while the column is not lz4 yet: the ALTER locks the
    // table (every read of it would wait for this setup's transaction on each start).
    await tx.query(
      `DO $$ BEGIN
         IF (SELECT attcompression FROM pg_attribute WHERE attrelid = '${s}.entitlements'::regclass AND attname = 'view') IS DISTINCT FROM 'l' THEN
           ALTER TABLE ${s}.entitlements ALTER COLUMN view SET COMPRESSION lz4;
         END IF;
       EXCEPTION WHEN feature_not_supported THEN NULL; END $$`,
    );
    // Keyed by doctor first: a round recomputes all the years of its doctors, reading each stream once.
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.entitlement_dirty (rpps text NOT NULL, year integer NOT NULL, PRIMARY KEY (rpps, year))`);
  },
  async apply(tx: SqlExecutor, schema: string, events: RecordedEvent[], context: BatchContext) {
    const s = quoteIdent(schema);
    // What a batch changes: a declaration its doctor-year; a profile every year of the doctor; a
    // campaign event every doctor of that year. Marked in a table, not in memory.
    const declarations = new Map<string, { rpps: string; year: number }>();
    const profiles = new Set<string>();
    const campaigns = new Set<number>();
    // A campaign opened: the later years too (INT-6, an earlier campaign recorded here).
    let openedFrom: number | undefined;
    for (const e of events) {
      const { rpps, year } = doctorOfStream(e.streamId);
      if (e.streamId.startsWith('declaration-') && rpps && year !== null) declarations.set(`${year}:${rpps}`, { rpps, year });
      else if (e.streamId.startsWith('doctor-') && rpps) profiles.add(rpps);
      else if (e.streamId.startsWith('campaign-') && year !== null) {
        campaigns.add(year);
        if (e.type === 'CampaignOpened') openedFrom = Math.min(openedFrom ?? year, year);
      }
    }
    if (openedFrom !== undefined) {
      await tx.query(`INSERT INTO ${s}.entitlement_dirty (year, rpps) SELECT year, rpps FROM ${s}.entitlement_keys WHERE year > $1 ON CONFLICT DO NOTHING`, [
        openedFrom,
      ]);
    }
    if (declarations.size > 0) {
      // One statement: the doctor-years known from now on, and dirty with the later years of their
      // doctors (a year's declarations count in the later years too: first year, carried-over
      // justificatifs, `earlier`). The later years are keys stored before (the CTE's rows are not
      // seen by the outer statement); one added in this batch is in x itself.
      await tx.query(
        `WITH x AS (SELECT year, rpps FROM jsonb_to_recordset($1::jsonb) AS x(year integer, rpps text)),
              added AS (INSERT INTO ${s}.entitlement_keys (year, rpps) SELECT year, rpps FROM x ON CONFLICT DO NOTHING)
         INSERT INTO ${s}.entitlement_dirty (year, rpps)
         SELECT year, rpps FROM x
         UNION SELECT k.year, k.rpps FROM ${s}.entitlement_keys k JOIN x ON k.rpps = x.rpps AND k.year > x.year
         ON CONFLICT DO NOTHING`,
        [JSON.stringify([...declarations.values()])],
      );
    }
    if (profiles.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.entitlement_dirty (year, rpps) SELECT year, rpps FROM ${s}.entitlement_keys WHERE rpps = ANY($1::text[]) ON CONFLICT DO NOTHING`,
        [[...profiles]],
      );
    }
    for (const year of campaigns) {
      await tx.query(`INSERT INTO ${s}.entitlement_dirty (year, rpps) SELECT year, rpps FROM ${s}.entitlement_keys WHERE year = $1 ON CONFLICT DO NOTHING`, [
        year,
      ]);
    }
    if (context.atHead) await recomputeDirty(tx, schema, events[events.length - 1]!.position, context);
  },
};

/** Doctor-years recomputed per round: memory is bounded by this, not by the number waiting. */
const RECOMPUTE_CHUNK = 500;

const known = (events: RecordedEvent[] | undefined, last: bigint): KnownEvent[] =>
  (events ?? []).filter((e) => e.position <= last).map((e) => defaultUpcasters.upcast(e) as KnownEvent);

/**
 * Recomputes every dirty doctor-year, RECOMPUTE_CHUNK at a time (in doctor order, so that a round
 * reads each of its doctors' streams once), from the store's streams. The next round's streams are
 * being read while this round computes: the database and Node work at the same time.
 */
async function recomputeDirty(tx: SqlExecutor, schema: string, last: bigint, context: BatchContext): Promise<void> {
  const s = quoteIdent(schema);
  const campaigns = new Map<number, KnownEvent[]>();
  const requested = new Set<number>();
  const keysAfter = async (after: { rpps: string; year: number } | undefined) => {
    const { rows } = await tx.query<{ year: number | string; rpps: string }>(
      `SELECT year, rpps FROM ${s}.entitlement_dirty WHERE $1::text IS NULL OR (rpps, year) > ($1::text, $2::integer) ORDER BY rpps, year LIMIT ${RECOMPUTE_CHUNK}`,
      [after?.rpps ?? null, after?.year ?? null],
    );
    return rows.map((k) => ({ year: Number(k.year), rpps: k.rpps }));
  };
  // One query per round, sent before the previous round computes: the doctor's profile, each
  // declaration year from the first the engine knows (spec, "Other years": 2017), the campaigns.
  // A year recomputed is read whole; a year only earlier than one, of EARLIER_YEARS_TYPES only.
  const load = async (keys: { year: number; rpps: string }[]) => {
    const maxYear = new Map<string, number>();
    for (const k of keys) maxYear.set(k.rpps, Math.max(maxYear.get(k.rpps) ?? 0, k.year));
    const ids = new Set<string>();
    for (const k of keys) ids.add(streams.declaration(k.rpps, k.year));
    const partial: string[] = [];
    for (const [rpps, max] of maxYear) {
      ids.add(streams.doctor(rpps));
      for (let y = fromYear; y < max; y += 1) if (!ids.has(streams.declaration(rpps, y))) partial.push(streams.declaration(rpps, y));
    }
    // Each year's campaign and the earlier ones (INT-6).
    const campaignYears = [...new Set(keys.flatMap((k) => Array.from({ length: k.year - FIRST_CAMPAIGN_YEAR + 1 }, (_, i) => FIRST_CAMPAIGN_YEAR + i)))].filter(
      (y) => !requested.has(y),
    );
    for (const y of campaignYears) {
      requested.add(y);
      ids.add(streams.campaign(y));
    }
    const read = await context.readStreams([...ids], { partial: { streamIds: partial, types: EARLIER_YEARS_TYPES }, narrow: ENTITLEMENT_READS });
    for (const y of campaignYears) campaigns.set(y, known(read.get(streams.campaign(y)), last));
    return { keys, read };
  };

  const first = await keysAfter(undefined);
  if (first.length === 0) return;
  // The first year any doctor-year exists: earlier declaration streams are not asked for.
  const { rows: lowest } = await tx.query<{ y: number | string | null }>(`SELECT min(year) AS y FROM ${s}.entitlement_keys`);
  const fromYear = Math.max(FIRST_CAMPAIGN_YEAR, Number(lowest[0]?.y ?? FIRST_CAMPAIGN_YEAR));
  let loading: Promise<Awaited<ReturnType<typeof load>>> | undefined = load(first);
  while (loading) {
    const round: Awaited<ReturnType<typeof load>> = await loading;
    // A round shorter than the chunk was the last (nothing is marked dirty meanwhile: this transaction marks them).
    const next = round.keys.length < RECOMPUTE_CHUNK ? [] : await keysAfter(round.keys[round.keys.length - 1]);
    loading = next.length > 0 ? load(next) : undefined;
    loading?.catch(() => undefined);
    const views: [string, number, string][] = [];
    for (const { rpps, year } of round.keys) {
      const campaign = campaigns.get(year) ?? [];
      // The published ruleset: computeEntitlement applies the amendments, each from its instant.
      const { base: ruleset } = resolveCampaign(campaign);
      if (!ruleset) continue;
      const doctor = known(round.read.get(streams.doctor(rpps)), last);
      const declaration = known(round.read.get(streams.declaration(rpps, year)), last);
      const earlier: KnownEvent[] = [];
      // The same events whether the year was read whole (recomputed too) or partly.
      for (let y = fromYear; y < year; y += 1) earlier.push(...known(round.read.get(streams.declaration(rpps, y)), last).filter(countsInEarlierYears));
      const earlierCampaigns: KnownEvent[] = [];
      for (let y = FIRST_CAMPAIGN_YEAR; y < year; y += 1) earlierCampaigns.push(...(campaigns.get(y) ?? []));
      const knownAt = [...campaign, ...doctor, ...declaration, ...earlier, ...earlierCampaigns].reduce(
        (max, e) => (e.metadata.recordedAt > max ? e.metadata.recordedAt : max),
        '',
      );
      const view = toEntitlementView(computeEntitlement({ rpps, year, ruleset, knownAt, campaign, doctor, declaration, earlier, earlierCampaigns }));
      views.push([rpps, year, JSON.stringify(view)]);
    }
    if (views.length > 0) {
      // One parameter a view: its text goes to the table as sent (RECOMPUTE_CHUNK × 3 parameters at most).
      await tx.query(
        `INSERT INTO ${s}.entitlements (rpps, year, view)
         VALUES ${views.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}::integer, $${3 * i + 3})`).join(', ')}
         ON CONFLICT (year, rpps) DO UPDATE SET view = EXCLUDED.view`,
        views.flat(),
      );
    }
  }
  // Every dirty doctor-year was recomputed in this transaction: none can have been added meanwhile.
  await tx.query(`DELETE FROM ${s}.entitlement_dirty`);
}

export async function readEntitlement(db: SqlDatabase, schema: string, rpps: string, year: number): Promise<EntitlementView | undefined> {
  const { rows } = await db.query<{ view: string }>(`SELECT view FROM ${quoteIdent(schema)}.entitlements WHERE year = $1 AND rpps = $2`, [year, rpps]);
  return rows[0] ? (JSON.parse(rows[0].view) as EntitlementView) : undefined;
}

/** Whether the doctor-year waits for its recompute (a catch-up batch before the head marked it): not to be served yet. */
export async function entitlementPending(db: SqlDatabase, schema: string, rpps: string, year: number): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM ${quoteIdent(schema)}.entitlement_dirty WHERE rpps = $1 AND year = $2`, [rpps, year]);
  return rows.length > 0;
}
