import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { justificatifIdOf, streams, withRppsCheckDigit, type Actor, type Channel, type DomainEvent, type NewEvent } from '@forfait/events';
import { RunningClock, type Clock } from '@forfait/platform';
import { envelope } from '@forfait/application';
import type { EventStore } from '@forfait/store';
import { JustificatifFiles } from '../core/justificatif-files';

/**
 * The demo doctors: a GP, a cardiologist, an ophthalmologist (Annex 1: exempt from the LAP part).
 * Their names are invented; their caisses are named by libs/events' CPAM referential (441 CPAM de
 * la Loire-Atlantique, 751 CPAM de Paris, 691 CPAM du Rhône).
 */
export const DEMO_DOCTORS = [
  { rpps: withRppsCheckDigit('1000000001'), name: 'Claire Martin', specialty: 'medecine-generale', caisse: '441', department: '44' },
  { rpps: withRppsCheckDigit('1000000002'), name: 'Antoine Lefèvre', specialty: 'cardiologie', caisse: '751', department: '75' },
  { rpps: withRppsCheckDigit('1000000003'), name: 'Sophie Dubois-Étienne', specialty: 'ophtalmologie', caisse: '691', department: '69' },
] as const;

const SYSTEM: Actor = { sub: 'demo-seed', role: 'system' };
const ADMIN: Actor = { sub: 'admin-demo', role: 'admin' };

const MEDILOG = { editor: 'Éditeur Santé', name: 'MédiLog', version: '5.2', acquiredOn: '2023-03-15' };
const MEDILOG_LAP = { editor: 'Éditeur Santé', name: 'MédiLog Prescription', version: '5', certification: 'definitive' as const };
const CARDIODOC = { editor: 'CardioSoft', name: 'CardioDoc', version: '3.0', acquiredOn: '2024-01-15', kind: 'cabinet' as const };
const CARDIODOC_LAP = { editor: 'CardioSoft', name: 'CardioDoc LAP', certification: 'definitive' as const };

interface SeedLine {
  stream: string;
  event: DomainEvent;
  effectiveAt: string;
  channel: Channel;
  actor: Actor;
  onBehalfOf?: string;
}

/** The envelope the command side builds (libs/application). */
function toNew(line: SeedLine, correlationId: string): NewEvent {
  return envelope(line.event, {
    effectiveAt: line.effectiveAt,
    actor: line.actor,
    channel: line.channel,
    correlationId,
    ...(line.onBehalfOf ? { onBehalfOf: line.onBehalfOf } : {}),
  });
}

/**
 * A real one-page PDF (the editor's attestation the cardiologist sends), built byte for byte so that
 * its hash and size are those of the file the seed stores under JUSTIFICATIF_DIR.
 */
export function demoJustificatifPdf(): Buffer {
  const text = 'Attestation editeur : CardioSoft, CardioDoc 3.0 (solution referencee Segur) et CardioDoc LAP (certifiee HAS). Demo.';
  const stream = `BT /F1 10 Tf 40 780 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`,
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

const DEMO_PDF = demoJustificatifPdf();
const DEMO_JUSTIFICATIF = { sha256: createHash('sha256').update(DEMO_PDF).digest('hex'), size: DEMO_PDF.length };

/** The reference lists the spec names (they start empty and unchecked): loaded with the demo doctors' entries. */
const DEMO_LISTS: { list: string; add: unknown[]; reason: string; reference: string }[] = [
  {
    list: 'segurSolutions',
    add: [
      { editor: MEDILOG.editor, name: MEDILOG.name },
      { editor: CARDIODOC.editor, name: CARDIODOC.name },
    ],
    reason: 'Chargement de la liste des solutions référencées Ségur du numérique en santé (vague 1)',
    reference: 'ANS, liste des solutions référencées Ségur (extrait de démonstration)',
  },
  {
    list: 'hasLap',
    add: [
      { editor: MEDILOG_LAP.editor, name: MEDILOG_LAP.name },
      { editor: CARDIODOC_LAP.editor, name: CARDIODOC_LAP.name },
    ],
    reason: 'Chargement de la liste des logiciels d’aide à la prescription certifiés par la HAS',
    reference: 'HAS, liste des LAP certifiés (extrait de démonstration)',
  },
  {
    list: 'sasDepartements',
    add: DEMO_DOCTORS.map((d) => d.department),
    reason: 'Chargement des départements où le service d’accès aux soins (SAS) est déployé',
    reference: 'Ministère de la santé, carte du déploiement du SAS (extrait de démonstration)',
  },
  {
    list: 'sasSoftware',
    add: [MEDILOG.name, CARDIODOC.name],
    reason: 'Chargement de la liste des logiciels de gestion d’agenda interfacés avec la plateforme SAS',
    reference: 'Ministère de la santé, logiciels interfacés avec la plateforme numérique du SAS (extrait de démonstration)',
  },
];

/**
 * A small 2023 campaign: opened with its reference lists, extended on 31 Jan (4 → 11 Feb 2024, seed
 * 002), three doctors at various stages. Every line carries the instant it happened (effectiveAt).
 */
export function demoCampaign(): SeedLine[] {
  const [a, b, c] = DEMO_DOCTORS;
  const year = 2023;
  const doctorActor = (rpps: string): Actor => ({ sub: `doctor-${rpps}`, role: 'doctor', rpps });
  const lines: SeedLine[] = [
    {
      stream: streams.campaign(year),
      event: {
        type: 'CampaignOpened',
        data: { year, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' },
      },
      effectiveAt: '2023-12-11T00:00:00+01:00',
      channel: 'back-office',
      actor: ADMIN,
    },
    ...DEMO_LISTS.map(({ list, add, reason, reference }): SeedLine => ({
      stream: streams.campaign(year),
      event: { type: 'CampaignRuleAmended', data: { year, changes: { list, add }, reason, reference } },
      effectiveAt: '2023-12-11T00:00:00+01:00',
      channel: 'back-office',
      actor: ADMIN,
    })),
    ...DEMO_DOCTORS.map((d): SeedLine => ({
      stream: streams.doctor(d.rpps),
      event: { type: 'DoctorProfileRecorded', data: { ...d } },
      effectiveAt: '2023-01-01T00:00:00+01:00',
      channel: 'import',
      actor: SYSTEM,
    })),
  ];
  const decl = (rpps: string) => streams.declaration(rpps, year);
  // Doctor A (GP, 441): pre-filled, measured, declares, corrects, transmits.
  lines.push(
    {
      stream: decl(a.rpps),
      event: {
        type: 'IndicatorPrefilled',
        // SONS pre-fills the software only (guide §I.1.b); the doctor declares the LAP below.
        data: { rpps: a.rpps, year, indicator: 'V1_SEGUR_LAP', source: 'SONS', value: { segurSoftware: MEDILOG } },
      },
      effectiveAt: '2023-12-11T00:00:00+01:00',
      channel: 'import',
      actor: SYSTEM,
    },
    {
      stream: decl(a.rpps),
      event: {
        type: 'IndicatorDeclared',
        data: {
          rpps: a.rpps,
          year,
          indicator: 'V1_SEGUR_LAP',
          value: { segurSoftware: { ...MEDILOG, kind: 'cabinet' }, lapCertified: true, lap: MEDILOG_LAP },
          attestation: true,
        },
      },
      effectiveAt: '2024-01-12T18:19:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(a.rpps),
    },
    {
      stream: decl(a.rpps),
      event: { type: 'IndicatorPrefilled', data: { rpps: a.rpps, year, indicator: 'V1_HORAIRES', source: 'ANNUAIRE_SANTE', value: { displayed: true } } },
      effectiveAt: '2023-11-20T10:00:00+01:00',
      channel: 'import',
      actor: SYSTEM,
    },
    ...(
      [
        ['V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 4100, denominator: 5000, teletransmittedPreviousYear: true }],
        ['V2_AAT', { kind: 'rate', numerator: 75, denominator: 100 }],
        ['V2_DMP', { kind: 'rate', numerator: 12, denominator: 100 }],
        ['V2_MSS', { kind: 'rate', numerator: 3, denominator: 100 }],
        ['V2_APCV', { kind: 'count', numerator: 3 }],
      ] as const
    ).map(([indicator, measure]): SeedLine => ({
      stream: decl(a.rpps),
      event: { type: 'MeasureRecorded', data: { rpps: a.rpps, year, indicator, source: 'SNDS', measure } },
      effectiveAt: '2024-01-10T08:00:00+01:00',
      channel: 'import',
      actor: SYSTEM,
    })),
    {
      stream: decl(a.rpps),
      event: { type: 'IndicatorDeclared', data: { rpps: a.rpps, year, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true } },
      effectiveAt: '2024-01-12T18:20:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(a.rpps),
    },
    {
      stream: decl(a.rpps),
      event: {
        type: 'IndicatorDeclared',
        data: { rpps: a.rpps, year, indicator: 'V2_COORDINATION', value: { answer: true, modalities: ['MSP'] }, attestation: true },
      },
      effectiveAt: '2024-01-12T18:21:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(a.rpps),
    },
    {
      stream: decl(a.rpps),
      event: { type: 'IndicatorDeclared', data: { rpps: a.rpps, year, indicator: 'V2_MAITRE_STAGE', value: { answer: false }, attestation: true } },
      effectiveAt: '2024-01-12T18:22:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(a.rpps),
    },
    {
      stream: decl(a.rpps),
      event: { type: 'IndicatorDeclared', data: { rpps: a.rpps, year, indicator: 'V2_MAITRE_STAGE', value: { answer: true }, attestation: true } },
      effectiveAt: '2024-01-20T09:05:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(a.rpps),
    },
    {
      stream: decl(a.rpps),
      event: { type: 'DeclarationTransmitted', data: { rpps: a.rpps, year } },
      effectiveAt: '2024-01-20T09:06:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(a.rpps),
    },
  );
  // The extension is recorded during the campaign; replays known before it show 4 Feb.
  lines.push({
    stream: streams.campaign(year),
    event: {
      type: 'CampaignDeadlineExtended',
      data: {
        year,
        previousClosesAt: '2024-02-04T23:59:59.999+01:00',
        closesAt: '2024-02-11T23:59:59.999+01:00',
        reason: 'Prolongation de la campagne de déclaration du forfait structure jusqu’au 11 février 2024',
        reference: 'ameli.fr, actualité « La campagne 2023 est ouverte »',
      },
    },
    effectiveAt: '2024-01-31T12:00:00+01:00',
    channel: 'back-office',
    actor: ADMIN,
  });
  // Doctor B (cardiologist, 751): declares software not pre-filled, sends a justificatif; a paper hours form keyed by an agent.
  // Dated 17-18 January (they were 25-29 January): the walk-through's 20 January shows the justificatif
  // pending, and nothing of a later date is recorded as known then (the seed skips what is after the clock).
  lines.push(
    {
      stream: decl(b.rpps),
      event: {
        type: 'IndicatorDeclared',
        data: { rpps: b.rpps, year, indicator: 'V1_SEGUR_LAP', value: { segurSoftware: CARDIODOC, lapCertified: true, lap: CARDIODOC_LAP }, attestation: true },
      },
      effectiveAt: '2024-01-17T21:40:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(b.rpps),
    },
    {
      stream: decl(b.rpps),
      event: {
        type: 'JustificatifSubmitted',
        data: {
          rpps: b.rpps,
          year,
          justificatifId: justificatifIdOf(year, b.rpps, randomUUID().replace(/-/g, '').slice(0, 12)),
          indicator: 'V1_SEGUR_LAP',
          sha256: DEMO_JUSTIFICATIF.sha256,
          size: DEMO_JUSTIFICATIF.size,
          mediaType: 'application/pdf',
          subjects: ['SEGUR', 'LAP'],
          proves: { segurSoftware: CARDIODOC, lap: CARDIODOC_LAP },
        },
      },
      effectiveAt: '2024-01-17T21:45:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(b.rpps),
    },
    {
      stream: decl(b.rpps),
      event: { type: 'IndicatorDeclared', data: { rpps: b.rpps, year, indicator: 'V1_HORAIRES', value: { displayed: true }, attestation: true } },
      effectiveAt: '2024-01-18T14:00:00+01:00',
      channel: 'paper',
      actor: { sub: 'agent-751-demo', role: 'agent', caisse: '751' },
      onBehalfOf: b.rpps,
    },
  );
  // Doctor C (ophthalmologist, 693): only the pre-fill so far.
  lines.push({
    stream: decl(c.rpps),
    event: { type: 'IndicatorPrefilled', data: { rpps: c.rpps, year, indicator: 'V1_HORAIRES', source: 'ANNUAIRE_SANTE', value: { displayed: true } } },
    effectiveAt: '2023-12-01T10:00:00+01:00',
    channel: 'import',
    actor: SYSTEM,
  });
  return lines;
}

/** The file of the data dir that says for which clock the demo was seeded (issue 18.1). */
export const DEMO_MARKER_FILE = 'demo-seed.json';

export interface DemoMarker {
  /** The CLOCK setting the demo was seeded under; absent: the system clock. */
  clock?: string;
  seededAt: string;
  events: number;
}

export interface DemoSeedResult {
  /** Events written (0: the store was not empty). */
  events: number;
  seededAt: string;
  /** What happened after the clock and is therefore not recorded (e.g. the extension of 31 Jan on 20 Jan). */
  notYet: { type: string; effectiveAt: string }[];
}

export class DemoClockMismatchError extends Error {
  readonly code = 'DEMO_CLOCK_MISMATCH';
}

/** Reads the marker a demo seed left in the data dir, if any. */
export function readDemoMarker(dataDir: string): DemoMarker | undefined {
  const file = join(dataDir, DEMO_MARKER_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoMarker) : undefined;
}

/**
 * A demo store is tied to the clock it was seeded with: another clock is refused when it would
 * write before what the store already recorded, or when a store seeded for a past CLOCK is started
 * on the system clock (its campaign would close at once). A later CLOCK goes on with the same store.
 */
export async function checkDemoClock(store: EventStore, dataDir: string, setting: string | undefined, clock: Clock): Promise<{ resumedFrom?: string }> {
  const marker = readDemoMarker(dataDir);
  if (!marker) return {};
  const head = await store.headPosition();
  const [last] = head > 0n ? await store.readAll({ after: head - 1n, maxCount: 1 }) : [];
  const lastRecordedAt = last?.metadata.recordedAt ?? marker.seededAt;
  if (marker.clock === setting) {
    // Its own CLOCK again, after a stop: the demo goes on from the last instant it recorded, so that
    // "now" is never before what the store already knows (a diff from $T, a bundle known now).
    if (setting !== undefined && clock instanceof RunningClock && clock.resumeFrom(new Date(lastRecordedAt))) return { resumedFrom: lastRecordedAt };
    return {};
  }
  if (setting !== undefined && clock.now().getTime() >= Date.parse(lastRecordedAt)) return {};
  const seededFor = marker.clock ? `CLOCK=${marker.clock}` : 'the system clock';
  throw new DemoClockMismatchError(
    `this demo store (${dataDir}) was seeded for ${seededFor} and last written at ${lastRecordedAt}; ` +
      `${setting ? `CLOCK=${setting} is before that` : 'the system clock is not its clock'}. ` +
      `Start it with ${marker.clock ? `CLOCK=${marker.clock}` : 'no CLOCK'}, or without DATA_DIR (each CLOCK gets a demo data dir of its own under ./var), or on an empty DATA_DIR.`,
  );
}

/**
 * Seeds the demo campaign when the store is empty, with what had happened by the clock's now: a
 * line effective after it (the extension of 31 Jan on 20 Jan) is not recorded. Stores the pending
 * justificatif's file as an upload is stored, and leaves a marker of the clock in the data dir.
 */
export async function seedDemoIfEmpty(
  store: EventStore,
  options: {
    clock: Clock;
    clockSetting?: string;
    justificatifDir: string;
    dataDir?: string;
    /**
     * Records each line at the instant it happened (a store over the same database whose clock the
     * seed sets), so that "as known at" an instant before the start means what it says; without
     * it, every line is recorded at the seed's instant.
     */
    recordAt?: { store: EventStore; clock: { set(instant: string): void } };
  },
): Promise<DemoSeedResult> {
  const seededAt = options.clock.now().toISOString();
  if ((await store.headPosition()) !== 0n) return { events: 0, seededAt, notYet: [] };
  const now = Date.parse(seededAt);
  const lines = demoCampaign();
  const known = lines.filter((l) => Date.parse(l.effectiveAt) <= now);
  // In the order things happened (stable: a stream keeps its order for equal instants), so that
  // recordedAt never goes backwards.
  if (options.recordAt) known.sort((x, y) => Date.parse(x.effectiveAt) - Date.parse(y.effectiveAt));
  const notYet = lines.filter((l) => Date.parse(l.effectiveAt) > now).map((l) => ({ type: l.event.type, effectiveAt: l.effectiveAt }));
  if (known.some((l) => l.event.type === 'JustificatifSubmitted')) await new JustificatifFiles(options.justificatifDir).store(DEMO_PDF);
  const correlationId = randomUUID();
  let written = 0;
  for (const line of known) {
    options.recordAt?.clock.set(line.effectiveAt);
    await (options.recordAt?.store ?? store).append(line.stream, [toNew(line, correlationId)], { expectedRevision: 'any' });
    written += 1;
  }
  if (options.dataDir) {
    const marker: DemoMarker = { ...(options.clockSetting ? { clock: options.clockSetting } : {}), seededAt, events: written };
    writeFileSync(join(options.dataDir, DEMO_MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
  }
  return { events: written, seededAt, notYet };
}
