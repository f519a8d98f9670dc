import { Rational } from '../arithmetic/rational';
import { FS_2023 } from '../ruleset/fs-2023';
import { FS_2024 } from '../ruleset/fs-2024';
import type { Ruleset } from '../ruleset/ruleset';
import { History, indicator } from '../testing/history';
import { toEntitlementView } from './entitlement.view';

const gp = () => new History().opened().profile('medecine-generale');
const cardio = () => new History().opened().profile('cardiologie');

describe('guide §IV: points × 7 €, maxima of FS-2023', () => {
  it('a GP meeting everything gets 280 + 883 = 1 163 points = 8 141 €', () => {
    const e = gp().everythingMet().entitlement();
    expect(e.volet1).toMatchObject({ met: true });
    expect(e.volet1.points.toString()).toBe('280');
    expect(e.volet2.points.toString()).toBe('883');
    expect(e.totalPoints.toString()).toBe('1163');
    expect(e.amountCents).toBe(814_100);
  });

  it('the volets sum as the guide says: téléservices 150, other usages 168, indicator 1 = 318, volet 2 = 883', () => {
    const points = (codes: string[]) =>
      FS_2023.volet2.indicators.filter((i) => codes.includes(i.code)).reduce((s, i) => s.add(Rational.fromDecimal(i.points)), Rational.ZERO).toString();
    expect(points(['V2_AAT', 'V2_CMATMP', 'V2_PSE', 'V2_DCMT', 'V2_SPE', 'V2_DSG'])).toBe('150');
    expect(points(['V2_DMP', 'V2_MSS', 'V2_ORDONNANCE_NUMERIQUE', 'V2_APCV'])).toBe('168');
    expect(points(FS_2023.volet2.indicators.map((i) => i.code))).toBe('883');
  });

  it('is data-driven: FS-2024 (secondary sources) tops out at 280 + 835 = 1 115 points', () => {
    const h = new History('10000000017', 2024, FS_2024).opened({ opensAt: '2024-12-09T00:00:00+01:00', closesAt: '2025-02-04T23:59:59.999+01:00', recordedAt: '2024-12-01T00:00:00Z' }).profile('cardiologie');
    h.prefillSegur({}, true, { effectiveAt: '2024-12-09T00:00:00+01:00', recordedAt: '2024-12-09T08:00:00Z' });
    h.prefillHoraires(true, '2024-11-20T10:00:00+01:00');
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 9, denominator: 10, teletransmittedPreviousYear: true });
    h.measure('V1_SESAM_VITALE', { kind: 'participation', participates: true });
    for (const [code, n] of [['V2_AAT', 90], ['V2_CMATMP', 50], ['V2_PSE', 90], ['V2_DCMT', 90], ['V2_SPE', 30], ['V2_DSG', 50], ['V2_DMP', 30], ['V2_MSS', 10], ['V2_ORDONNANCE_NUMERIQUE', 40]] as const) h.rate(code, n, 100);
    h.measure('V2_APCV', { kind: 'count', numerator: 1 });
    h.measure('V2_SAS', { kind: 'participation', participates: true });
    for (const [code, value] of [['V2_CODAGE', { answer: true }], ['V2_COORDINATION', { answer: true, modalities: ['CPTS'] }], ['V2_SERVICES_PATIENTS', { answer: true, modalities: ['CLIC'] }], ['V2_MAITRE_STAGE', { answer: true }], ['V2_VIDEO', { answer: true }], ['V2_EQUIPEMENT_CONNECTE', { answer: true, devices: ['ECG'] }]] as const) {
      h.declare(code, value, { effectiveAt: '2025-01-15T10:00:00+01:00' });
    }
    const e = h.entitlement('2025-06-30T00:00:00Z');
    expect(e.ruleset).toBe('FS-2024');
    expect(e.totalPoints.toString()).toBe('1115');
    expect(e.amountCents).toBe(780_500);
    expect(FS_2024.status).toBe('secondary');
  });
});

describe('guide §I: volet 1 is all or nothing, and gates volet 2', () => {
  it('one volet-1 indicator missing: volet 1 = 0 and volet 2 = 0, though its indicators stay met', () => {
    const h = gp();
    h.prefillSegur();
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 9, denominator: 10, teletransmittedPreviousYear: true });
    h.rate('V2_AAT', 80, 100);
    h.declare('V2_CODAGE', { answer: true });
    const e = h.entitlement();
    expect(indicator(e, 'V1_HORAIRES')).toMatchObject({ met: false, reason: 'horaires ni pré-remplis, ni déclarés dans les délais' });
    expect(e.volet1.met).toBe(false);
    expect(e.totalPoints.toString()).toBe('0');
    expect(e.amountCents).toBe(0);
    expect(indicator(e, 'V2_AAT')).toMatchObject({ met: true });
    expect(indicator(e, 'V2_AAT').points.toString()).toBe('0');
    expect(indicator(e, 'V2_AAT').reason).toMatch(/non rémunéré : volet 1 non atteint/);
  });

  it('I-3: SESAM-Vitale add. 8 is neutralised for 2023, deemed met without any measure', () => {
    expect(indicator(gp().entitlement(), 'V1_SESAM_VITALE')).toMatchObject({ met: true, evidence: [] });
  });
});

describe('guide §I.4: télétransmission ≥ 2/3, in integers', () => {
  const tele = (numerator: number, denominator: number) => {
    const h = gp();
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator, denominator, teletransmittedPreviousYear: true });
    return indicator(h.entitlement(), 'V1_TELETRANSMISSION');
  };
  it('exactly 2/3 is met; one FSE fewer is not; 0/0 is not', () => {
    expect(tele(2000, 3000).met).toBe(true);
    expect(tele(1999, 3000)).toMatchObject({ met: false, reason: 'FSE 1999 / 3000 actes = 66,63 % < 2/3 (taux annuel transmis)' });
    expect(tele(0, 0)).toMatchObject({ met: false });
    expect(tele(0, 0).reason).toMatch(/dénominateur nul/);
  });

  it('a newcomer is measured from the month after the first FSE (first FSE in May: from June)', () => {
    const h = gp();
    const months = [
      { month: '2023-03', fse: 0, total: 100 },
      { month: '2023-04', fse: 0, total: 100 },
      { month: '2023-05', fse: 10, total: 100 },
      { month: '2023-06', fse: 70, total: 100 },
      { month: '2023-07', fse: 67, total: 100 },
    ];
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', months, teletransmittedPreviousYear: false });
    const r = indicator(h.entitlement(), 'V1_TELETRANSMISSION');
    expect(r).toMatchObject({ met: true });
    expect(r.reason).toBe('FSE 137 / 200 actes = 68,5 % ≥ 2/3 (à partir de 2023-06 (1re FSE en 2023-05))');
  });

  it('a doctor who tele-transmitted the year before is measured over the whole year', () => {
    const h = gp();
    const months = [
      { month: '2023-01', fse: 0, total: 100 },
      { month: '2023-06', fse: 100, total: 100 },
    ];
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', months, teletransmittedPreviousYear: true });
    expect(indicator(h.entitlement(), 'V1_TELETRANSMISSION')).toMatchObject({ met: false, reason: 'FSE 100 / 200 actes = 50 % < 2/3 (année 2023 entière (télétransmission en 2022))' });
  });

  it('the first FSE date, when given, decides the period', () => {
    const h = gp();
    const months = [
      { month: '2023-09', fse: 1, total: 10 },
      { month: '2023-10', fse: 9, total: 10 },
    ];
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', months, teletransmittedPreviousYear: false, firstFseOn: '2023-09-28' });
    expect(indicator(h.entitlement(), 'V1_TELETRANSMISSION').reason).toMatch(/^FSE 9 \/ 10 actes = 90 % ≥ 2\/3 \(à partir de 2023-10/);
  });
});

describe('guide §I.1 and I-1: Ségur software with a HAS-certified LAP', () => {
  it('pre-filled from SONS, LAP declared, not a first year: met with no justificatif', () => {
    const h = cardio();
    h.prefillSegur();
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({ met: true, reason: expect.stringMatching(/pas de justificatif requis \(I-1\)/) });
  });

  it('declared but not pre-filled: met only once a justificatif is validated by the CPAM', () => {
    const pending = cardio();
    pending.declareSegur();
    pending.justificatif('V1_SEGUR_LAP');
    expect(indicator(pending.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({ met: false, reason: 'justificatif requis (non pré-rempli) non encore validé par la CPAM' });

    const rejected = cardio();
    rejected.declareSegur();
    rejected.justificatif('V1_SEGUR_LAP', 'rejected');
    expect(indicator(rejected.entitlement(), 'V1_SEGUR_LAP').met).toBe(false);

    const none = cardio();
    none.declareSegur();
    expect(indicator(none.entitlement(), 'V1_SEGUR_LAP').reason).toBe('justificatif requis (non pré-rempli) non transmis');

    const validated = cardio();
    validated.declareSegur();
    validated.justificatif('V1_SEGUR_LAP', 'validated');
    const r = indicator(validated.entitlement(), 'V1_SEGUR_LAP');
    expect(r.met).toBe(true);
    expect(r.evidence).toHaveLength(3);
  });

  it('a validation counts only from when it is known: replayed before it, the indicator is not met', () => {
    const h = cardio();
    h.declareSegur();
    h.justificatif('V1_SEGUR_LAP', 'validated');
    const validation = h.declaration.at(-1)!;
    const before = new Date(Date.parse(validation.metadata.recordedAt) - 1).toISOString();
    expect(indicator(h.entitlement(before), 'V1_SEGUR_LAP').met).toBe(false);
    expect(indicator(h.entitlement(validation.metadata.recordedAt), 'V1_SEGUR_LAP').met).toBe(true);
  });

  it('changing the pre-filled software requires a justificatif; a new version of the same does not', () => {
    const changed = cardio();
    changed.prefillSegur({ name: 'Ancien' });
    changed.declareSegur({ name: 'Nouveau' });
    expect(indicator(changed.entitlement(), 'V1_SEGUR_LAP').reason).toMatch(/logiciel modifié par rapport au pré-remplissage/);

    const upgraded = cardio();
    upgraded.prefillSegur({ version: '1.0' });
    upgraded.declareSegur({ version: '2.0' });
    expect(indicator(upgraded.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
  });

  it('first year of declaration requires a justificatif even when pre-filled', () => {
    const h = new History().opened().profile('cardiologie', { firstDeclarationYear: 2023 });
    h.prefillSegur();
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').reason).toBe('justificatif requis (première année de déclaration) non transmis');
  });

  it('a justificatif validated in an earlier campaign for the same software still counts ("fera foi")', () => {
    const same = cardio();
    same.earlierYear(2022, { name: 'Logiciel' }, true);
    same.declareSegur({ name: 'Logiciel' });
    expect(indicator(same.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({ met: true, reason: expect.stringMatching(/campagne 2022 .* il fait foi/) });

    const other = cardio();
    other.earlierYear(2022, { name: 'Autre' }, true);
    other.declareSegur({ name: 'Logiciel' });
    expect(indicator(other.entitlement(), 'V1_SEGUR_LAP').met).toBe(false);

    const neverValidated = cardio();
    neverValidated.earlierYear(2022, { name: 'Logiciel' }, false);
    neverValidated.declareSegur({ name: 'Logiciel' });
    expect(indicator(neverValidated.entitlement(), 'V1_SEGUR_LAP').met).toBe(false);
  });

  it('annex 1: an ophthalmologist is exempt from the LAP part; a cardiologist is not', () => {
    const oph = new History().opened().profile('ophtalmologie');
    oph.prefillSegur({}, false);
    expect(indicator(oph.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({ met: true, reason: expect.stringMatching(/exonérée de LAP/) });
    const c = cardio();
    c.prefillSegur({}, false);
    expect(indicator(c.entitlement(), 'V1_SEGUR_LAP').reason).toBe('LAP certifié HAS non déclaré (spécialité cardiologie non exonérée, annexe 1)');
  });

  it('software acquired after 31/01/2024 does not count; on 31/01/2024 it does', () => {
    const late = cardio();
    late.prefillSegur({ acquiredOn: '2024-02-01' });
    expect(indicator(late.entitlement(), 'V1_SEGUR_LAP').reason).toMatch(/acquis le 2024-02-01, après le 2024-01-31/);
    const onTime = cardio();
    onTime.prefillSegur({ acquiredOn: '2024-01-31' });
    expect(indicator(onTime.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
  });

  it('a justificatif sent after 31/01/2024 does not count (letter: justificatifs until 31 January)', () => {
    const h = cardio();
    h.declareSegur();
    h.justificatif('V1_SEGUR_LAP', 'validated', { effectiveAt: '2024-02-01T09:00:00+01:00' });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').met).toBe(false);
  });
});

describe('guide §I.5: opening hours, three channels and their deadlines', () => {
  it('the hours service counts up to 31/12/2023 only', () => {
    const inTime = gp();
    inTime.prefillHoraires(true, '2023-12-31T23:00:00+01:00');
    expect(indicator(inTime.entitlement(), 'V1_HORAIRES').met).toBe(true);
    const late = gp();
    late.prefillHoraires(true, '2024-01-02T09:00:00+01:00');
    expect(indicator(late.entitlement(), 'V1_HORAIRES').met).toBe(false);
  });

  it('the doctor’s tick counts inside the campaign window', () => {
    const h = gp();
    h.declare('V1_HORAIRES', { displayed: true }, { effectiveAt: '2024-02-04T22:00:00+01:00' });
    expect(indicator(h.entitlement(), 'V1_HORAIRES')).toMatchObject({ met: true, reason: 'horaires affichés : déclaration sur amelipro du 2024-02-04' });
  });

  it('the CPAM back office counts up to 31/01/2024, judged on effective time', () => {
    const inTime = gp();
    inTime.declare('V1_HORAIRES', { displayed: true }, { channel: 'back-office', effectiveAt: '2024-01-31T17:00:00+01:00', recordedAt: '2024-02-20T09:00:00Z' });
    expect(indicator(inTime.entitlement(), 'V1_HORAIRES').met).toBe(true);
    const late = gp();
    late.declare('V1_HORAIRES', { displayed: true }, { channel: 'back-office', effectiveAt: '2024-02-01T09:00:00+01:00' });
    expect(indicator(late.entitlement(), 'V1_HORAIRES').met).toBe(false);
  });

  it('a later "no" corrects an earlier "yes": the latest effective value wins', () => {
    const h = gp();
    h.prefillHoraires(true);
    h.declare('V1_HORAIRES', { displayed: false }, { effectiveAt: '2024-01-10T10:00:00+01:00' });
    expect(indicator(h.entitlement(), 'V1_HORAIRES').met).toBe(false);
  });
});

describe('guide §II.1: rates against their targets', () => {
  const aat = (n: number, d: number) => {
    const h = cardio();
    h.rate('V2_AAT', n, d);
    return indicator(h.entitlement(), 'V2_AAT');
  };
  it('exactly 70 % is met; 69.99 % is not; 0/0 is not', () => {
    expect(aat(70, 100)).toMatchObject({ met: true, reason: expect.stringMatching(/^taux 70 % ≥ objectif 70 % \(70\/100\)/) });
    expect(aat(6999, 10000)).toMatchObject({ met: false, reason: 'taux 69,99 % < objectif 70 % (6999/10000)' });
    expect(aat(0, 0)).toMatchObject({ met: false, reason: 'dénominateur nul (0/0)' });
    expect(aat(1, 0).met).toBe(false);
  });

  it('no measure received: not met', () => {
    expect(indicator(cardio().entitlement(), 'V2_PSE')).toMatchObject({ met: false, reason: 'aucune mesure reçue' });
  });

  it('the letter’s targets: DMP 10 % (not 20 %), AAT 70 % (not 90 %)', () => {
    const h = cardio();
    h.rate('V2_DMP', 10, 100);
    expect(indicator(h.entitlement(), 'V2_DMP').met).toBe(true);
  });

  it('ApCV: at least one FSE with the Vitale app', () => {
    const one = cardio();
    one.measure('V2_APCV', { kind: 'count', numerator: 1 });
    expect(indicator(one.entitlement(), 'V2_APCV').met).toBe(true);
    const zero = cardio();
    zero.measure('V2_APCV', { kind: 'count', numerator: 0 });
    expect(indicator(zero.entitlement(), 'V2_APCV').met).toBe(false);
  });

  it('a re-sent measure replaces the earlier one', () => {
    const h = cardio();
    h.rate('V2_PSE', 10, 100);
    h.rate('V2_PSE', 85, 100);
    expect(indicator(h.entitlement(), 'V2_PSE')).toMatchObject({ met: true, evidence: [h.declaration.at(-1)!.eventId] });
  });
});

describe('I-2: DCMT neutralised for general practitioners', () => {
  it('a GP is deemed met without a measure; a cardiologist needs 90 %', () => {
    expect(indicator(gp().entitlement(), 'V2_DCMT')).toMatchObject({ met: true });
    const c = cardio();
    c.rate('V2_DCMT', 89, 100);
    expect(indicator(c.entitlement(), 'V2_DCMT').met).toBe(false);
  });

  it('in "excluded" mode the GP’s DCMT earns nothing', () => {
    const excluded: Ruleset = {
      ...FS_2023,
      volet2: {
        indicators: FS_2023.volet2.indicators.map((r) =>
          r.kind === 'rate' && r.neutralisedFor ? { ...r, neutralisedFor: { ...r.neutralisedFor, mode: 'excluded' as const } } : r,
        ),
      },
    };
    const h = gp().everythingMet();
    const e = h.entitlement(undefined, excluded);
    expect(indicator(e, 'V2_DCMT').met).toBe(false);
    expect(e.totalPoints.toString()).toBe('2281/2'); // 1 163 − 22.5 = 1 140.5
  });
});

describe('I-4: the MSS report', () => {
  it('a doctor meeting every item of indicator 1 but MSS still gets the full 318 points', () => {
    const e = gp().everythingMet({ mss: false }).entitlement();
    const ind1 = ['V2_AAT', 'V2_CMATMP', 'V2_PSE', 'V2_DCMT', 'V2_SPE', 'V2_DSG', 'V2_DMP', 'V2_MSS', 'V2_ORDONNANCE_NUMERIQUE', 'V2_APCV'] as const;
    const total = ind1.reduce((s, c) => s.add(indicator(e, c).points), Rational.ZERO);
    expect(total.toString()).toBe('318');
    expect(indicator(e, 'V2_MSS').points.toString()).toBe('0');
    expect(e.totalPoints.toString()).toBe('1163');
  });

  it('each met item is worth base × 318/278; the amount is rounded once from the exact total', () => {
    const h = gp();
    h.prefillSegur();
    h.prefillHoraires(true);
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 9, denominator: 10, teletransmittedPreviousYear: true });
    h.rate('V2_AAT', 80, 100);
    h.rate('V2_MSS', 1, 100);
    const e = h.entitlement();
    const aat = indicator(e, 'V2_AAT');
    expect(aat.points.toString()).toBe('9699/278'); // 30.5 × 318 / 278
    expect(aat.reason).toMatch(/report MSS \(I-4\) : 30,5 × 159\/139 = 34,888 points/);
    // GP: DCMT deemed met, so 22.5 × 318/278 too; 280 + (30.5 + 22.5) × 318/278 = 47347/139 = 340.6258…
    expect(e.totalPoints.toString()).toBe(Rational.of(280).add(Rational.fromDecimal(53).mul(Rational.of(318, 278))).toString());
    expect(e.totalPoints.toString()).toBe('47347/139');
    expect(e.amountCents).toBe(238_438); // 340.6258… × 700 = 238 438.129… → rounded once
    expect(toEntitlementView(e).totalPoints).toBe(340.626);
  });

  it('when MSS is met nothing is spread', () => {
    const h = cardio().volet1Met();
    h.rate('V2_MSS', 5, 100);
    h.rate('V2_AAT', 80, 100);
    const e = h.entitlement();
    expect(indicator(e, 'V2_AAT').points.toString()).toBe('61/2');
    expect(indicator(e, 'V2_MSS').points.toString()).toBe('40');
  });
});

describe('guide §II.3–II.7: declarations on honour', () => {
  it('declared yes with attestation is met; no, or without attestation, is not', () => {
    const yes = cardio();
    yes.declare('V2_CODAGE', { answer: true });
    expect(indicator(yes.entitlement(), 'V2_CODAGE').met).toBe(true);
    const no = cardio();
    no.declare('V2_CODAGE', { answer: false });
    expect(indicator(no.entitlement(), 'V2_CODAGE').met).toBe(false);
    const unattested = cardio();
    unattested.declare('V2_VIDEO', { answer: true }, { attestation: false });
    expect(indicator(unattested.entitlement(), 'V2_VIDEO').reason).toBe('attestation sur l’honneur absente');
  });

  it('a correction: the latest effective declaration wins, both stay in the history', () => {
    const h = cardio();
    h.declare('V2_MAITRE_STAGE', { answer: false }, { effectiveAt: '2024-01-10T10:00:00+01:00' });
    const correction = h.declare('V2_MAITRE_STAGE', { answer: true }, { effectiveAt: '2024-01-20T10:00:00+01:00' });
    const r = indicator(h.entitlement(), 'V2_MAITRE_STAGE');
    expect(r).toMatchObject({ met: true, evidence: [correction.eventId] });
    expect(h.declaration.filter((e) => e.type === 'IndicatorDeclared')).toHaveLength(2);
  });

  it('a paper form keyed in late counts on the day the caisse received it', () => {
    const h = cardio();
    h.declare('V2_CODAGE', { answer: true }, { channel: 'paper', effectiveAt: '2024-02-03T10:00:00+01:00', recordedAt: '2024-03-01T10:00:00Z' });
    expect(indicator(h.entitlement(), 'V2_CODAGE').met).toBe(true);
  });

  it('coordination needs an allowed modality; connected equipment an allowed device', () => {
    const h = cardio();
    h.declare('V2_COORDINATION', { answer: true, modalities: ['GROUPE_QUALITE'] });
    h.declare('V2_EQUIPEMENT_CONNECTE', { answer: true, devices: ['ECG'] });
    const e = h.entitlement();
    expect(indicator(e, 'V2_COORDINATION').met).toBe(false);
    expect(indicator(e, 'V2_EQUIPEMENT_CONNECTE').met).toBe(true);
  });

  it('I-5: ASALEE alone for both coordination and services validates coordination only', () => {
    const both = cardio();
    both.declare('V2_COORDINATION', { answer: true, modalities: ['ASALEE'] });
    both.declare('V2_SERVICES_PATIENTS', { answer: true, modalities: ['ASALEE'] });
    const e = both.entitlement();
    expect(indicator(e, 'V2_COORDINATION').met).toBe(true);
    expect(indicator(e, 'V2_SERVICES_PATIENTS')).toMatchObject({ met: false, reason: expect.stringMatching(/ASALEE/) });

    const other = cardio();
    other.declare('V2_COORDINATION', { answer: true, modalities: ['ASALEE', 'MSP'] });
    other.declare('V2_SERVICES_PATIENTS', { answer: true, modalities: ['ASALEE'] });
    expect(indicator(other.entitlement(), 'V2_SERVICES_PATIENTS').met).toBe(true);
  });

  it('guide §II.8: SAS from the platform, or a CPTS president’s attestation validated by the CPAM', () => {
    const platform = cardio();
    platform.measure('V2_SAS', { kind: 'participation', participates: true });
    expect(indicator(platform.entitlement(), 'V2_SAS').met).toBe(true);
    const cpts = cardio();
    cpts.justificatif('V2_SAS', 'validated');
    expect(indicator(cpts.entitlement(), 'V2_SAS').reason).toMatch(/^attestation du président de CPTS validée par la CPAM/);
    const pending = cardio();
    pending.justificatif('V2_SAS');
    expect(indicator(pending.entitlement(), 'V2_SAS').met).toBe(false);
  });
});

describe('campaign events: deadlines and amendments as known at an instant', () => {
  it('a declaration effective on 8 Feb counts only once the extension to 11 Feb is known', () => {
    const h = cardio();
    const extension = h.extended('2024-02-11T23:59:59.999+01:00', '2024-01-31T11:00:00Z');
    h.declare('V2_CODAGE', { answer: true }, { effectiveAt: '2024-02-08T10:00:00+01:00', recordedAt: '2024-02-08T09:00:00Z' });
    const beforeExtension = h.entitlement('2024-01-31T10:59:59Z');
    expect(beforeExtension.campaign?.closesAt).toBe('2024-02-04T23:59:59.999+01:00');
    expect(indicator(h.entitlement(), 'V2_CODAGE').met).toBe(true);
    expect(h.entitlement().campaign?.closesAt).toBe('2024-02-11T23:59:59.999+01:00');
    expect(extension.type).toBe('CampaignDeadlineExtended');
  });

  it('a target amendment applies from the moment it is known, and replays before it keep the old target', () => {
    const h = cardio();
    h.rate('V2_PSE', 75, 100);
    h.amended('V2_PSE', { target: 70 }, '2024-03-01T00:00:00Z');
    expect(indicator(h.entitlement('2024-02-28T00:00:00Z'), 'V2_PSE').met).toBe(false);
    const after = h.entitlement('2024-03-02T00:00:00Z');
    expect(indicator(after, 'V2_PSE')).toMatchObject({ met: true, reason: expect.stringMatching(/^taux 75 % ≥ objectif 70 % \(75\/100\)/) });
    expect(after.amendments).toHaveLength(1);
  });

  it('a points amendment and a neutralisation amendment', () => {
    const h = cardio();
    h.rate('V2_SPE', 50, 100);
    h.amended('V2_SPE', { points: 20 }, '2024-03-01T00:00:00Z');
    h.amended('V2_DSG', { neutralised: true }, '2024-03-01T00:01:00Z');
    const e = h.entitlement();
    expect(indicator(e, 'V2_SPE').basePoints.toString()).toBe('20');
    expect(indicator(e, 'V2_DSG').met).toBe(true);
  });
});

describe('after the campaign: controls, contestations, payments', () => {
  it('an invalidated indicator is no longer met from the finding on; a reversal restores it', () => {
    const h = gp().everythingMet();
    h.paid(814_100, '2024-04-15T10:00:00Z');
    h.finding('V2_COORDINATION', 'invalidated', '2024-10-01T10:00:00Z');
    h.contestationDecided('reversed', ['V2_COORDINATION'], '2025-01-10T10:00:00Z');

    const paidDay = h.entitlement('2024-04-15T10:00:00Z');
    expect(paidDay).toMatchObject({ amountCents: 814_100, paidCents: 814_100, balanceCents: 0 });

    const afterFinding = h.entitlement('2024-10-01T10:00:00Z');
    expect(indicator(afterFinding, 'V2_COORDINATION')).toMatchObject({ met: false, reason: 'invalidé par le contrôle a posteriori : pièces non probantes' });
    expect(afterFinding.balanceCents).toBe(-84_000); // 120 points × 7 € to recover

    const afterReversal = h.entitlement('2025-01-10T10:00:00Z');
    expect(indicator(afterReversal, 'V2_COORDINATION').met).toBe(true);
    expect(afterReversal.balanceCents).toBe(0);
  });

  it('an upheld contestation keeps the invalidation; a volet-1 invalidation closes the gate', () => {
    const h = gp().everythingMet();
    h.finding('V1_HORAIRES', 'invalidated', '2024-10-01T10:00:00Z');
    h.contestationDecided('upheld', [], '2024-12-01T10:00:00Z');
    expect(h.entitlement('2024-09-30T00:00:00Z').amountCents).toBe(814_100);
    const e = h.entitlement('2025-01-01T00:00:00Z');
    expect(e.volet1.met).toBe(false);
    expect(e.amountCents).toBe(0);
  });

  it('a later validation raises the entitlement: the balance shows a complement to pay', () => {
    const h = cardio();
    h.prefillHoraires(true);
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 9, denominator: 10, teletransmittedPreviousYear: true });
    h.declareSegur();
    h.justificatif('V1_SEGUR_LAP');
    h.paid(0, '2024-04-15T10:00:00Z');
    const id = h.declaration.find((e) => e.type === 'JustificatifSubmitted')!.data as { justificatifId: string };
    h.declaration.push({
      type: 'JustificatifValidated',
      data: { rpps: h.rpps, year: 2023, justificatifId: id.justificatifId, indicator: 'V1_SEGUR_LAP' },
      eventId: 'late',
      metadata: { recordedAt: '2024-05-01T10:00:00.000Z', effectiveAt: '2024-05-01T10:00:00.000Z', channel: 'back-office', actor: { sub: 'a', role: 'agent', caisse: '441' } },
    });
    expect(h.entitlement('2024-04-30T00:00:00Z').balanceCents).toBe(0);
    expect(h.entitlement().balanceCents).toBe(196_000);
  });
});
