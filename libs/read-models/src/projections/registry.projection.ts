import { caisseName, defaultUpcasters, type RecordedEvent } from '@forfait/events';
import { quoteIdent, type SqlDatabase, type SqlExecutor } from '@forfait/store';
import type { Projection } from '../projection';
import { doctorOfStream } from './audit-trail.projection';
import type { DoctorRow, JustificatifRow, SasAttestationRow } from '../rows';

export type { DoctorRow, JustificatifRow, SasAttestationRow } from '../rows';

/**
 * Who is who: doctors with their current profile, the doctor-years that have a stream, and the
 * justificatifs with their status (the agents' worklist, joined to the doctor's caisse), and the CPTS
 * presidents' SAS attestations (in the same worklist, under the caisse that received them). The
 * attestations' table came without a version bump: no such event existed before it.
 * Upserts keyed by natural ids, guarded by position, so a replayed batch changes nothing.
 */
/** The stored event types whose content the registry reads. */
const REGISTRY_TYPES: readonly string[] = [
  'DoctorProfileRecorded',
  'JustificatifSubmitted',
  'JustificatifValidated',
  'JustificatifRejected',
  'SasAttestationReceived',
  'SasAttestationValidated',
  'SasAttestationRejected',
];

export const registryProjection: Projection = {
  name: 'registry',
  // Version 2: each doctor-year's revision (the last event of its stream) and each SAS
  // attestation's, which the worklist carries so that a decision is sent with If-Match.
  version: 2,
  tables: ['doctors', 'doctor_years', 'justificatifs', 'sas_attestations'],
  fullTypes: () => REGISTRY_TYPES,
  async setup(tx, schema) {
    const s = quoteIdent(schema);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.doctors (
      rpps text PRIMARY KEY, specialty text NOT NULL, caisse text NOT NULL, department text NOT NULL,
      profile_event_id uuid NOT NULL, position numeric NOT NULL)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS doctors_caisse ON ${s}.doctors (caisse)`);
    // The doctor's name (optional in the profile, an extension of api.md), and its search key: lower
    // case, without accents, punctuation as spaces (added in place: profiles before them had no name).
    await tx.query(`ALTER TABLE ${s}.doctors ADD COLUMN IF NOT EXISTS name text`);
    await tx.query(`ALTER TABLE ${s}.doctors ADD COLUMN IF NOT EXISTS name_key text`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.doctor_years (rpps text NOT NULL, year integer NOT NULL, revision integer NOT NULL, PRIMARY KEY (year, rpps))`,
    );
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.justificatifs (
      id text PRIMARY KEY, rpps text NOT NULL, year integer NOT NULL, indicator text NOT NULL, status text NOT NULL,
      sha256 text NOT NULL, size integer NOT NULL, media_type text NOT NULL,
      submitted_at timestamptz NOT NULL, submitted_event_id uuid NOT NULL,
      decided_at timestamptz, decision_event_id uuid, reason text, position numeric NOT NULL)`);
    // INT-7: what a justificatif proves, for the agent who validates it (null: sent before subjects existed).
    await tx.query(`ALTER TABLE ${s}.justificatifs ADD COLUMN IF NOT EXISTS subjects jsonb`);
    await tx.query(`CREATE INDEX IF NOT EXISTS justificatifs_status ON ${s}.justificatifs (status, submitted_at)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.sas_attestations (
      id text PRIMARY KEY, year integer NOT NULL, caisse text NOT NULL, rpps jsonb NOT NULL, cpts text NOT NULL, software text NOT NULL,
      status text NOT NULL, sha256 text NOT NULL, size integer NOT NULL, media_type text NOT NULL, channel text NOT NULL,
      effective_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL, received_event_id uuid NOT NULL,
      decided_at timestamptz, decision_event_id uuid, reason text, revision integer NOT NULL, position numeric NOT NULL)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS sas_attestations_caisse ON ${s}.sas_attestations (caisse, status, effective_at)`);
  },
  async apply(tx: SqlExecutor, schema: string, events: RecordedEvent[]) {
    const s = quoteIdent(schema);
    // The batch folded in memory first (last write per key wins, as applying one by one would),
    // then one statement per table: a batch costs a handful of round trips, whatever its size.
    const years = new Map<string, { rpps: string; year: number; revision: number }>();
    const doctors = new Map<string, Record<string, unknown>>();
    const submitted = new Map<string, Record<string, unknown>>();
    const decisions = new Map<string, Record<string, unknown>>();
    for (const raw of events) {
      const { rpps, year } = doctorOfStream(raw.streamId);
      if (rpps && year !== null) {
        const key = `${year}:${rpps}`;
        years.set(key, { rpps, year, revision: Math.max(raw.revision, years.get(key)?.revision ?? -1) });
      }
      // Other types may come as headers only (a rebuild): never look inside them.
      if (!REGISTRY_TYPES.includes(raw.type)) continue;
      const e = defaultUpcasters.upcast(raw);
      const position = e.position.toString();
      switch (e.type) {
        case 'DoctorProfileRecorded':
          doctors.set(e.data.rpps, {
            rpps: e.data.rpps,
            specialty: e.data.specialty,
            caisse: e.data.caisse,
            department: e.data.department,
            name: e.data.name ?? null,
            name_key: e.data.name ? nameKey(e.data.name) : null,
            profile_event_id: e.eventId,
            position,
          });
          break;
        case 'JustificatifSubmitted':
          if (!submitted.has(e.data.justificatifId)) {
            submitted.set(e.data.justificatifId, {
              id: e.data.justificatifId,
              rpps: e.data.rpps,
              year: e.data.year,
              indicator: e.data.indicator,
              sha256: e.data.sha256,
              size: e.data.size,
              media_type: e.data.mediaType,
              subjects: e.data.subjects,
              submitted_at: e.metadata.effectiveAt,
              submitted_event_id: e.eventId,
              position,
            });
          }
          break;
        case 'SasAttestationReceived': {
          const d = e.data;
          await tx.query(
            `INSERT INTO ${s}.sas_attestations (id, year, caisse, rpps, cpts, software, status, sha256, size, media_type, channel, effective_at, recorded_at, received_event_id, revision, position)
             VALUES ($1, $2, $3, $4::jsonb, $5, $6, 'pending', $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (id) DO NOTHING`,
            [
              d.attestationId,
              d.year,
              d.caisse,
              JSON.stringify(d.rpps),
              d.cpts,
              d.software,
              d.sha256,
              d.size,
              d.mediaType,
              e.metadata.channel,
              e.metadata.effectiveAt,
              e.metadata.recordedAt,
              e.eventId,
              e.revision,
              position,
            ],
          );
          break;
        }
        case 'SasAttestationValidated':
        case 'SasAttestationRejected':
          await tx.query(
            `UPDATE ${s}.sas_attestations SET status = $2, decided_at = $3, decision_event_id = $4, reason = $5, revision = $7, position = $6 WHERE id = $1 AND position < $6`,
            [
              e.data.attestationId,
              e.type === 'SasAttestationValidated' ? 'validated' : 'rejected',
              e.metadata.recordedAt,
              e.eventId,
              e.type === 'SasAttestationRejected' ? e.data.reason : null,
              position,
              e.revision,
            ],
          );
          break;
        case 'JustificatifValidated':
        case 'JustificatifRejected':
          decisions.set(e.data.justificatifId, {
            id: e.data.justificatifId,
            status: e.type === 'JustificatifValidated' ? 'validated' : 'rejected',
            decided_at: e.metadata.effectiveAt,
            decision_event_id: e.eventId,
            reason: e.type === 'JustificatifRejected' ? e.data.reason : null,
            position,
          });
          break;
        default:
          break;
      }
    }
    if (years.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.doctor_years (rpps, year, revision) SELECT rpps, year, revision FROM jsonb_to_recordset($1::jsonb) AS x(rpps text, year integer, revision integer)
         ON CONFLICT (year, rpps) DO UPDATE SET revision = GREATEST(${s}.doctor_years.revision, EXCLUDED.revision)`,
        [JSON.stringify([...years.values()])],
      );
    }
    if (doctors.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.doctors (rpps, specialty, caisse, department, name, name_key, profile_event_id, position)
         SELECT rpps, specialty, caisse, department, name, name_key, profile_event_id, position
         FROM jsonb_to_recordset($1::jsonb) AS x(rpps text, specialty text, caisse text, department text, name text, name_key text, profile_event_id uuid, position numeric)
         ON CONFLICT (rpps) DO UPDATE SET specialty = EXCLUDED.specialty, caisse = EXCLUDED.caisse, department = EXCLUDED.department,
           name = EXCLUDED.name, name_key = EXCLUDED.name_key, profile_event_id = EXCLUDED.profile_event_id, position = EXCLUDED.position
         WHERE ${s}.doctors.position < EXCLUDED.position`,
        [JSON.stringify([...doctors.values()])],
      );
    }
    if (submitted.size > 0) {
      await tx.query(
        `INSERT INTO ${s}.justificatifs (id, rpps, year, indicator, status, sha256, size, media_type, subjects, submitted_at, submitted_event_id, position)
         SELECT id, rpps, year, indicator, 'pending', sha256, size, media_type, subjects, submitted_at, submitted_event_id, position
         FROM jsonb_to_recordset($1::jsonb) AS x(id text, rpps text, year integer, indicator text, sha256 text, size integer, media_type text,
           subjects jsonb, submitted_at timestamptz, submitted_event_id uuid, position numeric)
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

export async function listJustificatifs(
  db: SqlDatabase,
  schema: string,
  filter: { caisse?: string; status?: string; limit?: number },
): Promise<JustificatifRow[]> {
  const s = quoteIdent(schema);
  const { rows } = await db.query(
    `SELECT j.id, j.rpps, j.year, d.caisse, j.indicator, j.status, j.sha256, j.size, j.media_type, j.subjects, j.submitted_at, j.decided_at, j.reason, y.revision
     FROM ${s}.justificatifs j LEFT JOIN ${s}.doctors d ON d.rpps = j.rpps LEFT JOIN ${s}.doctor_years y ON y.year = j.year AND y.rpps = j.rpps
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
    subjects: (r.subjects as string[] | null) ?? null,
    submittedAt: iso(r.submitted_at)!,
    decidedAt: iso(r.decided_at),
    reason: (r.reason as string | null) ?? null,
    revision: r.revision === null || r.revision === undefined ? null : Number(r.revision),
  }));
}

/** CPTS presidents' SAS attestations of a caisse (the agents' worklist, beside the justificatifs). */
export async function listSasAttestations(
  db: SqlDatabase,
  schema: string,
  filter: { caisse?: string; status?: string; limit?: number },
): Promise<SasAttestationRow[]> {
  const s = quoteIdent(schema);
  const { rows } = await db.query(
    `SELECT * FROM ${s}.sas_attestations WHERE ($1::text IS NULL OR caisse = $1) AND ($2::text IS NULL OR status = $2) ORDER BY effective_at, id LIMIT $3`,
    [filter.caisse ?? null, filter.status ?? null, filter.limit ?? 500],
  );
  const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
  return rows.map((r) => ({
    kind: 'sas-attestation',
    id: r.id as string,
    rpps: r.rpps as string[],
    year: Number(r.year),
    caisse: r.caisse as string,
    indicator: 'V2_SAS',
    subjects: [],
    cpts: r.cpts as string,
    software: r.software as string,
    status: r.status as string,
    sha256: r.sha256 as string,
    size: Number(r.size),
    mediaType: r.media_type as string,
    channel: r.channel as string,
    effectiveAt: iso(r.effective_at)!,
    recordedAt: iso(r.recorded_at)!,
    submittedAt: iso(r.effective_at)!,
    decidedAt: iso(r.decided_at),
    reason: (r.reason as string | null) ?? null,
    revision: Number(r.revision),
  }));
}

/** A name as searched: lower case, no accents, apostrophes, hyphens and dots as spaces ("Lefèvre-D’Arc" → "lefevre d arc"). */
export function nameKey(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[’'.-]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The controllers' doctor search (GET /v1/doctors): by caisse, specialty, and `q` (api.md: "an RPPS
 * prefix or a name"): digits an RPPS prefix, else the start of the name or of one of its words, case
 * and accents ignored (a profile without a name never matches a name). At most `limit` doctors, by RPPS.
 */
/**
 * A doctor-year's status in the search (issue 21.4): transmitted ("Transmettre" done), not
 * transmitted (a doctor-year on file, not transmitted), under control (a contrôle a posteriori open).
 * Read from the worklists projection's tables, in the same schema.
 */
export const DOCTOR_YEAR_STATUSES = ['transmitted', 'not-transmitted', 'under-control'] as const;
export type DoctorYearStatus = (typeof DOCTOR_YEAR_STATUSES)[number];

export async function searchDoctors(
  db: SqlDatabase,
  schema: string,
  filter: { caisse?: string; specialty?: string; q?: string; status?: { year: number; is: DoctorYearStatus }; limit?: number },
): Promise<DoctorRow[]> {
  const s = quoteIdent(schema);
  const prefix = filter.q && /^\d+$/.test(filter.q) ? filter.q : null;
  // Not digits: the start of the name or of one of its words, case and accents ignored ("mart", "lefevre").
  const words = filter.q !== undefined && prefix === null ? nameKey(filter.q) : null;
  const { rows } = await db.query<{ rpps: string; name: string | null; specialty: string; caisse: string; department: string; years: string | null }>(
    `SELECT d.rpps, d.name, d.specialty, d.caisse, d.department,
       (SELECT string_agg(y.year::text, ',' ORDER BY y.year) FROM ${s}.doctor_years y WHERE y.rpps = d.rpps) AS years
     FROM ${s}.doctors d
     WHERE ($1::text IS NULL OR d.caisse = $1) AND ($2::text IS NULL OR d.specialty = $2)
       AND ($3::text IS NULL OR left(d.rpps, length($3)) = $3)
       AND ($4::text IS NULL OR ($4 <> '' AND strpos(' ' || d.name_key, ' ' || $4) > 0))
       AND ($6::text IS NULL
            OR ($6 = 'transmitted' AND EXISTS (SELECT 1 FROM ${s}.transmissions t WHERE t.year = $7 AND t.rpps = d.rpps))
            OR ($6 = 'not-transmitted' AND EXISTS (SELECT 1 FROM ${s}.doctor_years y WHERE y.year = $7 AND y.rpps = d.rpps)
                AND NOT EXISTS (SELECT 1 FROM ${s}.transmissions t WHERE t.year = $7 AND t.rpps = d.rpps))
            OR ($6 = 'under-control' AND EXISTS (SELECT 1 FROM ${s}.controls c WHERE c.year = $7 AND c.rpps = d.rpps AND c.status = 'open')))
     ORDER BY d.rpps LIMIT $5`,
    [filter.caisse ?? null, filter.specialty ?? null, prefix, words, filter.limit ?? 200, filter.status?.is ?? null, filter.status?.year ?? null],
  );
  return rows.map((r) => ({
    rpps: r.rpps,
    name: r.name,
    specialty: r.specialty,
    caisse: r.caisse,
    caisseName: caisseName(r.caisse) ?? null,
    department: r.department,
    years: r.years ? r.years.split(',').map(Number) : [],
  }));
}

/** One justificatif of the worklist by id (its file is read by SHA-256), or undefined. */
export async function findJustificatif(
  db: SqlDatabase,
  schema: string,
  id: string,
): Promise<{ id: string; rpps: string; year: number; sha256: string; mediaType: string; size: number } | undefined> {
  const { rows } = await db.query<{ id: string; rpps: string; year: number | string; sha256: string; media_type: string; size: number | string }>(
    `SELECT id, rpps, year, sha256, media_type, size FROM ${quoteIdent(schema)}.justificatifs WHERE id = $1`,
    [id],
  );
  const r = rows[0];
  return r ? { id: r.id, rpps: r.rpps, year: Number(r.year), sha256: r.sha256, mediaType: r.media_type, size: Number(r.size) } : undefined;
}
