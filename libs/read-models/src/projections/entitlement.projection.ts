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
  version: 1,
  tables: ['entitlement_inputs', 'entitlements'],
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
  },
  async apply(tx: SqlExecutor, schema: string, events: RecordedEvent[]) {
    const s = quoteIdent(schema);
    const rows = events.map((raw) => {
      const e = defaultUpcasters.upcast(raw);
      const { rpps, year } = doctorOfStream(e.streamId);
      const kind = e.streamId.startsWith('campaign-') ? 'campaign' : e.streamId.startsWith('doctor-') ? 'doctor' : e.streamId.startsWith('declaration-') ? 'declaration' : 'other';
      const known: KnownEvent = { type: e.type, data: e.data, eventId: e.eventId, metadata: e.metadata } as KnownEvent;
      return { position: e.position.toString(), kind, rpps, year, event: known };
    });
    await tx.query(
      `INSERT INTO ${s}.entitlement_inputs (position, kind, rpps, year, event)
       SELECT position, kind, rpps, year, event FROM jsonb_to_recordset($1::jsonb) AS x(position numeric, kind text, rpps text, year integer, event jsonb)
       ON CONFLICT (position) DO NOTHING`,
      [JSON.stringify(rows.filter((r) => r.kind !== 'other'))],
    );

    // Which doctor-years this batch changes: a declaration its own; a profile every year of the
    // doctor; a campaign event every doctor of that year.
    const dirty = new Map<string, { rpps: string; year: number }>();
    const mark = (rpps: string, year: number) => dirty.set(`${year}:${rpps}`, { rpps, year });
    for (const r of rows) {
      if (r.kind === 'declaration' && r.rpps && r.year !== null) mark(r.rpps, r.year);
      else if (r.kind === 'doctor' && r.rpps) {
        const { rows: years } = await tx.query<{ year: number }>(`SELECT DISTINCT year FROM ${s}.entitlement_inputs WHERE kind = 'declaration' AND rpps = $1`, [r.rpps]);
        for (const y of years) mark(r.rpps, Number(y.year));
      } else if (r.kind === 'campaign' && r.year !== null) {
        const { rows: doctors } = await tx.query<{ rpps: string }>(`SELECT DISTINCT rpps FROM ${s}.entitlement_inputs WHERE kind = 'declaration' AND year = $1`, [r.year]);
        for (const d of doctors) mark(d.rpps, r.year);
      }
    }
    const last = events[events.length - 1]!.position.toString();
    for (const { rpps, year } of dirty.values()) {
      const view = await entitlementFromInputs(tx, schema, rpps, year);
      if (!view) continue;
      await tx.query(
        `INSERT INTO ${s}.entitlements (rpps, year, ruleset, ruleset_version, volet1_met, total_points_exact, amount_cents, paid_cents, balance_cents, known_at, view, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12)
         ON CONFLICT (year, rpps) DO UPDATE SET ruleset = EXCLUDED.ruleset, ruleset_version = EXCLUDED.ruleset_version,
           volet1_met = EXCLUDED.volet1_met, total_points_exact = EXCLUDED.total_points_exact, amount_cents = EXCLUDED.amount_cents,
           paid_cents = EXCLUDED.paid_cents, balance_cents = EXCLUDED.balance_cents, known_at = EXCLUDED.known_at,
           view = EXCLUDED.view, position = EXCLUDED.position`,
        [rpps, year, view.ruleset, view.rulesetVersion, view.volet1.met, view.totalPointsExact, view.amountCents, view.paidCents, view.balanceCents, view.knownAt, JSON.stringify(view), last],
      );
    }
  },
};

/** Recomputes one doctor-year from the kept inputs, as known at the latest of them. */
async function entitlementFromInputs(tx: SqlExecutor, schema: string, rpps: string, year: number): Promise<EntitlementView | undefined> {
  const s = quoteIdent(schema);
  const { rows } = await tx.query<{ kind: string; year: number | null; event: KnownEvent }>(
    `SELECT kind, year, event FROM ${s}.entitlement_inputs
     WHERE (kind = 'campaign' AND year = $2) OR (kind = 'doctor' AND rpps = $1) OR (kind = 'declaration' AND rpps = $1 AND year <= $2)
     ORDER BY position`,
    [rpps, year],
  );
  const campaign = rows.filter((r) => r.kind === 'campaign').map((r) => r.event);
  const state = campaignFrom(campaign);
  if (state.status === 'none') return undefined;
  const ruleset = findRuleset(state.ruleset, state.rulesetVersion);
  if (!ruleset) return undefined;
  const all = rows.map((r) => r.event);
  const knownAt = all.reduce((max, e) => (e.metadata.recordedAt > max ? e.metadata.recordedAt : max), '');
  const entitlement = computeEntitlement({
    rpps,
    year,
    ruleset,
    knownAt,
    campaign,
    doctor: rows.filter((r) => r.kind === 'doctor').map((r) => r.event),
    declaration: rows.filter((r) => r.kind === 'declaration' && Number(r.year) === year).map((r) => r.event),
    earlier: rows.filter((r) => r.kind === 'declaration' && Number(r.year) < year).map((r) => r.event),
  });
  return toEntitlementView(entitlement);
}

export async function readEntitlement(db: SqlDatabase, schema: string, rpps: string, year: number): Promise<EntitlementView | undefined> {
  const { rows } = await db.query<{ view: EntitlementView }>(`SELECT view FROM ${quoteIdent(schema)}.entitlements WHERE year = $1 AND rpps = $2`, [year, rpps]);
  return rows[0]?.view;
}
