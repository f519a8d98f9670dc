import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { streams, withRppsCheckDigit, type NewEvent } from '@forfait/events';
import { ManualClock } from '@forfait/platform';
import { PROJECTIONS } from '@forfait/read-models';
import { PgDatabase, SqlEventStore, quoteIdent } from '@forfait/store';
import { DATABASE_URL } from './support/e2e';
import { dumpReadModels, rebuildReadModels } from './support/read-models';

// The projector as a user runs it (`npm test` builds first), killed with SIGKILL in the middle.
const PROJECTOR = join(__dirname, '..', 'dist', 'apps', 'projector', 'src', 'main.js');
const schema = `crash_${process.pid}_${randomBytes(3).toString('hex')}`;
const rm = `${schema}_rm`;
const rebuilt = `${schema}_rebuilt`;
const db = new PgDatabase({ connectionString: DATABASE_URL, max: 4 });

function startProjector(): ChildProcess {
  return spawn(process.execPath, [PROJECTOR], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      AUTH_JWT_SECRET: 'crash-secret-crash-secret-crash-secret-01',
      PROJECTOR_BATCH_SIZE: '400',
      REDIS_URL: 'redis://127.0.0.1:1',
    },
    stdio: 'ignore',
  });
}

async function checkpoints(s: string): Promise<Record<string, bigint>> {
  try {
    const { rows } = await db.query<{ name: string; position: string }>(`SELECT name, position::text AS position FROM ${quoteIdent(s)}.projection_checkpoints`);
    return Object.fromEntries(rows.map((r) => [r.name, BigInt(r.position)]));
  } catch {
    return {};
  }
}

/** Polls (bounded) until `predicate` holds on the checkpoints. */
async function until(predicate: (c: Record<string, bigint>) => boolean, ms: number, what: string): Promise<Record<string, bigint>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const c = await checkpoints(rm);
    if (predicate(c)) return c;
    if (Date.now() > deadline)
      throw new Error(`${what} not reached within ${ms} ms: ${JSON.stringify(c, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const dump = (s: string) => dumpReadModels(db, s);

describe('projector killed with SIGKILL during a large batch', () => {
  let store: SqlEventStore;
  let head: bigint;

  beforeAll(async () => {
    store = await SqlEventStore.open({ db, clock: new ManualClock('2024-01-20T10:00:00Z'), schema, ownsDatabase: false });
    const meta = (effectiveAt: string) => ({
      effectiveAt,
      actor: { sub: 's', role: 'system' as const },
      channel: 'import' as const,
      correlationId: 'crash',
      causationId: null,
    });
    const ev = (type: string, data: unknown, effectiveAt = '2024-01-10T10:00:00+01:00'): NewEvent => ({
      eventId: randomUUID(),
      type,
      schemaVersion: 1,
      data,
      metadata: meta(effectiveAt),
    });
    await store.append(
      streams.campaign(2023),
      [
        ev('CampaignOpened', {
          year: 2023,
          ruleset: 'FS-2023',
          rulesetVersion: '1',
          opensAt: '2023-12-11T00:00:00+01:00',
          closesAt: '2024-02-11T23:59:59.999+01:00',
        }),
      ],
      { expectedRevision: 'no_stream' },
    );
    for (let d = 0; d < 150; d += 1) {
      const rpps = withRppsCheckDigit(String(1100000000 + d));
      await store.append(
        streams.doctor(rpps),
        [ev('DoctorProfileRecorded', { rpps, specialty: d % 2 ? 'cardiologie' : 'medecine-generale', caisse: d % 3 ? '441' : '751', department: '44' })],
        { expectedRevision: 'any' },
      );
      const dy = { rpps, year: 2023 };
      const events = [
        ev('IndicatorPrefilled', { ...dy, indicator: 'V1_HORAIRES', source: 'ANNUAIRE_SANTE', value: { displayed: true } }, '2023-11-20T10:00:00+01:00'),
        ev('MeasureRecorded', {
          ...dy,
          indicator: 'V1_TELETRANSMISSION',
          source: 'S',
          measure: { kind: 'teletransmission', numerator: 80 + (d % 30), denominator: 120, teletransmittedPreviousYear: true },
        }),
        ...['V2_AAT', 'V2_CMATMP', 'V2_PSE', 'V2_DMP', 'V2_MSS', 'V2_SPE', 'V2_DSG', 'V2_ORDONNANCE_NUMERIQUE'].map((indicator, i) =>
          ev('MeasureRecorded', { ...dy, indicator, source: 'S', measure: { kind: 'rate', numerator: (d * 7 + i * 13) % 100, denominator: 100 } }),
        ),
        ev('IndicatorDeclared', {
          ...dy,
          indicator: 'V1_SEGUR_LAP',
          value: { segurSoftware: { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-02-01' }, lapCertified: true },
          attestation: true,
        }),
        ev('JustificatifSubmitted', {
          ...dy,
          justificatifId: `jf-2023-${rpps}-${'a'.repeat(12)}`,
          indicator: 'V1_SEGUR_LAP',
          sha256: 'b'.repeat(64),
          size: 100,
          mediaType: 'application/pdf',
        }),
        ...(d % 4 ? [ev('JustificatifValidated', { ...dy, justificatifId: `jf-2023-${rpps}-${'a'.repeat(12)}`, indicator: 'V1_SEGUR_LAP' })] : []),
        ev('IndicatorDeclared', { ...dy, indicator: 'V2_CODAGE', value: { answer: d % 5 !== 0 }, attestation: true }),
        ev('IndicatorDeclared', { ...dy, indicator: 'V2_COORDINATION', value: { answer: true, modalities: ['MSP'] }, attestation: true }),
      ];
      await store.append(streams.declaration(rpps, 2023), events, { expectedRevision: 'any' });
    }
    head = await store.headPosition();
  });

  afterAll(async () => {
    await store.close();
    for (const s of [schema, rm, rebuilt]) await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
    await db.close();
  });

  it('resumes without applying an event twice or skipping one, and equals a rebuild from zero', async () => {
    expect(head).toBeGreaterThan(2000n);
    const first = startProjector();
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
    // Kill as soon as some batches have committed and others are on their way.
    // Every projection has its checkpoint (followers such as the log's sealer may have theirs too).
    const all = (c: Record<string, bigint>) => PROJECTIONS.every((p) => c[p.name] !== undefined);
    const atKill = await until((c) => all(c) && Object.values(c).some((p) => p > 0n) && Object.values(c).every((p) => p < head), 30_000, 'first commits');
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // What was committed is whole: the audit trail holds exactly the events up to its checkpoint.
    const after = await checkpoints(rm);
    expect(Object.values(after).some((p) => p < head)).toBe(true);
    const audit = (
      await db.query<{ n: string; max: string | null }>(`SELECT count(*)::text AS n, max(position)::text AS max FROM ${quoteIdent(rm)}.audit_trail`)
    ).rows[0]!;
    expect(BigInt(audit.n)).toBe(after.audit_trail);
    expect(BigInt(audit.max ?? '0')).toBe(after.audit_trail);
    expect(atKill.audit_trail! <= after.audit_trail!).toBe(true);

    const second = startProjector();
    try {
      await until((c) => all(c) && Object.values(c).every((p) => p === head), 60_000, 'catch-up after restart');
    } finally {
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
    }

    await rebuildReadModels(db, schema, rebuilt);
    const live = await dump(rm);
    expect(live.audit).toHaveLength(Number(head));
    expect(live.entitlements).toHaveLength(150);
    expect(live).toEqual(await dump(rebuilt));
  }, 150_000);
});
