import { defaultUpcasters, type RecordedEvent } from '@forfait/events';
import { quoteIdent, type SqlDatabase, type SqlExecutor } from '@forfait/store';
import type { Projection } from '../projection';

const DEADLINE_TYPES: readonly string[] = ['CampaignOpened', 'CampaignDeadlineExtended', 'CampaignClosed'];

/**
 * Each campaign's current deadline and whether it was closed at it: what the job reconciler reads to
 * re-create a close job Redis lost. Folded in order, so a replayed batch leaves the same rows.
 */
export const campaignDeadlinesProjection: Projection = {
  name: 'campaign_deadlines',
  version: 1,
  tables: ['campaign_deadlines'],
  fullTypes: () => DEADLINE_TYPES,
  async setup(tx, schema) {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.campaign_deadlines (
      year integer PRIMARY KEY, closes_at text NOT NULL, closed boolean NOT NULL, position numeric NOT NULL)`);
  },
  async apply(tx: SqlExecutor, schema: string, events: RecordedEvent[]) {
    const t = `${quoteIdent(schema)}.campaign_deadlines`;
    for (const raw of events) {
      if (!DEADLINE_TYPES.includes(raw.type)) continue;
      const e = defaultUpcasters.upcast(raw);
      const position = e.position.toString();
      if (e.type === 'CampaignOpened' || e.type === 'CampaignDeadlineExtended') {
        // An extension after the closing reopens the campaign (api.md): a new deadline, not closed.
        await tx.query(
          `INSERT INTO ${t} (year, closes_at, closed, position) VALUES ($1, $2, false, $3)
           ON CONFLICT (year) DO UPDATE SET closes_at = EXCLUDED.closes_at, closed = false, position = EXCLUDED.position
           WHERE ${t}.position < EXCLUDED.position`,
          [e.data.year, e.data.closesAt, position],
        );
      } else if (e.type === 'CampaignClosed') {
        await tx.query(`UPDATE ${t} SET closed = true, position = $3 WHERE year = $1 AND closes_at = $2 AND position < $3`, [
          e.data.year,
          e.data.closesAt,
          position,
        ]);
      }
    }
  },
};

/** Campaigns whose deadline has not been closed yet. */
export async function listOpenDeadlines(db: SqlDatabase, schema: string): Promise<{ year: number; closesAt: string }[]> {
  const { rows } = await db.query<{ year: number | string; closes_at: string }>(
    `SELECT year, closes_at FROM ${quoteIdent(schema)}.campaign_deadlines WHERE NOT closed ORDER BY year`,
  );
  return rows.map((r) => ({ year: Number(r.year), closesAt: r.closes_at }));
}

/** Every campaign opened, the latest first (GET /v1/campaigns lists them so). */
export async function listCampaignYears(db: SqlDatabase, schema: string): Promise<number[]> {
  const { rows } = await db.query<{ year: number | string }>(`SELECT year FROM ${quoteIdent(schema)}.campaign_deadlines ORDER BY year DESC`);
  return rows.map((r) => Number(r.year));
}
