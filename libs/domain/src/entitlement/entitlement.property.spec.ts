import fc from 'fast-check';
import type { DomainEvent, IndicatorCode } from '@forfait/events';
import { Rational } from '../arithmetic/rational';
import type { KnownEvent } from '../events';
import { FS_2023 } from '../ruleset/fs-2023';
import { computeEntitlement, type Entitlement } from './entitlement';
import { toEntitlementView } from './entitlement.view';

const RPPS = '10000000017';
const YEAR = 2023;
const MAX_CENTS = 1163 * 700;
const RATES: IndicatorCode[] = ['V2_AAT', 'V2_CMATMP', 'V2_PSE', 'V2_DCMT', 'V2_SPE', 'V2_DSG', 'V2_DMP', 'V2_MSS', 'V2_ORDONNANCE_NUMERIQUE'];

/** One independent fact about a doctor-year: the event(s) it records. */
type Fact = { id: string; events: { event: DomainEvent; effectiveAt: string; channel: KnownEvent['metadata']['channel'] }[] };

const at = (day: number) => new Date(Date.parse('2023-12-12T10:00:00+01:00') + day * 86_400_000).toISOString();

const campaign: KnownEvent[] = [
  {
    type: 'CampaignOpened',
    data: { year: YEAR, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-11T23:59:59.999+01:00' },
    eventId: 'campaign-open',
    metadata: { recordedAt: '2023-12-01T00:00:00.000Z', effectiveAt: '2023-12-10T23:00:00.000Z', channel: 'back-office', actor: { sub: 'a', role: 'admin' } },
  },
];

const profileOf = (specialty: string): KnownEvent[] => [
  {
    type: 'DoctorProfileRecorded',
    data: { rpps: RPPS, specialty, caisse: '441', department: '44' },
    eventId: 'profile',
    metadata: { recordedAt: '2023-12-01T00:00:00.000Z', effectiveAt: '2023-01-01T00:00:00.000Z', channel: 'import', actor: { sub: 's', role: 'system' } },
  },
];

const dy = { rpps: RPPS, year: YEAR };
const single = (event: DomainEvent, day: number, channel: KnownEvent['metadata']['channel'] = 'import') => [{ event, effectiveAt: at(day), channel }];

/** Random facts, each about a different indicator, so that they are independent of one another. */
const factsArb: fc.Arbitrary<{ specialty: string; facts: Fact[] }> = fc
  .record({
    specialty: fc.constantFrom('medecine-generale', 'cardiologie', 'ophtalmologie'),
    segur: fc.option(fc.record({ lap: fc.boolean(), prefilled: fc.boolean(), validated: fc.boolean() })),
    horaires: fc.option(fc.boolean()),
    tele: fc.option(fc.tuple(fc.nat(100), fc.nat(100))),
    rates: fc.array(fc.tuple(fc.constantFrom(...RATES), fc.nat(50), fc.nat(50)), { maxLength: 9 }),
    apcv: fc.option(fc.nat(3)),
    sas: fc.option(fc.boolean()),
    codage: fc.option(fc.record({ answer: fc.boolean(), attestation: fc.boolean() })),
    coordination: fc.option(fc.subarray(['MSP', 'ASALEE', 'CPTS'], { minLength: 1 })),
    services: fc.option(fc.subarray(['ASALEE', 'MAIA'], { minLength: 1 })),
    devices: fc.option(fc.subarray(['ECG', 'OXYMETRE'], { minLength: 1 })),
    day: fc.nat(50),
  })
  .map((r) => {
    const facts: Fact[] = [];
    const push = (id: string, events: Fact['events']) => facts.push({ id, events });
    if (r.segur) {
      const segurSoftware = { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-05-01' };
      // Rule 2: SONS pre-fills the software only (its lapCertified is ignored); the doctor names the LAP.
      const value = {
        segurSoftware: { ...segurSoftware, kind: 'cabinet' as const },
        lapCertified: r.segur.lap,
        lap: r.segur.lap ? { editor: 'L', name: 'LAP', certification: 'definitive' as const } : null,
      };
      const events: Fact['events'] = r.segur.prefilled
        ? single(
            { type: 'IndicatorPrefilled', data: { ...dy, indicator: 'V1_SEGUR_LAP', source: 'SONS', value: { segurSoftware, lapCertified: r.segur.lap } } },
            0,
          )
        : single({ type: 'IndicatorDeclared', data: { ...dy, indicator: 'V1_SEGUR_LAP', value, attestation: true } }, r.day, 'amelipro');
      if (!r.segur.prefilled) {
        events.push({
          event: {
            type: 'JustificatifSubmitted',
            data: {
              ...dy,
              justificatifId: 'j1',
              indicator: 'V1_SEGUR_LAP',
              sha256: 'a',
              size: 1,
              mediaType: 'application/pdf',
              subjects: ['SEGUR', 'LAP'],
              proves: null,
            },
          },
          effectiveAt: at(r.day),
          channel: 'amelipro',
        });
        if (r.segur.validated)
          events.push({
            event: { type: 'JustificatifValidated', data: { ...dy, justificatifId: 'j1', indicator: 'V1_SEGUR_LAP' } },
            effectiveAt: at(r.day + 1),
            channel: 'back-office',
          });
      }
      push('segur', events);
    }
    if (r.horaires !== null)
      push(
        'horaires',
        single({ type: 'IndicatorPrefilled', data: { ...dy, indicator: 'V1_HORAIRES', source: 'ANNUAIRE_SANTE', value: { displayed: r.horaires } } }, -10),
      );
    if (r.tele) {
      push(
        'tele',
        single(
          {
            type: 'MeasureRecorded',
            data: {
              ...dy,
              indicator: 'V1_TELETRANSMISSION',
              source: 'S',
              measure: { kind: 'teletransmission', numerator: r.tele[0], denominator: r.tele[1], teletransmittedPreviousYear: true },
            },
          },
          20,
        ),
      );
    }
    const seen = new Set<string>();
    for (const [code, n, d] of r.rates) {
      if (seen.has(code)) continue;
      seen.add(code);
      push(
        code,
        single({ type: 'MeasureRecorded', data: { ...dy, indicator: code, source: 'S', measure: { kind: 'rate', numerator: n, denominator: d } } }, 20),
      );
    }
    if (r.apcv !== null)
      push('apcv', single({ type: 'MeasureRecorded', data: { ...dy, indicator: 'V2_APCV', source: 'S', measure: { kind: 'count', numerator: r.apcv } } }, 20));
    if (r.sas !== null)
      push(
        'sas',
        single({ type: 'MeasureRecorded', data: { ...dy, indicator: 'V2_SAS', source: 'S', measure: { kind: 'participation', participates: r.sas } } }, 20),
      );
    if (r.codage)
      push(
        'codage',
        single(
          { type: 'IndicatorDeclared', data: { ...dy, indicator: 'V2_CODAGE', value: { answer: r.codage.answer }, attestation: r.codage.attestation } },
          r.day,
          'amelipro',
        ),
      );
    if (r.coordination)
      push(
        'coordination',
        single(
          { type: 'IndicatorDeclared', data: { ...dy, indicator: 'V2_COORDINATION', value: { answer: true, modalities: r.coordination }, attestation: true } },
          r.day,
          'amelipro',
        ),
      );
    if (r.services)
      push(
        'services',
        single(
          { type: 'IndicatorDeclared', data: { ...dy, indicator: 'V2_SERVICES_PATIENTS', value: { answer: true, modalities: r.services }, attestation: true } },
          r.day,
          'amelipro',
        ),
      );
    if (r.devices)
      push(
        'devices',
        single(
          { type: 'IndicatorDeclared', data: { ...dy, indicator: 'V2_EQUIPEMENT_CONNECTE', value: { answer: true, devices: r.devices }, attestation: true } },
          r.day,
          'amelipro',
        ),
      );
    return { specialty: r.specialty, facts };
  });

/** Records the facts in the given order, one minute apart, starting on 1 Feb 2024. */
function record(facts: Fact[], order: number[] = facts.map((_, i) => i)): KnownEvent[] {
  const out: KnownEvent[] = [];
  let minute = 0;
  for (const index of order) {
    const fact = facts[index]!;
    fact.events.forEach((e, k) => {
      minute += 1;
      out.push({
        ...e.event,
        eventId: `${fact.id}-${k}`,
        metadata: {
          recordedAt: new Date(Date.parse('2024-02-01T00:00:00Z') + minute * 60_000).toISOString(),
          effectiveAt: e.effectiveAt,
          channel: e.channel,
          actor: { sub: 's', role: 'system' },
        },
      });
    });
  }
  return out;
}

const entitlementOf = (specialty: string, declaration: KnownEvent[]): Entitlement =>
  computeEntitlement({ rpps: RPPS, year: YEAR, ruleset: FS_2023, knownAt: '2024-06-30T00:00:00Z', campaign, doctor: profileOf(specialty), declaration });

const M = { editor: 'E', name: 'M', version: '1', acquiredOn: '2023-06-01', kind: 'cabinet' as const };
const MLAP = { editor: 'L', name: 'LAP', certification: 'definitive' as const };

/** The event(s) that make one more indicator met, effective after everything else. */
function meet(code: IndicatorCode): Fact {
  const late = 55; // 5 Feb 2024, inside the extended window and after every random fact
  switch (code) {
    case 'V1_SEGUR_LAP':
      return {
        id: 'meet',
        events: [
          // Declared and justified by the Ségur deadline (rule 3), after every random fact (day 50 is 31/01 10:00).
          {
            event: {
              type: 'IndicatorDeclared',
              data: { ...dy, indicator: 'V1_SEGUR_LAP', value: { segurSoftware: M, lapCertified: true, lap: MLAP }, attestation: true },
            },
            effectiveAt: '2024-01-31T22:00:00+01:00',
            channel: 'amelipro',
          },
          {
            event: {
              type: 'JustificatifSubmitted',
              data: {
                ...dy,
                justificatifId: 'jm',
                indicator: 'V1_SEGUR_LAP',
                sha256: 'b',
                size: 1,
                mediaType: 'application/pdf',
                subjects: ['SEGUR', 'LAP'],
                proves: { segurSoftware: M, lap: MLAP },
              },
            },
            effectiveAt: '2024-01-31T23:00:00+01:00',
            channel: 'amelipro',
          },
          {
            event: { type: 'JustificatifValidated', data: { ...dy, justificatifId: 'jm', indicator: 'V1_SEGUR_LAP' } },
            effectiveAt: at(late),
            channel: 'back-office',
          },
        ],
      };
    case 'V1_HORAIRES':
      return {
        id: 'meet',
        events: single(
          { type: 'IndicatorDeclared', data: { ...dy, indicator: 'V1_HORAIRES', value: { displayed: true }, attestation: true } },
          late,
          'amelipro',
        ),
      };
    case 'V1_TELETRANSMISSION':
      return {
        id: 'meet',
        events: single(
          {
            type: 'MeasureRecorded',
            data: {
              ...dy,
              indicator: code,
              source: 'S',
              measure: { kind: 'teletransmission', numerator: 10, denominator: 10, teletransmittedPreviousYear: true },
            },
          },
          late,
        ),
      };
    case 'V2_APCV':
      return {
        id: 'meet',
        events: single({ type: 'MeasureRecorded', data: { ...dy, indicator: code, source: 'S', measure: { kind: 'count', numerator: 5 } } }, late),
      };
    case 'V2_SAS':
      return {
        id: 'meet',
        events: single(
          { type: 'MeasureRecorded', data: { ...dy, indicator: code, source: 'S', measure: { kind: 'participation', participates: true } } },
          late,
        ),
      };
    case 'V2_CODAGE':
    case 'V2_MAITRE_STAGE':
    case 'V2_VIDEO':
      return {
        id: 'meet',
        events: single({ type: 'IndicatorDeclared', data: { ...dy, indicator: code, value: { answer: true }, attestation: true } }, late, 'amelipro'),
      };
    case 'V2_COORDINATION':
    case 'V2_SERVICES_PATIENTS':
      return {
        id: 'meet',
        events: single(
          {
            type: 'IndicatorDeclared',
            data: { ...dy, indicator: code, value: { answer: true, modalities: [code === 'V2_COORDINATION' ? 'MSP' : 'MAIA'] }, attestation: true },
          },
          late,
          'amelipro',
        ),
      };
    case 'V2_EQUIPEMENT_CONNECTE':
      return {
        id: 'meet',
        events: single(
          { type: 'IndicatorDeclared', data: { ...dy, indicator: code, value: { answer: true, devices: ['ECG'] }, attestation: true } },
          late,
          'amelipro',
        ),
      };
    default:
      return {
        id: 'meet',
        events: single(
          { type: 'MeasureRecorded', data: { ...dy, indicator: code, source: 'S', measure: { kind: 'rate', numerator: 100, denominator: 100 } } },
          late,
        ),
      };
  }
}

describe('entitlement properties over random histories (issue: rules engine, item 6)', () => {
  it('the amount lies between 0 and 1 163 points × 7 €, and is the exact total rounded once', () => {
    fc.assert(
      fc.property(factsArb, ({ specialty, facts }) => {
        const e = entitlementOf(specialty, record(facts));
        expect(e.amountCents).toBeGreaterThanOrEqual(0);
        expect(e.amountCents).toBeLessThanOrEqual(MAX_CENTS);
        expect(BigInt(e.amountCents)).toBe(e.totalPoints.mul(Rational.of(700)).roundHalfUp());
      }),
      { numRuns: 300 },
    );
  });

  it('volet 2 is 0 whenever volet 1 is not met', () => {
    fc.assert(
      fc.property(factsArb, ({ specialty, facts }) => {
        const e = entitlementOf(specialty, record(facts));
        if (!e.volet1.met) {
          expect(e.volet2.points.isZero()).toBe(true);
          expect(e.amountCents).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('meeting one more indicator never lowers the amount', () => {
    const codes = [...FS_2023.volet1.indicators, ...FS_2023.volet2.indicators].map((r) => r.code);
    fc.assert(
      fc.property(factsArb, fc.constantFrom(...codes), ({ specialty, facts }, code) => {
        const before = entitlementOf(specialty, record(facts));
        const after = entitlementOf(specialty, record([...facts, meet(code)]));
        const met = [...after.volet1.indicators, ...after.volet2.indicators].find((r) => r.code === code)!;
        expect(met.met).toBe(true);
        expect(after.amountCents).toBeGreaterThanOrEqual(before.amountCents);
      }),
      { numRuns: 400 },
    );
  });

  it('does not depend on the order in which independent events were recorded', () => {
    fc.assert(
      fc.property(
        factsArb.chain(({ specialty, facts }) =>
          fc.tuple(
            fc.constant(specialty),
            fc.constant(facts),
            fc.shuffledSubarray(
              facts.map((_, i) => i),
              { minLength: facts.length, maxLength: facts.length },
            ),
          ),
        ),
        ([specialty, facts, order]) => {
          const inOrder = toEntitlementView(entitlementOf(specialty, record(facts)));
          const shuffled = toEntitlementView(entitlementOf(specialty, record(facts, order)));
          expect(shuffled).toEqual(inOrder);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('as known at an instant, what was recorded later changes nothing (architecture.md, "Time")', () => {
    fc.assert(
      fc.property(factsArb, fc.nat(40), ({ specialty, facts }, cut) => {
        const events = record(facts);
        // An instant between two recordings (record() spaces them a minute apart from 1 Feb 2024).
        const knownAt = new Date(Date.parse('2024-02-01T00:00:00Z') + cut * 60_000 + 30_000).toISOString();
        const known = events.filter((e) => Date.parse(e.metadata.recordedAt) <= Date.parse(knownAt));
        const replay = (declaration: KnownEvent[]) =>
          toEntitlementView(computeEntitlement({ rpps: RPPS, year: YEAR, ruleset: FS_2023, knownAt, campaign, doctor: profileOf(specialty), declaration }));
        expect(replay(events)).toEqual(replay(known));
      }),
      { numRuns: 200 },
    );
  });
});
