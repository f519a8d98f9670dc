import { caisseName, defaultUpcasters, type RecordedEvent } from '@forfait/events';
import { quoteIdent, type SqlDatabase, type SqlExecutor } from '@forfait/store';
import type { Projection } from '../projection';

/**
 * Controllers' worklists (controls open, evidence overdue, contestations to decide) and the
 * campaign dashboard (declarations per indicator, transmitted or not, per caisse). Rows are keyed by
 * natural ids and guarded by position: a replayed batch changes nothing.
 */
/** The stored event types whose content the worklists read. */
const WORKLIST_TYPES: readonly string[] = [
  'IndicatorDeclared',
  'DeclarationTransmitted',
  'ControlOpened',
  'ControlEvidenceRequested',
  'ControlFindingRecorded',
  'ControlClosed',
  'ContestationFiled',
  'ContestationDecided',
];

export const worklistsProjection: Projection = {
  name: 'worklists',
  version: 1,
  tables: ['controls', 'declared_indicators', 'transmissions'],
  fullTypes: () => WORKLIST_TYPES,
  async setup(tx, schema) {
    const s = quoteIdent(schema);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.controls (
      control_id text PRIMARY KEY, rpps text NOT NULL, year integer NOT NULL, indicators jsonb NOT NULL, reason text NOT NULL,
      status text NOT NULL, opened_at timestamptz NOT NULL, evidence_due_at timestamptz, findings jsonb NOT NULL DEFAULT '{}'::jsonb,
      closed_at timestamptz, notification text, balance_cents bigint,
      contestation text, contestation_filed_at timestamptz, contestation_decided_at timestamptz, contestation_outcome text,
      position numeric NOT NULL)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.declared_indicators (
      year integer NOT NULL, rpps text NOT NULL, indicator text NOT NULL, channel text NOT NULL, declared_at timestamptz NOT NULL,
      position numeric NOT NULL, PRIMARY KEY (year, rpps, indicator))`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.transmissions (year integer NOT NULL, rpps text NOT NULL, transmitted_at timestamptz NOT NULL, PRIMARY KEY (year, rpps))`,
    );
  },
  async apply(tx: SqlExecutor, schema: string, events: RecordedEvent[]) {
    const s = quoteIdent(schema);
    // Declarations and transmissions (most of the traffic) are folded per key and written in one
    // statement each; controls (rare) are applied one event at a time, in order.
    const declared = new Map<string, Record<string, unknown>>();
    const transmitted = new Map<string, Record<string, unknown>>();
    for (const raw of events) {
      // Other types may come as headers only (a rebuild): never look inside them.
      if (!WORKLIST_TYPES.includes(raw.type)) continue;
      const e = defaultUpcasters.upcast(raw);
      const pos = e.position.toString();
      const at = e.metadata.effectiveAt;
      switch (e.type) {
        case 'IndicatorDeclared':
          declared.set(`${e.data.year}:${e.data.rpps}:${e.data.indicator}`, {
            year: e.data.year,
            rpps: e.data.rpps,
            indicator: e.data.indicator,
            channel: e.metadata.channel,
            declared_at: at,
            position: pos,
          });
          break;
        case 'DeclarationTransmitted':
          if (!transmitted.has(`${e.data.year}:${e.data.rpps}`))
            transmitted.set(`${e.data.year}:${e.data.rpps}`, { year: e.data.year, rpps: e.data.rpps, transmitted_at: at });
          break;
        case 'ControlOpened':
          await tx.query(
            `INSERT INTO ${s}.controls (control_id, rpps, year, indicators, reason, status, opened_at, position)
             VALUES ($1, $2, $3, $4::jsonb, $5, 'open', $6, $7) ON CONFLICT (control_id) DO NOTHING`,
            [e.data.controlId, e.data.rpps, e.data.year, JSON.stringify(e.data.indicators), e.data.reason, at, pos],
          );
          break;
        case 'ControlEvidenceRequested':
          await update(tx, s, e.data.controlId, pos, 'evidence_due_at = $3', [e.data.dueAt]);
          break;
        case 'ControlFindingRecorded':
          await update(tx, s, e.data.controlId, pos, `findings = findings || jsonb_build_object($3::text, $4::text)`, [e.data.indicator, e.data.outcome]);
          break;
        case 'ControlClosed':
          await update(tx, s, e.data.controlId, pos, `status = 'closed', closed_at = $3, notification = $4, balance_cents = $5`, [
            at,
            e.data.notification,
            e.data.balanceCents,
          ]);
          break;
        case 'ContestationFiled':
          await update(tx, s, e.data.controlId, pos, `contestation = 'filed', contestation_filed_at = $3`, [at]);
          break;
        case 'ContestationDecided':
          await update(tx, s, e.data.controlId, pos, `contestation = 'decided', contestation_decided_at = $3, contestation_outcome = $4`, [at, e.data.outcome]);
          break;
        default:
          break;
      }
    }
    if (declared.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.declared_indicators (year, rpps, indicator, channel, declared_at, position)
         SELECT year, rpps, indicator, channel, declared_at, position
         FROM jsonb_to_recordset($1::jsonb) AS x(year integer, rpps text, indicator text, channel text, declared_at timestamptz, position numeric)
         ON CONFLICT (year, rpps, indicator) DO UPDATE SET channel = EXCLUDED.channel, declared_at = EXCLUDED.declared_at, position = EXCLUDED.position
         WHERE ${s}.declared_indicators.position < EXCLUDED.position`,
        [JSON.stringify([...declared.values()])],
      );
    }
    if (transmitted.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.transmissions (year, rpps, transmitted_at)
         SELECT year, rpps, transmitted_at FROM jsonb_to_recordset($1::jsonb) AS x(year integer, rpps text, transmitted_at timestamptz)
         ON CONFLICT DO NOTHING`,
        [JSON.stringify([...transmitted.values()])],
      );
    }
  },
};

async function update(tx: SqlExecutor, s: string, controlId: string, position: string, set: string, params: unknown[]): Promise<void> {
  await tx.query(`UPDATE ${s}.controls SET ${set}, position = $2 WHERE control_id = $1 AND position < $2`, [controlId, position, ...params]);
}

export interface ControlRow {
  controlId: string;
  rpps: string;
  year: number;
  caisse: string | null;
  indicators: string[];
  reason: string;
  status: string;
  openedAt: string;
  evidenceDueAt: string | null;
  evidenceOverdue: boolean;
  findings: Record<string, string>;
  closedAt: string | null;
  notification: string | null;
  balanceCents: number | null;
  contestation: string | null;
  contestationFiledAt: string | null;
  contestationOutcome: string | null;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

/**
 * Controls of a caisse: `open`, `overdue` (evidence requested, due date passed, still open),
 * `contested` (a contestation waiting for its decision), or all.
 */
export async function listControls(
  db: SqlDatabase,
  schema: string,
  filter: { caisse?: string; status?: 'open' | 'overdue' | 'contested' | 'closed'; now: string },
): Promise<ControlRow[]> {
  const s = quoteIdent(schema);
  const { rows } = await db.query(
    `SELECT c.*, d.caisse FROM ${s}.controls c LEFT JOIN ${s}.doctors d ON d.rpps = c.rpps
     WHERE ($1::text IS NULL OR d.caisse = $1)
       AND ($2::text IS NULL
            OR ($2 = 'open' AND c.status = 'open')
            OR ($2 = 'closed' AND c.status = 'closed')
            OR ($2 = 'overdue' AND c.status = 'open' AND c.evidence_due_at < $3::timestamptz)
            OR ($2 = 'contested' AND c.contestation = 'filed'))
     ORDER BY c.opened_at, c.control_id`,
    [filter.caisse ?? null, filter.status ?? null, filter.now],
  );
  return rows.map((r) => ({
    controlId: r.control_id as string,
    rpps: r.rpps as string,
    year: Number(r.year),
    caisse: (r.caisse as string | null) ?? null,
    indicators: r.indicators as string[],
    reason: r.reason as string,
    status: r.status as string,
    openedAt: iso(r.opened_at)!,
    evidenceDueAt: iso(r.evidence_due_at),
    evidenceOverdue: r.status === 'open' && r.evidence_due_at !== null && Date.parse(iso(r.evidence_due_at)!) < Date.parse(filter.now),
    findings: (r.findings as Record<string, string> | null) ?? {},
    closedAt: iso(r.closed_at),
    notification: (r.notification as string | null) ?? null,
    balanceCents: r.balance_cents === null || r.balance_cents === undefined ? null : Number(r.balance_cents),
    contestation: (r.contestation as string | null) ?? null,
    contestationFiledAt: iso(r.contestation_filed_at),
    contestationOutcome: (r.contestation_outcome as string | null) ?? null,
  }));
}

/** The campaign dashboard: doctors declaring each indicator, and doctors who transmitted, per caisse. */
/** The CPAM's name of a caisse code (libs/events' referential), null when unknown or unnamed. */
const nameOf = (caisse: string | null): string | null => (caisse ? (caisseName(caisse) ?? null) : null);

export async function campaignDashboard(db: SqlDatabase, schema: string, year: number, caisse?: string) {
  const s = quoteIdent(schema);
  const declarations = await db.query<{ caisse: string | null; indicator: string; doctors: string; paper: string }>(
    `SELECT d.caisse, i.indicator, count(*)::text AS doctors, count(*) FILTER (WHERE i.channel IN ('paper', 'back-office'))::text AS paper
     FROM ${s}.declared_indicators i LEFT JOIN ${s}.doctors d ON d.rpps = i.rpps
     WHERE i.year = $1 AND ($2::text IS NULL OR d.caisse = $2) GROUP BY d.caisse, i.indicator ORDER BY d.caisse, i.indicator`,
    [year, caisse ?? null],
  );
  const doctors = await db.query<{ caisse: string | null; doctors: string; transmitted: string }>(
    `SELECT d.caisse, count(*)::text AS doctors, count(t.rpps)::text AS transmitted
     FROM ${s}.doctor_years y LEFT JOIN ${s}.doctors d ON d.rpps = y.rpps LEFT JOIN ${s}.transmissions t ON t.year = y.year AND t.rpps = y.rpps
     WHERE y.year = $1 AND ($2::text IS NULL OR d.caisse = $2) GROUP BY d.caisse ORDER BY d.caisse`,
    [year, caisse ?? null],
  );
  const byCaisse = new Map<
    string,
    {
      caisse: string | null;
      caisseName: string | null;
      doctors: number;
      transmitted: number;
      notTransmitted: number;
      declarations: Record<string, { doctors: number; paperOrBackOffice: number }>;
    }
  >();
  for (const r of doctors.rows) {
    const d = Number(r.doctors);
    const t = Number(r.transmitted);
    byCaisse.set(r.caisse ?? '', { caisse: r.caisse, caisseName: nameOf(r.caisse), doctors: d, transmitted: t, notTransmitted: d - t, declarations: {} });
  }
  for (const r of declarations.rows) {
    const entry = byCaisse.get(r.caisse ?? '') ?? {
      caisse: r.caisse,
      caisseName: nameOf(r.caisse),
      doctors: 0,
      transmitted: 0,
      notTransmitted: 0,
      declarations: {},
    };
    entry.declarations[r.indicator] = { doctors: Number(r.doctors), paperOrBackOffice: Number(r.paper) };
    byCaisse.set(r.caisse ?? '', entry);
  }
  return { year, caisses: [...byCaisse.values()] };
}
