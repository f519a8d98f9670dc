import { defaultUpcasters, type RecordedEvent } from '@forfait/events';
import { quoteIdent, type SqlDatabase, type SqlExecutor } from '@forfait/store';
import type { Projection } from '../projection';
import { doctorOfStream } from './audit-trail.projection';

/**
 * Who is who: doctors with their current profile, the doctor-years that have a stream, and the
 * justificatifs with their status (the agents' worklist, joined to the doctor's caisse).
 * Upserts keyed by natural ids, guarded by position, so a replayed batch changes nothing.
 */
export const registryProjection: Projection = {
  name: 'registry',
  version: 1,
  tables: ['doctors', 'doctor_years', 'justificatifs'],
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
    for (const raw of events) {
      const e = defaultUpcasters.upcast(raw);
      const { rpps, year } = doctorOfStream(e.streamId);
      if (rpps && year !== null) {
        await tx.query(`INSERT INTO ${s}.doctor_years (rpps, year) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [rpps, year]);
      }
      const pos = e.position.toString();
      switch (e.type) {
        case 'DoctorProfileRecorded':
          await tx.query(
            `INSERT INTO ${s}.doctors (rpps, specialty, caisse, department, profile_event_id, position) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (rpps) DO UPDATE SET specialty = EXCLUDED.specialty, caisse = EXCLUDED.caisse, department = EXCLUDED.department,
               profile_event_id = EXCLUDED.profile_event_id, position = EXCLUDED.position
             WHERE ${s}.doctors.position < EXCLUDED.position`,
            [e.data.rpps, e.data.specialty, e.data.caisse, e.data.department, e.eventId, pos],
          );
          break;
        case 'JustificatifSubmitted':
          await tx.query(
            `INSERT INTO ${s}.justificatifs (id, rpps, year, indicator, status, sha256, size, media_type, submitted_at, submitted_event_id, position)
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
            [e.data.justificatifId, e.data.rpps, e.data.year, e.data.indicator, e.data.sha256, e.data.size, e.data.mediaType, e.metadata.effectiveAt, e.eventId, pos],
          );
          break;
        case 'JustificatifValidated':
        case 'JustificatifRejected':
          await tx.query(
            `UPDATE ${s}.justificatifs SET status = $2, decided_at = $3, decision_event_id = $4, reason = $5, position = $6
             WHERE id = $1 AND position < $6`,
            [e.data.justificatifId, e.type === 'JustificatifValidated' ? 'validated' : 'rejected', e.metadata.effectiveAt, e.eventId, e.type === 'JustificatifRejected' ? e.data.reason : null, pos],
          );
          break;
        default:
          break;
      }
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
