import { defaultUpcasters, type RecordedEvent } from '@forfait/events';
import { campaignFrom, computeEntitlement, findRuleset, toEntitlementView, type EntitlementView, type KnownEvent } from '@forfait/domain';
import { quoteIdent, type SqlDatabase, type SqlExecutor } from '@forfait/store';
import type { Projection } from '../projection';
import { doctorOfStream } from './audit-trail.projection';

/**
 * The entitlement of every doctor-year, as the caisse knows it once the events applied so far are
 * known: the same pure function as the API's replay (libs/domain computeEntitlement), run for the
 * doctor-years a batch touched. The events it needs are kept beside it (`entitlement_inputs`), so a
 * batch never reads the store.
 */
export const entitlementProjection: Projection = {
  name: 'entitlement',
  version: 2,
  tables: ['entitlement_inputs', 'entitlements', 'entitlement_dirty'],
  async setup(tx, schema) {
    const s = quoteIdent(schema);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.entitlement_inputs (
      position numeric PRIMARY KEY, kind text NOT NULL, rpps text, year integer, event jsonb NOT NULL)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS entitlement_inputs_doctor ON ${s}.entitlement_inputs (rpps, year, position)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS entitlement_inputs_campaign ON ${s}.entitlement_inputs (kind, year, position)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.entitlements (
      rpps text NOT NULL, year integer NOT NULL, ruleset text NOT NULL, ruleset_version text NOT NULL,
      volet1_met boolean NOT NULL, total_points_exact text NOT NULL, amount_cents bigint NOT NULL,
      paid_cents bigint NOT NULL, balance_cents bigint NOT NULL, known_at timestamptz NOT NULL,
      view jsonb NOT NULL, position numeric NOT NULL, PRIMARY KEY (year, rpps))`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.entitlement_dirty (year integer NOT NULL, rpps text NOT NULL, PRIMARY KEY (year, rpps))`);
  },
  async apply(tx: SqlExecutor, schema: string, events: RecordedEvent[], context) {
    const s = quoteIdent(schema);
    const rows = events.map((raw) => {
      const e = defaultUpcasters.upcast(raw);
      const { rpps, year } = doctorOfStream(e.streamId);
      const kind = e.streamId.startsWith('campaign-') ? 'campaign' : e.streamId.startsWith('doctor-') ? 'doctor' : e.streamId.startsWith('declaration-') ? 'declaration' : 'other';
      const known: KnownEvent = { type: e.type, data: e.data, eventId: e.eventId, metadata: e.metadata } as KnownEvent;
      return { position: e.position.toString(), kind, rpps, year, event: known };
    });
    const inputs = rows.filter((r) => r.kind !== 'other');
    if (inputs.length > 0) {
      await tx.query(
        `INSERT INTO ${s}.entitlement_inputs (position, kind, rpps, year, event)
         SELECT position, kind, rpps, year, event FROM jsonb_to_recordset($1::jsonb) AS x(position numeric, kind text, rpps text, year integer, event jsonb)
         ON CONFLICT (position) DO NOTHING`,
        [JSON.stringify(inputs)],
      );
    }

    // Which doctor-years this batch changes: a declaration its own; a profile every year of the
    // doctor; a campaign event every doctor of that year. They are marked dirty (a table, not
    // memory) and recomputed once the projection is at the store's head: a catch-up or a rebuild
    // computes each doctor-year once, not once per batch that touched it.
    const declarations = new Map<string, { rpps: string; year: number }>();
    const profiles = new Set<string>();
    const campaigns = new Set<number>();
    for (const r of inputs) {
      if (r.kind === 'declaration' && r.rpps && r.year !== null) declarations.set(`${r.year}:${r.rpps}`, { rpps: r.rpps, year: r.year });
      else if (r.kind === 'doctor' && r.rpps) profiles.add(r.rpps);
      else if (r.kind === 'campaign' && r.year !== null) campaigns.add(r.year);
    }
    if (declarations.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.entitlement_dirty (year, rpps) SELECT year, rpps FROM jsonb_to_recordset($1::jsonb) AS x(year integer, rpps text) ON CONFLICT DO NOTHING`,
        [JSON.stringify([...declarations.values()])],
      );
    }
    if (profiles.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.entitlement_dirty (year, rpps) SELECT DISTINCT year, rpps FROM ${s}.entitlement_inputs
         WHERE kind = 'declaration' AND rpps = ANY($1::text[]) ON CONFLICT DO NOTHING`,
        [[...profiles]],
      );
    }
    for (const year of campaigns) {
      await tx.query(
        `INSERT INTO ${s}.entitlement_dirty (year, rpps) SELECT DISTINCT year, rpps FROM ${s}.entitlement_inputs
         WHERE kind = 'declaration' AND year = $1 ON CONFLICT DO NOTHING`,
        [year],
      );
    }
    if (context.atHead) await recomputeDirty(tx, schema, events[events.length - 1]!.position.toString());
  },
};

/** Doctor-years recomputed per round: memory is bounded by this, not by the number waiting. */
const RECOMPUTE_CHUNK = 500;

/** Recomputes every dirty doctor-year, RECOMPUTE_CHUNK at a time, from the kept inputs. */
async function recomputeDirty(tx: SqlExecutor, schema: string, last: string): Promise<void> {
  const s = quoteIdent(schema);
  const campaignsByYear = new Map<number, KnownEvent[]>();
  for (;;) {
    const { rows: keys } = await tx.query<{ year: number; rpps: string }>(
      `SELECT year, rpps FROM ${s}.entitlement_dirty ORDER BY year, rpps LIMIT ${RECOMPUTE_CHUNK}`,
    );
    if (keys.length === 0) return;
    const doctors = [...new Set(keys.map((k) => k.rpps))];
    for (const year of new Set(keys.map((k) => Number(k.year)))) {
      if (campaignsByYear.has(year)) continue;
      const { rows } = await tx.query<{ event: KnownEvent }>(`SELECT event FROM ${s}.entitlement_inputs WHERE kind = 'campaign' AND year = $1 ORDER BY position`, [year]);
      campaignsByYear.set(year, rows.map((r) => r.event));
    }
    const { rows: inputs } = await tx.query<{ kind: string; rpps: string; year: number | null; event: KnownEvent }>(
      `SELECT kind, rpps, year, event FROM ${s}.entitlement_inputs WHERE kind IN ('doctor', 'declaration') AND rpps = ANY($1::text[]) ORDER BY position`,
      [doctors],
    );
    const byDoctor = new Map<string, typeof inputs>();
    for (const row of inputs) {
      const list = byDoctor.get(row.rpps) ?? [];
      list.push(row);
      byDoctor.set(row.rpps, list);
    }
    const views: Record<string, unknown>[] = [];
    for (const { rpps, year: y } of keys) {
      const year = Number(y);
      const view = entitlementOf(rpps, year, campaignsByYear.get(year) ?? [], byDoctor.get(rpps) ?? []);
      if (!view) continue;
      views.push({
        rpps, year, ruleset: view.ruleset, ruleset_version: view.rulesetVersion, volet1_met: view.volet1.met, total_points_exact: view.totalPointsExact,
        amount_cents: view.amountCents, paid_cents: view.paidCents, balance_cents: view.balanceCents, known_at: view.knownAt, view, position: last,
      });
    }
    if (views.length > 0) {
      await tx.query(
        `INSERT INTO ${s}.entitlements (rpps, year, ruleset, ruleset_version, volet1_met, total_points_exact, amount_cents, paid_cents, balance_cents, known_at, view, position)
         SELECT rpps, year, ruleset, ruleset_version, volet1_met, total_points_exact, amount_cents, paid_cents, balance_cents, known_at, view, position
         FROM jsonb_to_recordset($1::jsonb) AS x(rpps text, year integer, ruleset text, ruleset_version text, volet1_met boolean, total_points_exact text,
           amount_cents bigint, paid_cents bigint, balance_cents bigint, known_at timestamptz, view jsonb, position numeric)
         ON CONFLICT (year, rpps) DO UPDATE SET ruleset = EXCLUDED.ruleset, ruleset_version = EXCLUDED.ruleset_version,
           volet1_met = EXCLUDED.volet1_met, total_points_exact = EXCLUDED.total_points_exact, amount_cents = EXCLUDED.amount_cents,
           paid_cents = EXCLUDED.paid_cents, balance_cents = EXCLUDED.balance_cents, known_at = EXCLUDED.known_at,
           view = EXCLUDED.view, position = EXCLUDED.position`,
        [JSON.stringify(views)],
      );
    }
    await tx.query(
      `DELETE FROM ${s}.entitlement_dirty d USING jsonb_to_recordset($1::jsonb) AS x(year integer, rpps text) WHERE d.year = x.year AND d.rpps = x.rpps`,
      [JSON.stringify(keys.map((k) => ({ year: Number(k.year), rpps: k.rpps })))],
    );
  }
}

/** One doctor-year from its kept inputs, as known at the latest of them (the API's replay, same function). */
function entitlementOf(rpps: string, year: number, campaign: KnownEvent[], rows: { kind: string; year: number | null; event: KnownEvent }[]): EntitlementView | undefined {
  const state = campaignFrom(campaign);
  if (state.status === 'none') return undefined;
  const ruleset = findRuleset(state.ruleset, state.rulesetVersion);
  if (!ruleset) return undefined;
  const relevant = rows.filter((r) => r.kind === 'doctor' || Number(r.year) <= year);
  const knownAt = [...campaign, ...relevant.map((r) => r.event)].reduce((max, e) => (e.metadata.recordedAt > max ? e.metadata.recordedAt : max), '');
  const entitlement = computeEntitlement({
    rpps,
    year,
    ruleset,
    knownAt,
    campaign,
    doctor: relevant.filter((r) => r.kind === 'doctor').map((r) => r.event),
    declaration: relevant.filter((r) => r.kind === 'declaration' && Number(r.year) === year).map((r) => r.event),
    earlier: relevant.filter((r) => r.kind === 'declaration' && Number(r.year) < year).map((r) => r.event),
  });
  return toEntitlementView(entitlement);
}

export async function readEntitlement(db: SqlDatabase, schema: string, rpps: string, year: number): Promise<EntitlementView | undefined> {
  const { rows } = await db.query<{ view: EntitlementView }>(`SELECT view FROM ${quoteIdent(schema)}.entitlements WHERE year = $1 AND rpps = $2`, [year, rpps]);
  return rows[0]?.view;
}
