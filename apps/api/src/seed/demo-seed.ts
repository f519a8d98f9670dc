import { randomUUID } from 'node:crypto';
import {
  justificatifIdOf,
  streams,
  withRppsCheckDigit,
  type Actor,
  type Channel,
  type DomainEvent,
  type NewEvent,
} from '@forfait/events';
import type { EventStore } from '@forfait/store';

/** The demo doctors: a GP, a cardiologist, an ophthalmologist (Annex 1: exempt from the LAP part). */
export const DEMO_DOCTORS = [
  { rpps: withRppsCheckDigit('1000000001'), specialty: 'medecine-generale', caisse: '441', department: '44' },
  { rpps: withRppsCheckDigit('1000000002'), specialty: 'cardiologie', caisse: '751', department: '75' },
  { rpps: withRppsCheckDigit('1000000003'), specialty: 'ophtalmologie', caisse: '693', department: '69' },
] as const;

const SYSTEM: Actor = { sub: 'demo-seed', role: 'system' };
const ADMIN: Actor = { sub: 'admin-demo', role: 'admin' };

interface SeedLine {
  stream: string;
  event: DomainEvent;
  effectiveAt: string;
  channel: Channel;
  actor: Actor;
  onBehalfOf?: string;
}

function toNew(line: SeedLine, correlationId: string): NewEvent {
  return {
    eventId: randomUUID(),
    type: line.event.type,
    schemaVersion: 1,
    data: line.event.data,
    metadata: {
      effectiveAt: line.effectiveAt,
      actor: line.actor,
      ...(line.onBehalfOf ? { onBehalfOf: { rpps: line.onBehalfOf } } : {}),
      channel: line.channel,
      correlationId,
      causationId: null,
    },
  };
}

/** A small 2023 campaign: opened, extended (4 → 11 Feb 2024, seed 002), three doctors at various stages. */
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
    ...DEMO_DOCTORS.map(
      (d): SeedLine => ({
        stream: streams.doctor(d.rpps),
        event: { type: 'DoctorProfileRecorded', data: { ...d } },
        effectiveAt: '2023-01-01T00:00:00+01:00',
        channel: 'import',
        actor: SYSTEM,
      }),
    ),
  ];
  const decl = (rpps: string) => streams.declaration(rpps, year);
  // Doctor A (GP, 441): pre-filled, measured, declares, corrects, transmits.
  lines.push(
    {
      stream: decl(a.rpps),
      event: {
        type: 'IndicatorPrefilled',
        data: { rpps: a.rpps, year, indicator: 'V1_SEGUR_LAP', source: 'SONS', value: { segurSoftware: { editor: 'Éditeur Santé', name: 'MédiLog', version: '5.2', acquiredOn: '2023-03-15' }, lapCertified: true } },
      },
      effectiveAt: '2023-12-11T00:00:00+01:00',
      channel: 'import',
      actor: SYSTEM,
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
    ).map(
      ([indicator, measure]): SeedLine => ({
        stream: decl(a.rpps),
        event: { type: 'MeasureRecorded', data: { rpps: a.rpps, year, indicator, source: 'SNDS', measure } },
        effectiveAt: '2024-01-10T08:00:00+01:00',
        channel: 'import',
        actor: SYSTEM,
      }),
    ),
    {
      stream: decl(a.rpps),
      event: { type: 'IndicatorDeclared', data: { rpps: a.rpps, year, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true } },
      effectiveAt: '2024-01-12T18:20:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(a.rpps),
    },
    {
      stream: decl(a.rpps),
      event: { type: 'IndicatorDeclared', data: { rpps: a.rpps, year, indicator: 'V2_COORDINATION', value: { answer: true, modalities: ['MSP'] }, attestation: true } },
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
  lines.push(
    {
      stream: decl(b.rpps),
      event: {
        type: 'IndicatorDeclared',
        data: { rpps: b.rpps, year, indicator: 'V1_SEGUR_LAP', value: { segurSoftware: { editor: 'CardioSoft', name: 'CardioDoc', version: '3.0', acquiredOn: '2024-01-15' }, lapCertified: true }, attestation: true },
      },
      effectiveAt: '2024-01-29T21:40:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(b.rpps),
    },
    {
      stream: decl(b.rpps),
      event: {
        type: 'JustificatifSubmitted',
        data: { rpps: b.rpps, year, justificatifId: justificatifIdOf(year, b.rpps, randomUUID().replace(/-/g, '').slice(0, 12)), indicator: 'V1_SEGUR_LAP', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', size: 48213, mediaType: 'application/pdf' },
      },
      effectiveAt: '2024-01-29T21:45:00+01:00',
      channel: 'amelipro',
      actor: doctorActor(b.rpps),
    },
    {
      stream: decl(b.rpps),
      event: { type: 'IndicatorDeclared', data: { rpps: b.rpps, year, indicator: 'V1_HORAIRES', value: { displayed: true }, attestation: true } },
      effectiveAt: '2024-01-25T14:00:00+01:00',
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

/** Seeds the demo campaign when the store is empty; returns the number of events written. */
export async function seedDemoIfEmpty(store: EventStore): Promise<number> {
  if ((await store.headPosition()) !== 0n) return 0;
  const correlationId = randomUUID();
  let written = 0;
  for (const line of demoCampaign()) {
    await store.append(line.stream, [toNew(line, correlationId)], { expectedRevision: 'any' });
    written += 1;
  }
  return written;
}
