import { createHash } from 'node:crypto';
import {
  contentUuid,
  justificatifIdOf,
  streams,
  withRppsCheckDigit,
  type Actor,
  type Channel,
  type DomainEvent,
  type IndicatorCode,
  type JustificatifSubmitted,
  type LapCertification,
  type Measure,
  type NewEvent,
  type SegurLapValue,
} from '@forfait/events';
import { FIRST_CAMPAIGN_YEAR, computeEntitlement, findRuleset, toEntitlementView, type KnownEvent, type Ruleset } from '@forfait/domain';
import { entitlementCalculated, envelope, rulesetHash } from '@forfait/application';

/**
 * A deterministic generator of national-scale histories (issue 7): the same seed and size give the
 * same events, byte for byte, whatever the order they are asked in, because every doctor-year draws
 * from its own random sequence seeded by (seed, doctor, year). Proportions are plausible, not
 * official: they are written next to each draw.
 */

/** mulberry32: small, fast, good enough to draw plausible data (not for anything secret). */
export function rngOf(...parts: (string | number)[]): () => number {
  let a = createHash('sha256').update(parts.join('|')).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(r: Rng, items: readonly (readonly [T, number])[]): T => {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return items[items.length - 1]![0];
};
const chance = (r: Rng, p: number) => r() < p;
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/**
 * Specialties of self-employed doctors, roughly as the CNAM's demography shows them: general
 * practice a little over half, then the big specialties (weights in per mille).
 */
const SPECIALTIES: readonly (readonly [string, number])[] = [
  ['medecine-generale', 540],
  ['radiodiagnostic-imagerie-medicale', 55],
  ['anesthesie-reanimation-chirurgicale', 50],
  ['ophtalmologie', 45],
  ['cardiologie', 45],
  ['psychiatrie', 40],
  ['gynecologie-obstetrique', 35],
  ['dermatologie', 30],
  ['pediatrie', 25],
  ['gastro-enterologie', 20],
  ['rhumatologie', 18],
  ['chirurgie-generale', 17],
  ['pneumologie', 15],
  ['endocrinologie', 12],
  ['neurologie', 12],
  ['gynecologie-medicale', 10],
  ['chirurgie-urologique', 10],
  ['stomatologie', 6],
  ['neurochirurgie', 5],
];

/** Departments weighted by population (the big ones named, the rest shared); the CPAM code is `<dept>1`. */
const BIG_DEPARTMENTS: readonly (readonly [string, number])[] = [
  ['75', 33],
  ['13', 31],
  ['59', 40],
  ['69', 28],
  ['92', 25],
  ['93', 25],
  ['33', 24],
  ['31', 21],
  ['44', 21],
  ['94', 21],
  ['77', 22],
  ['78', 22],
  ['06', 17],
  ['91', 20],
  ['95', 19],
  ['67', 17],
  ['62', 23],
  ['34', 18],
  ['76', 19],
  ['38', 19],
];
const OTHER_DEPARTMENTS = Array.from({ length: 95 }, (_, i) => String(i + 1).padStart(2, '0')).filter(
  (d) => d !== '20' && !BIG_DEPARTMENTS.some(([b]) => b === d),
);
const DEPARTMENTS: readonly (readonly [string, number])[] = [...BIG_DEPARTMENTS, ...OTHER_DEPARTMENTS.map((d) => [d, 6] as const)];

/** Ségur-referenced software, each with the HAS-certified LAP its editor ships (rule 2: the doctor names it). */
const SOFTWARE = [
  { editor: 'Éditeur Santé', name: 'MédiLog', lap: 'MédiLog Prescription' },
  { editor: 'CardioSoft', name: 'CardioDoc', lap: 'CardioDoc LAP' },
  { editor: 'Cegedim', name: 'CrossWay', lap: 'CrossWay Prescription' },
  { editor: 'Weda', name: 'Weda', lap: 'Weda LAP' },
  { editor: 'Maiia', name: 'Maiia Gestion', lap: 'Maiia Prescription' },
  { editor: 'Doctolib', name: 'Doctolib Médecin', lap: 'Doctolib Prescription' },
];

export interface GeneratorOptions {
  doctors: number;
  seed: string;
  /** Campaign years (FS-2023 rules for 2023; later years reuse its calendar, one year on). */
  years: number[];
}

/** One event to write, at the instant it happened (the writer records it then). */
export interface PlannedEvent {
  at: string;
  streamId: string;
  event: NewEvent;
}

interface Draft {
  at: number;
  /** When it happened, if not when it was keyed (paper forms). */
  effectiveAt?: number;
  stream: string;
  event: DomainEvent;
  actor: Actor;
  channel: Channel;
  onBehalfOf?: string;
  /** Computed when written: it needs the doctor-year's history before it. */
  derive?: (history: KnownEvent[]) => DomainEvent;
  /** The campaign year a derived event belongs to. */
  year?: number;
}

const SYSTEM: Actor = { sub: 'batch-national', role: 'system' };
const ADMIN: Actor = { sub: 'admin-national', role: 'admin' };
/** Instants are epoch milliseconds while planning (cheap to shift and compare), ISO text once written. */
const iso = (local: string) => Date.parse(local);
const shift = (instant: number, minutes: number) => instant + minutes * 60_000;
const text = (instant: number) => new Date(instant).toISOString();

/** The calendar of campaign `year`, on the 2023 campaign's dates (seed 002: extended 4 → 11 Feb). */
export function calendar(year: number): Calendar {
  const cached = calendars.get(year);
  if (cached) return cached;
  const y1 = year + 1;
  const cal = {
    profilesAt: iso(`${year}-01-02T08:00:00+01:00`),
    horairesPrefillAt: iso(`${year}-11-20T10:00:00+01:00`),
    opensAt: iso(`${year}-12-11T00:00:00+01:00`),
    closesAt: iso(`${y1}-02-04T23:59:59.999+01:00`),
    extendedAt: iso(`${y1}-01-31T12:00:00+01:00`),
    extendedTo: iso(`${y1}-02-11T23:59:59.999+01:00`),
    measuresAt: iso(`${y1}-01-10T08:00:00+01:00`),
    calculationAt: iso(`${y1}-04-15T06:00:00+02:00`),
    paymentAt: iso(`${y1}-06-28T06:00:00+02:00`),
    provisionalMeasuresAt: iso(`${year}-12-15T08:00:00+01:00`),
    // Rule 3: Ségur equipped, declared and justified by 31 January (FS-2023's segurDeadline, one year on).
    segurDeadline: iso(`${y1}-01-31T23:59:59.999+01:00`),
  };
  calendars.set(year, cal);
  return cal;
}
type Calendar = Record<
  | 'profilesAt'
  | 'horairesPrefillAt'
  | 'segurDeadline'
  | 'opensAt'
  | 'closesAt'
  | 'extendedAt'
  | 'extendedTo'
  | 'measuresAt'
  | 'calculationAt'
  | 'paymentAt'
  | 'provisionalMeasuresAt',
  number
>;
const calendars = new Map<number, Calendar>();

export function rppsOf(index: number): string {
  return withRppsCheckDigit(String(2_000_000_000 + index));
}

export function profileOf(seed: string, index: number) {
  const r = rngOf(seed, 'profile', index);
  const specialty = pick(r, SPECIALTIES);
  const department = pick(r, DEPARTMENTS);
  return { rpps: rppsOf(index), specialty, department, caisse: `${department}1` };
}

/** Every event of one doctor (profile and each campaign year), in no particular order. */
function doctorDrafts(seed: string, index: number, years: number[]): Draft[] {
  const profile = profileOf(seed, index);
  const { rpps, specialty } = profile;
  const drafts: Draft[] = [];
  const first = calendar(years[0]!);
  const doctorActor: Actor = { sub: `doctor-${rpps}`, role: 'doctor', rpps };
  drafts.push({
    at: first.profilesAt,
    stream: streams.doctor(rpps),
    event: { type: 'DoctorProfileRecorded', data: { ...profile, firstDeclarationYear: FIRST_CAMPAIGN_YEAR + (index % 6) } },
    actor: SYSTEM,
    channel: 'import',
  });

  const software = SOFTWARE[index % SOFTWARE.length]!;
  for (const year of years) {
    const r = rngOf(seed, 'year', index, year);
    const cal = calendar(year);
    const stream = streams.declaration(rpps, year);
    const push = (d: Omit<Draft, 'stream'>) => drafts.push(Object.assign<Omit<Draft, 'stream'>, Pick<Draft, 'stream'>>(d, { stream }));
    const agent: Actor = { sub: `agent-${profile.caisse}-${int(r, 1, 40)}`, role: 'agent', caisse: profile.caisse };
    // Days into the declaration window (11 Dec → 11 Feb): most declare in January, a rush at the end.
    const declareDay = pick(r, [
      [int(r, 0, 20), 20],
      [int(r, 21, 50), 55],
      [int(r, 51, 62), 25],
    ] as const);
    const declaredAt = shift(cal.opensAt, declareDay * 1440 + int(r, 8 * 60, 22 * 60));

    // Pre-fills: SONS for ~60 % (Ségur software referenced), the hours service for ~55 % (guide §I.1, §I.5).
    // SONS gives the software only (guide §I.1.b); the doctor declares and names the LAP (~90 %).
    const segurPrefilled = chance(r, 0.6);
    const segurSoftware = {
      editor: software.editor,
      name: software.name,
      version: `${int(r, 1, 9)}.${int(r, 0, 9)}`,
      acquiredOn: `${year}-${String(int(r, 1, 12)).padStart(2, '0')}-15`,
    };
    const lapCertified = chance(r, 0.9);
    const certification = pick<LapCertification>(r, [
      ['definitive', 85],
      ['provisional', 10],
      ['older-referentiel', 5],
    ]);
    const segurValue: SegurLapValue = {
      segurSoftware: { ...segurSoftware, kind: 'cabinet' },
      lapCertified,
      lap: lapCertified ? { editor: software.editor, name: software.lap, version: String(int(r, 1, 6)), certification } : null,
    };
    if (segurPrefilled)
      push({
        at: cal.opensAt,
        event: { type: 'IndicatorPrefilled', data: { rpps, year, indicator: 'V1_SEGUR_LAP', source: 'SONS', value: { segurSoftware } } },
        actor: SYSTEM,
        channel: 'import',
      });
    const horairesPrefilled = chance(r, 0.55);
    if (horairesPrefilled)
      push({
        at: cal.horairesPrefillAt,
        event: { type: 'IndicatorPrefilled', data: { rpps, year, indicator: 'V1_HORAIRES', source: 'ANNUAIRE_SANTE', value: { displayed: true } } },
        actor: SYSTEM,
        channel: 'import',
      });

    // The national measures extract (SNDS), one line per automated indicator; in December a
    // provisional extract of the usage rates shown on amelipro, superseded in January.
    for (const [indicator, measure] of measuresOf(r).filter(([i]) => PROVISIONAL.has(i))) {
      push({
        at: cal.provisionalMeasuresAt,
        event: { type: 'MeasureRecorded', data: { rpps, year, indicator, source: 'SNDS-PROVISOIRE', measure } },
        actor: SYSTEM,
        channel: 'import',
      });
    }
    // The extract is loaded caisse by caisse over three days.
    const measuresAt = shift(cal.measuresAt, (Number(profile.department) % 3) * 1440 + (index % 600));
    for (const [indicator, measure] of measuresOf(r)) {
      push({ at: measuresAt, event: { type: 'MeasureRecorded', data: { rpps, year, indicator, source: 'SNDS', measure } }, actor: SYSTEM, channel: 'import' });
    }

    // Declarations: ~93 % of doctors take part; ~4 % of those send a paper form keyed late by an agent.
    if (!chance(r, 0.93)) continue;
    const paper = chance(r, 0.04);
    let minute = 0;
    const declare = (indicator: Parameters<typeof declaredEvent>[2], value: unknown, o: { amelipro?: number; received?: number } = {}) => {
      minute += int(r, 1, 4);
      const at = shift(o.amelipro ?? declaredAt, minute);
      if (paper) {
        // Received before the deadline, keyed after it (the late paper form).
        const received = o.received ?? shift(cal.extendedTo, -int(r, 1, 6) * 1440);
        push({
          at: shift(cal.extendedTo, int(r, 2, 9) * 1440 + minute),
          event: declaredEvent(rpps, year, indicator, value),
          actor: agent,
          channel: 'paper',
          onBehalfOf: rpps,
          effectiveAt: received,
        });
      } else push({ at, event: declaredEvent(rpps, year, indicator, value), actor: doctorActor, channel: 'amelipro' });
    };
    const justify = (
      indicator: IndicatorCode,
      o: { amelipro?: number; received?: number; subjects?: JustificatifSubmitted['data']['subjects']; proves?: JustificatifSubmitted['data']['proves'] } = {},
    ) => {
      minute += int(r, 1, 3);
      const sentAt = paper ? (o.received ?? shift(cal.extendedTo, -int(r, 1, 6) * 1440)) : shift(o.amelipro ?? declaredAt, minute);
      const at = paper ? shift(cal.extendedTo, int(r, 2, 9) * 1440 + minute) : sentAt;
      const sha256 = createHash('sha256').update(`${seed}|${rpps}|${year}|${indicator}`).digest('hex');
      const justificatifId = justificatifIdOf(year, rpps, sha256.slice(0, 12));
      const data = {
        rpps,
        year,
        justificatifId,
        indicator,
        sha256,
        size: int(r, 20_000, 900_000),
        mediaType: chance(r, 0.85) ? 'application/pdf' : 'image/jpeg',
        subjects: o.subjects ?? [],
        proves: o.proves ?? null,
      };
      push({
        at,
        event: { type: 'JustificatifSubmitted', data },
        actor: paper ? agent : doctorActor,
        channel: paper ? 'paper' : 'amelipro',
        ...(paper ? { onBehalfOf: rpps, effectiveAt: sentAt } : {}),
      });
      // The CPAM decides within weeks: ~78 % validated, ~10 % rejected, the rest still pending.
      const outcome = pick(r, [
        ['validated', 78],
        ['rejected', 10],
        ['pending', 12],
      ] as const);
      const decidedAt = shift(cal.extendedTo, int(r, 3, 45) * 1440 + int(r, 0, 600));
      if (outcome === 'validated')
        push({
          at: decidedAt,
          event: { type: 'JustificatifValidated', data: { rpps, year, justificatifId, indicator } },
          actor: agent,
          channel: 'back-office',
        });
      if (outcome === 'rejected')
        push({
          at: decidedAt,
          event: {
            type: 'JustificatifRejected',
            data: {
              rpps,
              year,
              justificatifId,
              indicator,
              reason: pick(r, [
                ['Facture illisible', 1],
                ['Logiciel non référencé Ségur', 1],
                ['Attestation non signée', 1],
              ] as const),
            },
          },
          actor: agent,
          channel: 'back-office',
        });
    };

    // Rule 3 (seed 002): Ségur declared and justified by 31 January; a late declarer did it before
    // the rest of the form, and ~4 % send the justificatif after the deadline (recorded, not counted).
    const segurBy = cal.segurDeadline;
    const segurAmelipro = declaredAt <= shift(segurBy, -120) ? declaredAt : shift(segurBy, -int(r, 1, 25) * 1440 - int(r, 120, 600));
    const segurReceived = shift(segurBy, -int(r, 1, 10) * 1440);
    if (!LAP_EXEMPT_HINT.has(specialty)) {
      // Pre-filled: the doctor confirms the software and names the LAP; not pre-filled: declares and justifies (INT-1, INT-7).
      declare('V1_SEGUR_LAP', segurValue, { amelipro: segurAmelipro, received: segurReceived });
      if (!segurPrefilled) {
        const subjects: NonNullable<JustificatifSubmitted['data']['subjects']> = [
          'SEGUR',
          ...(segurValue.lap ? ['LAP' as const] : []),
          ...(segurValue.lap && segurValue.lap.certification !== 'definitive' ? ['LAP_CERTIFICATION_EN_COURS' as const] : []),
        ];
        const late = chance(r, 0.04);
        justify('V1_SEGUR_LAP', {
          amelipro: late ? shift(segurBy, int(r, 1, 8) * 1440) : segurAmelipro,
          received: late ? shift(segurBy, int(r, 1, 8) * 1440) : segurReceived,
          subjects,
          proves: { segurSoftware: segurValue.segurSoftware, lap: segurValue.lap },
        });
      }
    }
    if (!horairesPrefilled) declare('V1_HORAIRES', { displayed: chance(r, 0.85) });
    declare('V2_CODAGE', { answer: chance(r, 0.7) });
    declare('V2_COORDINATION', {
      answer: true,
      modalities: chance(r, 0.65)
        ? [
            pick(r, [
              ['MSP', 4],
              ['CPTS', 4],
              ['ESP', 2],
              ['RCP', 1],
            ] as const),
          ]
        : ['CPTS', 'RCP'],
    });
    if (chance(r, 0.45))
      declare('V2_SERVICES_PATIENTS', {
        answer: true,
        modalities: [
          pick(r, [
            ['RESSOURCE_COORDINATION', 2],
            ['PFIDASS', 1],
            ['CLIC', 1],
          ] as const),
        ],
      });
    const maitreDeStage = chance(r, 0.16);
    declare('V2_MAITRE_STAGE', { answer: maitreDeStage });
    if (maitreDeStage) justify('V2_MAITRE_STAGE');
    declare('V2_VIDEO', { answer: chance(r, 0.35) });
    if (chance(r, 0.3))
      declare('V2_EQUIPEMENT_CONNECTE', {
        answer: true,
        devices: [
          pick(r, [
            ['TENSIOMETRE', 3],
            ['OXYMETRE', 2],
            ['ECG', 1],
            ['OTOSCOPE', 1],
          ] as const),
        ],
      });
    // A correction: the same indicator declared again (both stay in the history).
    if (chance(r, 0.18)) declare('V2_VIDEO', { answer: true });
    if (chance(r, 0.1)) declare('V2_CODAGE', { answer: true });
    minute += 1;
    const transmitted = chance(r, 0.97);
    if (transmitted) {
      push({
        at: paper ? shift(cal.extendedTo, 10 * 1440 + minute) : shift(declaredAt, minute),
        event: { type: 'DeclarationTransmitted', data: { rpps, year } },
        actor: paper ? agent : doctorActor,
        channel: paper ? 'paper' : 'amelipro',
        ...(paper ? { onBehalfOf: rpps } : {}),
      });
    }

    // The yearly calculation and its payment (the amount calculated, possibly nothing).
    const calculatedAt = shift(cal.calculationAt, index % 600);
    push({
      at: calculatedAt,
      event: { type: 'EntitlementCalculated', data: {} as never },
      actor: SYSTEM,
      channel: 'back-office',
      year,
      derive: (history) => calculation(rpps, year, text(calculatedAt), history),
    });
    push({
      at: shift(cal.paymentAt, index % 600),
      event: { type: 'PaymentRecorded', data: {} as never },
      actor: SYSTEM,
      channel: 'back-office',
      year,
      derive: (history) => payment(rpps, year, text(cal.paymentAt), history),
    });

    // Contrôle a posteriori on ~2 % of doctor-years, 12 to 20 months later; a third contest it.
    if (chance(r, 0.02)) {
      const controlId = `ctl-${year}-${rpps}-${createHash('sha256').update(`${seed}|ctl|${rpps}|${year}`).digest('hex').slice(0, 12)}`;
      const ref = { controlId, rpps, year };
      const controller: Actor = { sub: `controller-${profile.caisse}-1`, role: 'controller', caisse: profile.caisse };
      const openedAt = shift(cal.paymentAt, int(r, 200, 420) * 1440);
      const indicator: IndicatorCode = maitreDeStage ? 'V2_MAITRE_STAGE' : 'V2_COORDINATION';
      const invalidated = chance(r, 0.55);
      const closedAt = shift(openedAt, int(r, 40, 70) * 1440);
      push({
        at: openedAt,
        event: { type: 'ControlOpened', data: { ...ref, indicators: [indicator], reason: 'Contrôle a posteriori des indicateurs déclaratifs' } },
        actor: controller,
        channel: 'back-office',
      });
      push({
        at: shift(openedAt, 60),
        event: { type: 'ControlEvidenceRequested', data: { ...ref, items: [`Justificatif ${indicator}`], dueAt: text(shift(openedAt, 30 * 1440)) } },
        actor: controller,
        channel: 'back-office',
      });
      push({
        at: shift(closedAt, -60),
        event: {
          type: 'ControlFindingRecorded',
          data: { ...ref, indicator, outcome: invalidated ? 'invalidated' : 'confirmed', reason: invalidated ? 'Pièce non probante' : 'Pièce conforme' },
        },
        actor: controller,
        channel: 'back-office',
      });
      push({
        at: closedAt,
        event: { type: 'ControlClosed', data: {} as never },
        actor: controller,
        channel: 'back-office',
        year,
        derive: (history) => closure(rpps, year, text(closedAt), ref, history),
      });
      if (invalidated && chance(r, 0.35)) {
        const filedAt = shift(closedAt, int(r, 5, 50) * 1440);
        push({
          at: filedAt,
          event: { type: 'ContestationFiled', data: { ...ref, reason: 'Je conteste : la convention de stage était jointe.' } },
          actor: doctorActor,
          channel: 'amelipro',
        });
        push({
          at: shift(filedAt, int(r, 20, 60) * 1440),
          event: { type: 'ContestationDecided', data: { ...ref, outcome: chance(r, 0.4) ? 'reversed' : 'upheld', indicators: [indicator] } },
          actor: controller,
          channel: 'back-office',
        });
      }
    }
  }
  return drafts;
}

const PROVISIONAL = new Set<IndicatorCode>(['V1_TELETRANSMISSION', 'V2_AAT', 'V2_DMP', 'V2_MSS', 'V2_ORDONNANCE_NUMERIQUE']);

/** Specialties exempt from the LAP part (FS-2023 annex 1): they have no Ségur software to declare. */
const LAP_EXEMPT_HINT = new Set([
  'anesthesie-reanimation-chirurgicale',
  'chirurgie-generale',
  'radiodiagnostic-imagerie-medicale',
  'neurochirurgie',
  'ophtalmologie',
  'chirurgie-urologique',
  'stomatologie',
]);

function declaredEvent(
  rpps: string,
  year: number,
  indicator:
    'V1_SEGUR_LAP' | 'V1_HORAIRES' | 'V2_CODAGE' | 'V2_COORDINATION' | 'V2_SERVICES_PATIENTS' | 'V2_MAITRE_STAGE' | 'V2_VIDEO' | 'V2_EQUIPEMENT_CONNECTE',
  value: unknown,
): DomainEvent {
  return { type: 'IndicatorDeclared', data: { rpps, year, indicator, value: value as never, attestation: true } };
}

/** The automated indicators as the SNDS extract gives them; rates spread around their targets. */
export function measuresOf(r: Rng): [IndicatorCode, Measure][] {
  const rate = (mean: number, spread: number): Measure => {
    const denominator = int(r, 40, 3000);
    const p = Math.max(0, Math.min(1, mean + (r() - 0.5) * spread));
    return { kind: 'rate', numerator: Math.round(denominator * p), denominator };
  };
  const total = int(r, 2000, 12_000);
  return [
    [
      'V1_TELETRANSMISSION',
      {
        kind: 'teletransmission',
        numerator: Math.round(total * Math.min(1, 0.55 + r() * 0.5)),
        denominator: total,
        teletransmittedPreviousYear: chance(r, 0.97),
      },
    ],
    ['V1_SESAM_VITALE', { kind: 'participation', participates: chance(r, 0.95) }],
    ['V2_AAT', rate(0.72, 0.5)],
    ['V2_CMATMP', rate(0.45, 0.6)],
    ['V2_PSE', rate(0.8, 0.4)],
    ['V2_DCMT', rate(0.9, 0.2)],
    ['V2_SPE', rate(0.2, 0.4)],
    ['V2_DSG', rate(0.1, 0.2)],
    ['V2_DMP', rate(0.1, 0.2)],
    ['V2_MSS', rate(0.05, 0.1)],
    ['V2_ORDONNANCE_NUMERIQUE', rate(0.3, 0.5)],
    ['V2_APCV', { kind: 'count', numerator: chance(r, 0.4) ? int(r, 1, 300) : 0 }],
    ['V2_SAS', { kind: 'participation', participates: chance(r, 0.2) }],
  ];
}

const RULESET: Ruleset = findRuleset('FS-2023', '1')!;
const RULESET_HASH = rulesetHash(RULESET);

function split(history: KnownEvent[], year: number) {
  return {
    campaign: history.filter((e) => (e.data as { year?: number }).year === year && e.type.startsWith('Campaign')),
    doctor: history.filter((e) => e.type === 'DoctorProfileRecorded'),
    declaration: history.filter((e) => !e.type.startsWith('Campaign') && e.type !== 'DoctorProfileRecorded' && (e.data as { year?: number }).year === year),
    earlier: history.filter((e) => !e.type.startsWith('Campaign') && e.type !== 'DoctorProfileRecorded' && ((e.data as { year?: number }).year ?? year) < year),
    earlierCampaigns: history.filter((e) => e.type === 'CampaignOpened' && e.data.year < year),
  };
}

function entitlementAt(rpps: string, year: number, at: string, history: KnownEvent[]) {
  return computeEntitlement({ rpps, year, ruleset: RULESET, knownAt: at, ...split(history, year) });
}

function calculation(rpps: string, year: number, at: string, history: KnownEvent[]): DomainEvent {
  return entitlementCalculated(entitlementAt(rpps, year, at, history), { rpps, year, ruleset: RULESET, rulesetHash: RULESET_HASH, lastPosition: 0n });
}

function payment(rpps: string, year: number, paidAt: string, history: KnownEvent[]): DomainEvent {
  const calc = [...history].reverse().find((e) => e.type === 'EntitlementCalculated' && e.data.year === year);
  const amountCents = calc?.type === 'EntitlementCalculated' ? calc.data.amountCents : 0;
  return { type: 'PaymentRecorded', data: { rpps, year, amountCents, paidAt } };
}

function closure(rpps: string, year: number, at: string, ref: { controlId: string; rpps: string; year: number }, history: KnownEvent[]): DomainEvent {
  const view = toEntitlementView(entitlementAt(rpps, year, at, history));
  const paidCents = history
    .filter((e) => e.type === 'PaymentRecorded' && e.data.year === year)
    .reduce((s, e) => s + (e.type === 'PaymentRecorded' ? e.data.amountCents : 0), 0);
  const balanceCents = view.amountCents - paidCents;
  return {
    type: 'ControlClosed',
    data: {
      ...ref,
      paidCents,
      recomputedAmountCents: view.amountCents,
      balanceCents,
      notification: balanceCents < 0 ? 'recovery' : balanceCents > 0 ? 'complement' : 'none',
    },
  };
}

function campaignDrafts(years: number[], doctors: number): Draft[] {
  return years.flatMap((year): Draft[] => {
    const cal = calendar(year);
    const stream = streams.campaign(year);
    return [
      {
        at: cal.opensAt,
        stream,
        event: { type: 'CampaignOpened', data: { year, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: text(cal.opensAt), closesAt: text(cal.closesAt) } },
        actor: ADMIN,
        channel: 'back-office',
      },
      {
        at: cal.extendedAt,
        stream,
        event: {
          type: 'CampaignDeadlineExtended',
          data: {
            year,
            previousClosesAt: text(cal.closesAt),
            closesAt: text(cal.extendedTo),
            reason: 'Prolongation de la campagne jusqu’au 11 février',
            reference: 'ameli.fr',
          },
        },
        actor: ADMIN,
        channel: 'back-office',
      },
      {
        at: shift(cal.extendedTo, 1),
        stream,
        event: { type: 'CampaignClosed', data: { year, closesAt: text(cal.extendedTo) } },
        actor: SYSTEM,
        channel: 'back-office',
      },
      {
        at: shift(cal.calculationAt, 700),
        stream,
        event: { type: 'CampaignCalculationCompleted', data: { year, doctors, lastPosition: '0' } },
        actor: SYSTEM,
        channel: 'back-office',
      },
    ];
  });
}

/**
 * The instants that cut the timeline into windows; each window's events are sorted and written
 * before the next, so memory holds one window, not the dataset.
 */
export function windows(years: number[]): [number, number][] {
  const cuts = new Set<number>();
  for (const year of years) {
    const y1 = year + 1;
    for (const local of [
      `${year}-01-01`,
      `${year}-12-01`,
      `${year}-12-14`,
      `${year}-12-20`,
      `${y1}-01-01`,
      `${y1}-01-09`,
      `${y1}-01-11`,
      `${y1}-01-12`,
      `${y1}-01-13`,
      `${y1}-01-20`,
      `${y1}-01-29`,
      `${y1}-02-05`,
      `${y1}-02-12`,
      `${y1}-03-01`,
      `${y1}-04-01`,
      `${y1}-08-01`,
      `${y1 + 1}-01-01`,
      `${y1 + 1}-07-01`,
      `${y1 + 3}-01-01`,
    ]) {
      cuts.add(iso(`${local}T00:00:00+01:00`));
    }
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  return sorted.slice(0, -1).map((from, i) => [from, sorted[i + 1]!]);
}

/** The envelope the command side builds (libs/application), with an id derived from the dataset's seed. */
function toNew(d: Draft, data: DomainEvent, seed: string, seq: number): NewEvent {
  const meta = {
    effectiveAt: text(d.effectiveAt ?? d.at),
    actor: d.actor,
    channel: d.channel,
    correlationId: `gen-${seed}-${d.stream}`,
    ...(d.onBehalfOf ? { onBehalfOf: d.onBehalfOf } : {}),
  };
  return envelope(data, meta, contentUuid({ generator: 1, seed, stream: d.stream, seq, type: data.type }));
}

const asKnown = (d: Draft, data: DomainEvent, eventId: string): KnownEvent =>
  ({
    type: data.type,
    data: data.data,
    eventId,
    metadata: { effectiveAt: text(d.effectiveAt ?? d.at), recordedAt: text(d.at), actor: d.actor, channel: d.channel },
  }) as unknown as KnownEvent;

/**
 * The events of one window, sorted by instant (then stream and order): the writer appends them in
 * that order with the clock at their instant, so "as known at" a past date means something.
 */
export function windowEvents(options: GeneratorOptions, from: number, to: number): PlannedEvent[] {
  const inWindow = (at: number) => at >= from && at < to;
  const out: { at: number; order: number; planned: PlannedEvent }[] = [];
  let order = 0;
  const emit = (drafts: Draft[], seedKey: string) => {
    // Sequence numbers per stream, in instant order: they make each event id stable.
    const sorted = drafts.map((d, i) => ({ d, i })).sort((a, b) => a.d.at - b.d.at || a.i - b.i);
    if (!sorted.some(({ d }) => inWindow(d.at))) return;
    const seq = new Map<string, number>();
    const history: KnownEvent[] = [];
    const derivedYears = new Set(sorted.filter(({ d }) => d.derive && inWindow(d.at)).map(({ d }) => d.year));
    for (const { d } of sorted) {
      if (d.at >= to) break;
      const n = seq.get(d.stream) ?? 0;
      seq.set(d.stream, n + 1);
      const here = inWindow(d.at);
      // Derived events (calculation, payment, closure) are computed only where written or needed later in this window.
      const data = d.derive && derivedYears.has(d.year) ? d.derive(history) : d.event;
      if (!here) {
        if (derivedYears.size > 0) history.push(asKnown(d, data, ''));
        continue;
      }
      const event = toNew(d, data, seedKey, n);
      if (derivedYears.size > 0) history.push(asKnown(d, data, event.eventId));
      out.push({ at: d.at, order: order++, planned: { at: text(d.at), streamId: d.stream, event } });
    }
  };
  const campaign = campaignDrafts(options.years, options.doctors);
  emit(campaign, options.seed);
  for (let i = 0; i < options.doctors; i += 1) {
    emit(
      [...campaign, ...doctorDrafts(options.seed, i, options.years)].map((d) => (d.stream.startsWith('campaign-') ? { ...d, stream: `\u0000${d.stream}` } : d)),
      options.seed,
    );
  }
  return out
    .filter((o) => !o.planned.streamId.startsWith('\u0000'))
    .sort((a, b) => a.at - b.at || a.order - b.order)
    .map((o) => o.planned);
}
