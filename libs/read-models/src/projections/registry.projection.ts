import { defaultUpcasters, type RecordedEvent } from '@forfait/events';
import { quoteIdent, type SqlDatabase, type SqlExecutor } from '@forfait/store';
import type { Projection } from '../projection';
import { doctorOfStream } from './audit-trail.projection';

/**
 * Who is who: doctors with their current profile, the doctor-years that have a stream, and the
 * justificatifs with their status (the agents' worklist, joined to the doctor's caisse).
 * Upserts keyed by natural ids, guarded by position, so a replayed batch changes nothing.
 */
/** The stored event types whose content the registry reads. */
const REGISTRY_TYPES: readonly string[] = ['DoctorProfileRecorded', 'JustificatifSubmitted', 'JustificatifValidated', 'JustificatifRejected'];

export const registryProjection: Projection = {
  name: 'registry',
  version: 1,
  tables: ['doctors', 'doctor_years', 'justificatifs'],
  fullTypes: () => REGISTRY_TYPES,
  async setup(tx, schema) {
    const s = quoteIdent(schema);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.doctors (
      rpps text PRIMARY KEY, specialty text NOT NULL, caisse text NOT NULL, department text NOT NULL,
      profile_event_id uuid NOT NULL, position numeric NOT NULL)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS doctors_caisse ON ${s}.doctors (caisse)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.doctor_years (rpps text NOT NULL, year integer NOT NULL, PRIMARY KEY (year, rpps))`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.justificatifs (
      id text PRIMARY KEY, rpps text NOT NULL, year integer NOT NULL, indicator text NOT NULL, status text NOT NULL,
      sha256 text NOT NULL, size integer NOT NULL, media_type text NOT NULL,
      submitted_at timestamptz NOT NULL, submitted_event_id uuid NOT NULL,
      decided_at timestamptz, decision_event_id uuid, reason text, position numeric NOT NULL)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS justificatifs_status ON ${s}.justificatifs (status, submitted_at)`);
  },
  async apply(tx: SqlExecutor, schema: string, events: RecordedEvent[]) {
    const s = quoteIdent(schema);
    // The batch folded in memory first (last write per key wins, as applying one by one would),
    // then one statement per table: a batch costs a handful of round trips, whatever its size.
    const years = new Map<string, { rpps: string; year: number }>();
    const doctors = new Map<string, Record<string, unknown>>();
    const submitted = new Map<string, Record<string, unknown>>();
    const decisions = new Map<string, Record<string, unknown>>();
    for (const raw of events) {
      const { rpps, year } = doctorOfStream(raw.streamId);
      if (rpps && year !== null) years.set(`${year}:${rpps}`, { rpps, year });
      // Other types may come as headers only (a rebuild): never look inside them.
      if (!REGISTRY_TYPES.includes(raw.type)) continue;
      const e = defaultUpcasters.upcast(raw);
      const position = e.position.toString();
      switch (e.type) {
        case 'DoctorProfileRecorded':
          doctors.set(e.data.rpps, { rpps: e.data.rpps, specialty: e.data.specialty, caisse: e.data.caisse, department: e.data.department, profile_event_id: e.eventId, position });
          break;
        case 'JustificatifSubmitted':
          if (!submitted.has(e.data.justificatifId)) {
            submitted.set(e.data.justificatifId, { id: e.data.justificatifId, rpps: e.data.rpps, year: e.data.year, indicator: e.data.indicator, sha256: e.data.sha256, size: e.data.size, media_type: e.data.mediaType, submitted_at: e.metadata.effectiveAt, submitted_event_id: e.eventId, position });
          }
          break;
        case 'JustificatifValidated':
        case 'JustificatifRejected':
          decisions.set(e.data.justificatifId, { id: e.data.justificatifId, status: e.type === 'JustificatifValidated' ? 'validated' : 'rejected', decided_at: e.metadata.effectiveAt, decision_event_id: e.eventId, reason: e.type === 'JustificatifRejected' ? e.data.reason : null, position });
          break;
        default:
          break;
      }
    }
    if (years.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.doctor_years (rpps, year) SELECT rpps, year FROM jsonb_to_recordset($1::jsonb) AS x(rpps text, year integer) ON CONFLICT DO NOTHING`,
        [JSON.stringify([...years.values()])],
      );
    }
    if (doctors.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.doctors (rpps, specialty, caisse, department, profile_event_id, position)
         SELECT rpps, specialty, caisse, department, profile_event_id, position
         FROM jsonb_to_recordset($1::jsonb) AS x(rpps text, specialty text, caisse text, department text, profile_event_id uuid, position numeric)
         ON CONFLICT (rpps) DO UPDATE SET specialty = EXCLUDED.specialty, caisse = EXCLUDED.caisse, department = EXCLUDED.department,
           profile_event_id = EXCLUDED.profile_event_id, position = EXCLUDED.position
         WHERE ${s}.doctors.position < EXCLUDED.position`,
        [JSON.stringify([...doctors.values()])],
      );
    }
    if (submitted.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.justificatifs (id, rpps, year, indicator, status, sha256, size, media_type, submitted_at, submitted_event_id, position)
         SELECT id, rpps, year, indicator, 'pending', sha256, size, media_type, submitted_at, submitted_event_id, position
         FROM jsonb_to_recordset($1::jsonb) AS x(id text, rpps text, year integer, indicator text, sha256 text, size integer, media_type text,
           submitted_at timestamptz, submitted_event_id uuid, position numeric)
         ON CONFLICT (id) DO NOTHING`,
        [JSON.stringify([...submitted.values()])],
      );
    }
    if (decisions.size > 0) {
      await tx.query(
        `UPDATE ${s}.justificatifs j SET status = x.status, decided_at = x.decided_at, decision_event_id = x.decision_event_id, reason = x.reason, position = x.position
         FROM jsonb_to_recordset($1::jsonb) AS x(id text, status text, decided_at timestamptz, decision_event_id uuid, reason text, position numeric)
         WHERE j.id = x.id AND j.position < x.position`,
        [JSON.stringify([...decisions.values()])],
      );
    }
  },
};

export async function listDoctorsOfYear(db: SqlDatabase, schema: string, year: number): Promise<string[]> {
  const { rows } = await db.query<{ rpps: string }>(`SELECT rpps FROM ${quoteIdent(schema)}.doctor_years WHERE year = $1 ORDER BY rpps`, [year]);
  return rows.map((r) => r.rpps);
}

export async function listDoctorsOfYearInCaisse(db: SqlDatabase, schema: string, year: number, caisse: string): Promise<string[]> {
  const s = quoteIdent(schema);
  const { rows } = await db.query<{ rpps: string }>(
    `SELECT y.rpps FROM ${s}.doctor_years y JOIN ${s}.doctors d ON d.rpps = y.rpps WHERE y.year = $1 AND d.caisse = $2 ORDER BY y.rpps`,
    [year, caisse],
  );
  return rows.map((r) => r.rpps);
}

/** The caisses of a campaign's doctors (the yearly calculation fans out per caisse). */
export async function listCaissesOfYear(db: SqlDatabase, schema: string, year: number): Promise<{ caisse: string; doctors: number }[]> {
  const s = quoteIdent(schema);
  const { rows } = await db.query<{ caisse: string; doctors: string }>(
    `SELECT d.caisse, count(*)::text AS doctors FROM ${s}.doctor_years y JOIN ${s}.doctors d ON d.rpps = y.rpps WHERE y.year = $1 GROUP BY d.caisse ORDER BY d.caisse`,
    [year],
  );
  return rows.map((r) => ({ caisse: r.caisse, doctors: Number(r.doctors) }));
}

export interface JustificatifRow {
  id: string;
  rpps: string;
  year: number;
  caisse: string | null;
  indicator: string;
  status: string;
  sha256: string;
  size: number;
  mediaType: string;
  submittedAt: string;
  decidedAt: string | null;
  reason: string | null;
}

export async function listJustificatifs(db: SqlDatabase, schema: string, filter: { caisse?: string; status?: string; limit?: number }): Promise<JustificatifRow[]> {
  const s = quoteIdent(schema);
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT j.id, j.rpps, j.year, d.caisse, j.indicator, j.status, j.sha256, j.size, j.media_type, j.submitted_at, j.decided_at, j.reason
     FROM ${s}.justificatifs j LEFT JOIN ${s}.doctors d ON d.rpps = j.rpps
     WHERE ($1::text IS NULL OR d.caisse = $1) AND ($2::text IS NULL OR j.status = $2)
     ORDER BY j.submitted_at, j.id LIMIT $3`,
    [filter.caisse ?? null, filter.status ?? null, filter.limit ?? 500],
  );
  const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
  return rows.map((r) => ({
    id: r.id as string,
    rpps: r.rpps as string,
    year: Number(r.year),
    caisse: (r.caisse as string | null) ?? null,
    indicator: r.indicator as string,
    status: r.status as string,
    sha256: r.sha256 as string,
    size: Number(r.size),
    mediaType: r.media_type as string,
    submittedAt: iso(r.submitted_at)!,
    decidedAt: iso(r.decided_at),
    reason: (r.reason as string | null) ?? null,
  }));
}
