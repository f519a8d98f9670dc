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
      FS_2023.volet2.indicators
        .filter((i) => codes.includes(i.code))
        .reduce((s, i) => s.add(Rational.fromDecimal(i.points)), Rational.ZERO)
        .toString();
    expect(points(['V2_AAT', 'V2_CMATMP', 'V2_PSE', 'V2_DCMT', 'V2_SPE', 'V2_DSG'])).toBe('150');
    expect(points(['V2_DMP', 'V2_MSS', 'V2_ORDONNANCE_NUMERIQUE', 'V2_APCV'])).toBe('168');
    expect(points(FS_2023.volet2.indicators.map((i) => i.code))).toBe('883');
  });

  it('is data-driven: FS-2024 (secondary sources) tops out at 280 + 835 = 1 115 points', () => {
    const h = new History('10000000017', 2024, FS_2024)
      .opened({ opensAt: '2024-12-09T00:00:00+01:00', closesAt: '2025-02-04T23:59:59.999+01:00', recordedAt: '2024-12-01T00:00:00Z' })
      .profile('cardiologie');
    h.prefillSegur({}, true, { effectiveAt: '2024-12-09T00:00:00+01:00', recordedAt: '2024-12-09T08:00:00Z' });
    h.declareSegur({}, true, { effectiveAt: '2024-12-15T10:00:00+01:00' }); // rule 2: the doctor declares the LAP
    h.prefillHoraires(true, '2024-11-20T10:00:00+01:00');
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 9, denominator: 10, teletransmittedPreviousYear: true });
    h.measure('V1_SESAM_VITALE', { kind: 'participation', participates: true });
    for (const [code, n] of [
      ['V2_AAT', 90],
      ['V2_CMATMP', 50],
      ['V2_PSE', 90],
      ['V2_DCMT', 90],
      ['V2_SPE', 30],
      ['V2_DSG', 50],
      ['V2_DMP', 30],
      ['V2_MSS', 10],
      ['V2_ORDONNANCE_NUMERIQUE', 40],
    ] as const)
      h.rate(code, n, 100);
    h.measure('V2_APCV', { kind: 'count', numerator: 1 });
    h.measure('V2_SAS', { kind: 'participation', participates: true });
    for (const [code, value] of [
      ['V2_CODAGE', { answer: true }],
      ['V2_COORDINATION', { answer: true, modalities: ['CPTS'] }],
      ['V2_SERVICES_PATIENTS', { answer: true, modalities: ['CLIC'] }],
      ['V2_MAITRE_STAGE', { answer: true }],
      ['V2_VIDEO', { answer: true }],
      ['V2_EQUIPEMENT_CONNECTE', { answer: true, devices: ['ECG'] }],
    ] as const) {
      h.declare(code, value, { effectiveAt: '2025-01-15T10:00:00+01:00' });
    }
    const e = h.entitlement('2025-06-30T00:00:00Z');
    expect(e.ruleset).toBe('FS-2024');
    expect(e.totalPoints.toString()).toBe('1115');
    expect(e.amountCents).toBe(780_500);
    expect(FS_2024.status).toBe('secondary');
  });
});

describe('FS-2024 « V1_SESAM_VITALE is measured (add. 8 and its riders by 31/12/2024) », from secondary sources', () => {
  const fs2024 = () => {
    const h = new History('10000000017', 2024, FS_2024)
      .opened({ opensAt: '2024-12-09T00:00:00+01:00', closesAt: '2025-02-04T23:59:59.999+01:00', recordedAt: '2024-12-01T00:00:00Z' })
      .profile('cardiologie');
    h.prefillSegur({}, true, { effectiveAt: '2024-12-09T00:00:00+01:00', recordedAt: '2024-12-09T08:00:00Z' });
    h.declareSegur({}, true, { effectiveAt: '2024-12-15T10:00:00+01:00' });
    h.prefillHoraires(true, '2024-11-20T10:00:00+01:00');
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 9, denominator: 10, teletransmittedPreviousYear: true });
    h.rate('V2_AAT', 95, 100);
    return h;
  };
  const at = '2025-06-30T00:00:00Z';

  it('the rule is a measure, marked secondary in its provenance, where FS-2023 neutralises it (INT-3)', () => {
    const rule = FS_2024.volet1.indicators.find((r) => r.code === 'V1_SESAM_VITALE')!;
    expect(rule.kind).toBe('automated-flag');
    expect(rule.provenance).toEqual([
      expect.objectContaining({ source: 'secondary', note: expect.stringContaining('addendum 8 et ses avenants exigés au 31/12/2024') }),
    ]);
    expect(FS_2023.volet1.indicators.find((r) => r.code === 'V1_SESAM_VITALE')!.kind).toBe('automated-neutralised');
  });

  it('no measure, or the equipment not found: the gate is shut, volet 1 and volet 2 pay 0, and the reason says the rule is from secondary sources', () => {
    const none = fs2024().entitlement(at);
    expect(indicator(none, 'V1_SESAM_VITALE')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/^aucune mesure reçue \(addendum 8 .*règle issue de sources secondaires\)$/),
    });
    expect(none.volet1.met).toBe(false);
    expect(none.amountCents).toBe(0);
    const absent = fs2024();
    absent.measure('V1_SESAM_VITALE', { kind: 'participation', participates: false });
    expect(indicator(absent.entitlement(at), 'V1_SESAM_VITALE')).toMatchObject({ met: false, reason: expect.stringMatching(/^équipement non constaté \(/) });
    expect(absent.entitlement(at).amountCents).toBe(0);
  });

  it('the equipment found by the Assurance maladie: the gate opens (280 + AAT 22.5 = 302.5 points)', () => {
    const h = fs2024();
    h.measure('V1_SESAM_VITALE', { kind: 'participation', participates: true });
    const e = h.entitlement(at);
    expect(indicator(e, 'V1_SESAM_VITALE')).toMatchObject({
      met: true,
      evidence: [h.declaration.at(-1)!.eventId],
      reason: expect.stringMatching(/^équipement constaté par l’Assurance maladie \(addendum 8/),
    });
    expect(e.volet1.met).toBe(true);
    expect(e.totalPoints.toString()).toBe('605/2');
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

  it('INT-3: SESAM-Vitale add. 8 is neutralised for 2023, deemed met without any measure', () => {
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

  it('INT-12 in integers: 2/3 at the edge with counts past 2^53 once multiplied (fse × 3 ≥ total × 2 on bigint)', () => {
    // 6 004 799 503 160 657 × 3 = 18 014 398 509 481 971 < 9 007 199 254 740 986 × 2 = 18 014 398 509 481 972: a float says ≥.
    expect(tele(6_004_799_503_160_657, 9_007_199_254_740_986).met).toBe(false);
    expect(tele(6_004_799_503_160_658, 9_007_199_254_740_986).met).toBe(true);
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
    expect(r.reason).toBe('FSE 137 / 200 actes = 68,5 % ≥ 2/3 (à partir de juin 2023 (1re FSE en mai 2023))');
  });

  it('a doctor who tele-transmitted the year before is measured over the whole year', () => {
    const h = gp();
    const months = [
      { month: '2023-01', fse: 0, total: 100 },
      { month: '2023-06', fse: 100, total: 100 },
    ];
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', months, teletransmittedPreviousYear: true });
    expect(indicator(h.entitlement(), 'V1_TELETRANSMISSION')).toMatchObject({
      met: false,
      reason: 'FSE 100 / 200 actes = 50 % < 2/3 (année 2023 entière (télétransmission en 2022))',
    });
  });

  it('api.md: whole-year counts without teletransmittedPreviousYear are the measured period', () => {
    const h = gp();
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 900, denominator: 1000 });
    expect(indicator(h.entitlement(), 'V1_TELETRANSMISSION')).toMatchObject({ met: true, reason: 'FSE 900 / 1000 actes = 90 % ≥ 2/3 (taux annuel transmis)' });
  });

  it('the first FSE date, when given, decides the period', () => {
    const h = gp();
    const months = [
      { month: '2023-09', fse: 1, total: 10 },
      { month: '2023-10', fse: 9, total: 10 },
    ];
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', months, teletransmittedPreviousYear: false, firstFseOn: '2023-09-28' });
    expect(indicator(h.entitlement(), 'V1_TELETRANSMISSION').reason).toMatch(/^FSE 9 \/ 10 actes = 90 % ≥ 2\/3 \(à partir de octobre 2023/);
  });

  it('INT-10 « Nombre d’actes en FSE / Total actes tous régimes »: no act at all, or an empty measured period, is not met', () => {
    // First FSE in December: the period starts in January of the next year, so nothing is measured.
    const december = gp();
    december.measure('V1_TELETRANSMISSION', {
      kind: 'teletransmission',
      months: [
        { month: '2023-11', fse: 0, total: 50 },
        { month: '2023-12', fse: 40, total: 50 },
      ],
      teletransmittedPreviousYear: false,
    });
    expect(indicator(december.entitlement(), 'V1_TELETRANSMISSION')).toMatchObject({
      met: false,
      reason: 'aucun acte sur la période (à partir de janvier 2024 (1re FSE en décembre 2023)) : dénominateur nul, non atteint (INT-10)',
    });
    const noFse = gp();
    noFse.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', months: [{ month: '2023-03', fse: 0, total: 80 }], teletransmittedPreviousYear: false });
    expect(indicator(noFse.entitlement(), 'V1_TELETRANSMISSION')).toMatchObject({
      met: false,
      reason: 'aucune FSE sur la période : aucun acte télétransmis (INT-10)',
    });
    const noAct = gp();
    noAct.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', months: [{ month: '2023-01', fse: 0, total: 0 }], teletransmittedPreviousYear: true });
    expect(indicator(noAct.entitlement(), 'V1_TELETRANSMISSION')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/^aucun acte sur la période \(année 2023 entière .*\(INT-10\)$/),
    });
  });
});

describe('guide §I.1 and INT-1: Ségur software with a HAS-certified LAP', () => {
  // Adapted (rule 2): a SONS pre-fill no longer carries the LAP; the doctor declares it, here the pre-filled software.
  it('pre-filled from SONS, LAP declared by the doctor, not a first year: met with no justificatif', () => {
    const h = cardio();
    h.prefillSegur();
    h.declareSegur();
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/pré-rempli \(SONS\), LAP Éditeur LAP Prescripteur \(certification définitive\) ; pas de justificatif requis \(INT-1\)/),
    });
  });

  it('declared but not pre-filled: met only once a justificatif is validated by the CPAM', () => {
    const pending = cardio();
    pending.declareSegur();
    pending.justificatif('V1_SEGUR_LAP');
    expect(indicator(pending.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: false,
      reason: 'justificatif requis (non pré-rempli) pour SEGUR (logiciel référencé Ségur), LAP (LAP certifié HAS) : non encore validé par la CPAM',
    });

    const rejected = cardio();
    rejected.declareSegur();
    rejected.justificatif('V1_SEGUR_LAP', 'rejected');
    expect(indicator(rejected.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({ met: false, reason: expect.stringMatching(/rejeté par la CPAM$/) });

    const none = cardio();
    none.declareSegur();
    expect(indicator(none.entitlement(), 'V1_SEGUR_LAP').reason).toBe(
      'justificatif requis (non pré-rempli) pour SEGUR (logiciel référencé Ségur), LAP (LAP certifié HAS) : non transmis',
    );

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

  it('declaring a software other than the pre-filled one makes it not pre-filled; a new version of the same does not', () => {
    const changed = cardio();
    changed.prefillSegur({ name: 'Ancien' });
    changed.declareSegur({ name: 'Nouveau' });
    expect(indicator(changed.entitlement(), 'V1_SEGUR_LAP').reason).toMatch(/^justificatif requis \(non pré-rempli\) pour SEGUR .*, LAP /);

    const upgraded = cardio();
    upgraded.prefillSegur({ version: '1.0' });
    upgraded.declareSegur({ version: '2.0', name: ' logiciel ' });
    expect(indicator(upgraded.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
  });

  // Adapted (rule 2 and INT-7): the first year of a pre-filled doctor needs the LAP justificatif only.
  it('first year of declaration requires a justificatif even when pre-filled: the LAP one (guide §I.1.c: « seul le justificatif concernant … le LAP »)', () => {
    const h = new History().opened().profile('cardiologie', { firstDeclarationYear: 2023 });
    h.prefillSegur();
    h.declareSegur();
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').reason).toBe(
      'justificatif requis (première année de déclaration selon la fiche du médecin) pour LAP (LAP certifié HAS) : non transmis',
    );
    h.justificatif('V1_SEGUR_LAP', 'validated', { subjects: ['LAP'] });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({ met: true, reason: expect.stringMatching(/validé par la CPAM pour LAP/) });
  });

  describe('INT-6, guide §I.1.d « Première année de saisie des indicateurs par le médecin »', () => {
    // Pre-filled from SONS and the LAP declared: only the first year asks for a justificatif (LAP).
    const prefilled = (h: History) => {
      h.prefillSegur();
      h.declareSegur();
      return indicator(h.entitlement(), 'V1_SEGUR_LAP');
    };

    it('an earlier campaign recorded here with none of the doctor’s declarations: a year the doctor was not there, so 2023 is the first', () => {
      const r = prefilled(cardio().earlierCampaign(2022));
      expect(r).toMatchObject({
        met: false,
        reason:
          'justificatif requis (première année de déclaration : aucune déclaration du médecin lors de la campagne 2022 enregistrée ici) pour LAP (LAP certifié HAS) : non transmis',
      });
    });

    it('the doctor’s declarations in an earlier campaign recorded here: not the first year', () => {
      expect(prefilled(cardio().earlierCampaign(2022).declaredIn(2022))).toMatchObject({
        met: true,
        reason: expect.stringContaining('pas de justificatif requis (INT-1)'),
      });
    });

    it('the profile’s firstDeclarationYear decides before anything recorded here', () => {
      const h = new History().opened().profile('cardiologie', { firstDeclarationYear: 2019 }).earlierCampaign(2022);
      expect(prefilled(h)).toMatchObject({ met: true });
    });

    it('no earlier campaign recorded: a convention starting during the year makes it the first; otherwise firstYearWithoutHistory decides (default false)', () => {
      const joined = new History().opened().profile('cardiologie', { convention: { status: 'conventionne', since: '2023-03-01' } });
      expect(prefilled(joined)).toMatchObject({
        met: false,
        reason: expect.stringContaining('première année de déclaration : conventionné depuis le 01/03/2023'),
      });
      const older = new History().opened().profile('cardiologie', { convention: { status: 'conventionne', since: '2010-09-01' } });
      expect(prefilled(older)).toMatchObject({ met: true });
      const byParameter = new History().opened().profile('cardiologie');
      byParameter.amendedData({ parameter: 'firstYearWithoutHistory', value: true }, '2024-01-02T10:00:00Z');
      expect(prefilled(byParameter)).toMatchObject({
        met: false,
        reason: expect.stringContaining('première année de déclaration faute d’historique ici, selon firstYearWithoutHistory'),
      });
    });

    it('the earlier campaign as known at knownAt: recorded after it, it says nothing yet', () => {
      const h = cardio();
      h.prefillSegur();
      h.declareSegur();
      h.earlierCampaign(2022, '2024-03-01T10:00:00Z');
      expect(indicator(h.entitlement('2024-02-20T00:00:00Z'), 'V1_SEGUR_LAP').met).toBe(true);
      expect(indicator(h.entitlement('2024-03-02T00:00:00Z'), 'V1_SEGUR_LAP').met).toBe(false);
    });
  });

  it('annex 1: an ophthalmologist is exempt from the LAP part, even on a SONS pre-fill alone; a cardiologist is not', () => {
    const oph = new History().opened().profile('ophtalmologie');
    oph.prefillSegur({}, false);
    expect(indicator(oph.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({ met: true, reason: expect.stringMatching(/exonérée de LAP/) });
    const c = cardio();
    c.declareSegur({}, false);
    expect(indicator(c.entitlement(), 'V1_SEGUR_LAP').reason).toBe('LAP non déclaré (spécialité cardiologie non exonérée, annexe 1)');
  });

  // Adapted: dates as the caisse writes them, the deadline named.
  it('software acquired after 31/01/2024 does not count; on 31/01/2024 it does', () => {
    const late = cardio();
    late.prefillSegur({ acquiredOn: '2024-02-01' });
    late.declareSegur({ acquiredOn: '2024-02-01' });
    expect(indicator(late.entitlement(), 'V1_SEGUR_LAP').reason).toBe(
      'logiciel Éditeur Logiciel 1.0 acquis le 01/02/2024, après la date limite Ségur du 31/01/2024',
    );
    const onTime = cardio();
    onTime.prefillSegur({ acquiredOn: '2024-01-31' });
    onTime.declareSegur({ acquiredOn: '2024-01-31' });
    expect(indicator(onTime.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
  });

  it('a justificatif sent after 31/01/2024 does not count (letter: justificatifs until 31 January)', () => {
    const h = cardio();
    h.declareSegur();
    h.justificatif('V1_SEGUR_LAP', 'validated', { effectiveAt: '2024-02-01T09:00:00+01:00' });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/justificatif envoyé après la date limite Ségur du 31\/01\/2024 \(le 01\/02\/2024\) : il ne compte pas/),
    });
  });
});

describe('second reading of guide §I.1 (rules 1–5, INT-1, INT-7)', () => {
  it('guide §I.1.b: « le sous indicateur LAP certifié HAS ne sera pas renseigné »: a SONS pre-fill’s lapCertified meets nothing', () => {
    const h = cardio();
    h.prefillSegur({}, true);
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/^LAP non déclaré : le pré-remplissage SONS ne renseigne pas le LAP/),
    });
    h.declareSegur();
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
  });

  it('rule 2: lapCertified without a named LAP (and every declaration stored before `lap`) counts as the LAP declared unnamed', () => {
    const h = cardio();
    h.declareSegur({}, true, { lap: null });
    h.justificatif('V1_SEGUR_LAP', 'validated');
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({ met: true, reason: expect.stringMatching(/LAP certifié HAS déclaré sans nom/) });
  });

  it('guide §I.1.c « la 1ère année ou si modification »: a LAP other than the one of the last validated justificatif needs a new one; a new version alone does not', () => {
    const changed = cardio();
    changed.earlierYear(2022, {}, true, { lap: { name: 'Ancien LAP' } });
    changed.prefillSegur();
    changed.declareSegur({}, true, { lap: { name: 'Nouveau LAP' } });
    expect(indicator(changed.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: false,
      reason: 'justificatif requis (logiciel ou LAP modifié depuis le justificatif validé envoyé le 11/01/2023) pour LAP (LAP certifié HAS) : non transmis',
    });

    const upgraded = cardio();
    upgraded.earlierYear(2022, {}, true, { lap: { name: 'Ancien LAP', version: '3' } });
    upgraded.prefillSegur();
    upgraded.declareSegur({ version: '9.0' }, true, { lap: { name: ' ANCIEN lap ', version: '4' } });
    expect(indicator(upgraded.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/pas de justificatif requis \(INT-1\)/),
    });
  });

  it('seed 002 « jusqu’au 31 janvier 2024 pour s’équiper, déclarer … et transmettre leur justificatif »: a declaration after 31/01/2024 does not count', () => {
    const h = cardio();
    h.prefillSegur();
    h.declareSegur({}, true, { effectiveAt: '2024-02-02T10:00:00+01:00' });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/^LAP non déclaré .* ; déclaration du 02\/02\/2024 ignorée : déclaré après la date limite Ségur du 31\/01\/2024$/),
    });
    const only = cardio();
    only.declareSegur({}, true, { effectiveAt: '2024-02-01T00:00:00+01:00' });
    expect(indicator(only.entitlement(), 'V1_SEGUR_LAP').reason).toBe(
      'déclaration du 01/02/2024 ignorée : déclaré après la date limite Ségur du 31/01/2024 ; aucun logiciel Ségur pré-rempli (SONS)',
    );
  });

  it('INT-8 « justificatifs … jusqu’au 31 janvier 2024 » by post: received on 2 Feb, postmarked on 30 Jan, it counts only when paperDatedBy is postmark', () => {
    const h = cardio();
    h.declareSegur({}, true, { effectiveAt: '2024-01-10T10:00:00+01:00' });
    h.justificatif('V1_SEGUR_LAP', 'validated', { effectiveAt: '2024-02-02T10:00:00+01:00', postmarkedAt: '2024-01-30T10:00:00+01:00' });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: false,
      reason: expect.stringContaining(
        'justificatif envoyé après la date limite Ségur du 31/01/2024 (le 02/02/2024 (envoi papier reçu le 02/02/2024, cachet de la poste du 30/01/2024 : daté par sa réception, INT-8)) : il ne compte pas',
      ),
    });
    h.amendedData({ parameter: 'paperDatedBy', value: 'postmark' }, '2024-03-01T10:00:00Z');
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: true,
      reason: expect.stringContaining(
        'validé par la CPAM pour SEGUR, LAP (envoi papier reçu le 02/02/2024, cachet de la poste du 30/01/2024 : daté par le cachet de la poste, INT-8)',
      ),
    });
  });

  it('rule 3: a justificatif sent by 31/01/2024 counts once validated, even when the CPAM validates it later', () => {
    const h = cardio();
    h.declareSegur();
    h.justificatif('V1_SEGUR_LAP', undefined, { effectiveAt: '2024-01-31T23:30:00+01:00' });
    const id = (h.declaration.at(-1)!.data as { justificatifId: string }).justificatifId;
    h.declaration.push({
      type: 'JustificatifValidated',
      data: { rpps: h.rpps, year: 2023, justificatifId: id, indicator: 'V1_SEGUR_LAP' },
      eventId: 'late-validation',
      metadata: {
        recordedAt: '2024-03-15T10:00:00.000Z',
        effectiveAt: '2024-03-15T10:00:00.000Z',
        channel: 'back-office',
        actor: { sub: 'a', role: 'agent', caisse: '441' },
      },
    });
    expect(indicator(h.entitlement('2024-03-01T00:00:00Z'), 'V1_SEGUR_LAP').met).toBe(false);
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
  });

  it('INT-7: a justificatif counts for the subjects it proves; the needed ones must all be validated', () => {
    const h = cardio();
    h.declareSegur();
    h.justificatif('V1_SEGUR_LAP', 'validated', { subjects: ['LAP'] });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').reason).toBe('justificatif requis (non pré-rempli) pour SEGUR (logiciel référencé Ségur) : non transmis');
    h.justificatif('V1_SEGUR_LAP', 'validated', { subjects: ['SEGUR'] });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
  });

  it('INT-7, guide §I.1.c: a provisional or older-référentiel LAP also needs the editor’s attestation that certification was started (LAP_CERTIFICATION_EN_COURS)', () => {
    const h = cardio();
    h.declareSegur({}, true, { lap: { certification: 'provisional' } });
    h.justificatif('V1_SEGUR_LAP', 'validated');
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').reason).toMatch(/pour LAP_CERTIFICATION_EN_COURS \(démarche de certification engagée\) : /);
    h.justificatif('V1_SEGUR_LAP', 'validated', { subjects: ['LAP_CERTIFICATION_EN_COURS'] });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
  });

  it('a justificatif proves the software and LAP in force when it was sent: a later change of software needs a new one', () => {
    const h = cardio();
    h.declareSegur({ name: 'Premier' }, true, { effectiveAt: '2024-01-10T10:00:00+01:00' });
    h.justificatif('V1_SEGUR_LAP', 'validated', { effectiveAt: '2024-01-12T10:00:00+01:00', proves: { segurSoftware: { name: 'Premier' }, lap: {} } });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
    h.declareSegur({ name: 'Second' }, true, { effectiveAt: '2024-01-20T10:00:00+01:00' });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/logiciel ou LAP modifié depuis le justificatif validé envoyé le 12\/01\/2024\) pour SEGUR/),
    });
  });

  it('« celle que vous avez déjà envoyée fera foi » (seed 000): an earlier validation counts for the LAP when it names the same LAP, for the Ségur software only from campaign 2023 on', () => {
    const from2022 = cardio();
    from2022.earlierYear(2022, {}, true, { lap: {} });
    from2022.declareSegur();
    expect(indicator(from2022.entitlement(), 'V1_SEGUR_LAP').reason).toBe(
      'justificatif requis (non pré-rempli) pour SEGUR (logiciel référencé Ségur) : non transmis',
    );

    const unnamed = cardio();
    unnamed.earlierYear(2022, {}, true, { lap: null, subjects: null });
    unnamed.declareSegur();
    expect(indicator(unnamed.entitlement(), 'V1_SEGUR_LAP').reason).toMatch(
      /pour SEGUR \(logiciel référencé Ségur\), LAP \(LAP certifié HAS\) : non transmis$/,
    );

    const h = new History('10000000017', 2024, FS_2024)
      .opened({ opensAt: '2024-12-09T00:00:00+01:00', closesAt: '2025-02-04T23:59:59.999+01:00', recordedAt: '2024-12-01T00:00:00Z' })
      .profile('cardiologie');
    h.earlierYear(2023, {}, true, { lap: {} });
    h.declareSegur({}, true, { effectiveAt: '2024-12-15T10:00:00+01:00' });
    expect(indicator(h.entitlement('2025-06-30T00:00:00Z'), 'V1_SEGUR_LAP')).toMatchObject({
      met: true,
      reason: expect.stringMatching(
        /SEGUR : justificatif validé lors de la campagne 2023, il fait foi \(INT-1\) ; LAP : justificatif validé lors de la campagne 2023/,
      ),
    });
  });

  it('rule 4 « pour le sujet Ségur seulement à partir de 2023 » is campaign data (segurCarryOverFrom): amended to 2022, a 2022 Ségur validation carries over from when the amendment is known', () => {
    const h = cardio();
    h.earlierYear(2022, {}, true, { lap: {} });
    h.declareSegur();
    expect(FS_2023.parameters.segurCarryOverFrom).toBe(2023);
    h.amendedData({ parameter: 'segurCarryOverFrom', value: 2022 }, '2024-03-01T00:00:00Z');
    expect(indicator(h.entitlement('2024-02-28T00:00:00Z'), 'V1_SEGUR_LAP')).toMatchObject({
      met: false,
      reason: 'justificatif requis (non pré-rempli) pour SEGUR (logiciel référencé Ségur) : non transmis',
    });
    expect(indicator(h.entitlement('2024-03-02T00:00:00Z'), 'V1_SEGUR_LAP')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/SEGUR : justificatif validé lors de la campagne 2022, il fait foi \(INT-1\)/),
    });
    expect(h.entitlement('2024-03-02T00:00:00Z').amendments).toHaveLength(1);
  });

  it('rule 5, guide §I.1.c NB: a DPI d’établissement is never pre-filled and is justified by the establishment’s attestation (DPI_USAGE), not an invoice', () => {
    const h = cardio();
    h.prefillSegur();
    h.declareSegur({ kind: 'DPI_ETABLISSEMENT' });
    h.justificatif('V1_SEGUR_LAP', 'validated', { subjects: ['SEGUR', 'LAP'] });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').reason).toBe(
      'justificatif requis (non pré-rempli) pour DPI_USAGE (attestation d’utilisation du DPI par l’établissement) : non transmis',
    );
    h.justificatif('V1_SEGUR_LAP', 'validated', { subjects: ['DPI_USAGE'] });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({ met: true, reason: expect.stringMatching(/\(DPI de l’établissement\) déclaré/) });
  });

  it('rule 5: whether a DPI also needs a LAP is the parameter dpiRequiresLap', () => {
    const h = cardio();
    h.declareSegur({ kind: 'DPI_ETABLISSEMENT' }, false);
    h.justificatif('V1_SEGUR_LAP', 'validated', { subjects: ['DPI_USAGE'] });
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').reason).toMatch(/^LAP non déclaré/);
    h.amendedData({ parameter: 'dpiRequiresLap', value: false }, '2024-02-20T10:00:00Z');
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/LAP non exigé pour le DPI de l’établissement \(dpiRequiresLap\)/),
    });
  });

  it('reference lists as known at knownAt: a later load of segurSolutions or hasLap un-meets, and the reason names the list', () => {
    const h = cardio();
    h.declareSegur({}, true, { lap: null });
    h.justificatif('V1_SEGUR_LAP', 'validated');
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').reason).toMatch(/liste segurSolutions non chargée, liste hasLap non chargée$/);
    h.amendedData({ list: 'segurSolutions', add: [{ editor: ' éditeur ', name: 'LOGICIEL' }] }, '2024-03-01T10:00:00Z');
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').met).toBe(true);
    h.amendedData({ list: 'hasLap', add: [{ editor: 'Éditeur LAP', name: 'Prescripteur' }] }, '2024-03-02T10:00:00Z');
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').reason).toBe('LAP déclaré sans nom : absent de la liste hasLap');
    h.amendedData(
      { list: 'segurSolutions', remove: [{ editor: 'Éditeur', name: 'Logiciel' }], add: [{ editor: 'Autre', name: 'Autre' }] },
      '2024-03-03T10:00:00Z',
    );
    expect(indicator(h.entitlement(), 'V1_SEGUR_LAP').reason).toBe('logiciel Éditeur Logiciel absent de la liste segurSolutions');
    expect(indicator(h.entitlement('2024-03-01T12:00:00Z'), 'V1_SEGUR_LAP').met).toBe(true);
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
    expect(indicator(h.entitlement(), 'V1_HORAIRES')).toMatchObject({ met: true, reason: 'horaires affichés : déclaration sur amelipro du 04/02/2024' });
  });

  it('« Trois possibilités pour déclarer ses horaires »: the reason names the route, dates it in Paris, and says which value was ignored for its deadline', () => {
    // A tick at 00:30 Paris on 11/12/2023 is the 11th (the 10th in UTC).
    const tick = gp();
    tick.declare('V1_HORAIRES', { displayed: true }, { effectiveAt: '2023-12-11T00:30:00+01:00' });
    expect(indicator(tick.entitlement(), 'V1_HORAIRES').reason).toBe('horaires affichés : déclaration sur amelipro du 11/12/2023');
    // A paper form is the doctor's tick (guide §III, INT-8), not the caisse's back office.
    const paper = gp();
    paper.declare('V1_HORAIRES', { displayed: true }, { channel: 'paper', effectiveAt: '2024-01-15T10:00:00+01:00' });
    expect(indicator(paper.entitlement(), 'V1_HORAIRES')).toMatchObject({ met: true, reason: 'horaires affichés : formulaire papier du 15/01/2024' });
    // « au plus tard le 31/12/2023 » in the hours service: a later entry is recorded and ignored, and the reason says so.
    const late = gp();
    late.prefillHoraires(true, '2024-01-02T09:00:00+01:00');
    expect(indicator(late.entitlement(), 'V1_HORAIRES')).toMatchObject({
      met: false,
      reason:
        'horaires ni pré-remplis, ni déclarés dans les délais ; ignoré (guide §I.5) : service de saisie des horaires (pré-remplissage) du 02/01/2024 après le 31/12/2023 (date limite du service de saisie des horaires)',
    });
    // « demander à sa caisse de saisir cet indicateur dans le Back Office au plus tard le 31/01/2024 »
    late.declare('V1_HORAIRES', { displayed: true }, { channel: 'back-office', effectiveAt: '2024-02-01T09:00:00+01:00' });
    expect(indicator(late.entitlement(), 'V1_HORAIRES').reason).toContain(
      'saisie par la caisse (back office) du 01/02/2024 après le 31/01/2024 (date limite du back office de la caisse)',
    );
  });

  it('hoursServiceDeadline and hoursBackOfficeDeadline are campaign parameters: an amendment moves them from when it is known', () => {
    const h = gp();
    h.prefillHoraires(true, '2024-01-05T09:00:00+01:00');
    h.amendedData({ parameter: 'hoursServiceDeadline', value: '2024-01-15T23:59:59.999+01:00' }, '2024-03-01T00:00:00Z');
    expect(indicator(h.entitlement('2024-02-28T00:00:00Z'), 'V1_HORAIRES').met).toBe(false);
    expect(indicator(h.entitlement('2024-03-02T00:00:00Z'), 'V1_HORAIRES')).toMatchObject({
      met: true,
      reason: 'horaires affichés : service de saisie des horaires (pré-remplissage) du 05/01/2024',
    });
    const b = gp();
    b.declare('V1_HORAIRES', { displayed: true }, { channel: 'back-office', effectiveAt: '2024-02-10T09:00:00+01:00' });
    b.amendedData({ parameter: 'hoursBackOfficeDeadline', value: '2024-02-15T23:59:59.999+01:00' }, '2024-03-01T00:00:00Z');
    expect(indicator(b.entitlement('2024-02-28T00:00:00Z'), 'V1_HORAIRES').met).toBe(false);
    expect(indicator(b.entitlement('2024-03-02T00:00:00Z'), 'V1_HORAIRES').met).toBe(true);
  });

  it('the CPAM back office counts up to 31/01/2024, judged on effective time', () => {
    const inTime = gp();
    inTime.declare(
      'V1_HORAIRES',
      { displayed: true },
      { channel: 'back-office', effectiveAt: '2024-01-31T17:00:00+01:00', recordedAt: '2024-02-20T09:00:00Z' },
    );
    expect(indicator(inTime.entitlement(), 'V1_HORAIRES').met).toBe(true);
    const late = gp();
    late.declare('V1_HORAIRES', { displayed: true }, { channel: 'back-office', effectiveAt: '2024-02-01T09:00:00+01:00' });
    expect(indicator(late.entitlement(), 'V1_HORAIRES').met).toBe(false);
  });

  it('guide §I.5, each route within its own deadline: a back-office entry on 02/02/2024 is late though the window is still open; the extension to 11/02 moves the tick’s deadline only', () => {
    // The caisse's back office « au plus tard le 31/01/2024 », judged on hoursBackOfficeDeadline, not on the window (open until 04/02).
    const backOffice = gp();
    backOffice.declare('V1_HORAIRES', { displayed: true }, { channel: 'back-office', effectiveAt: '2024-02-02T09:00:00+01:00' });
    expect(indicator(backOffice.entitlement(), 'V1_HORAIRES')).toMatchObject({
      met: false,
      reason: expect.stringContaining('saisie par la caisse (back office) du 02/02/2024 après le 31/01/2024 (date limite du back office de la caisse)'),
    });
    // The extension (seed 002) moves the doctor's tick to 11/02, neither fixed date.
    const extended = gp();
    extended.extended('2024-02-11T23:59:59.999+01:00', '2024-01-31T11:00:00Z');
    extended.declare('V1_HORAIRES', { displayed: true }, { channel: 'back-office', effectiveAt: '2024-02-08T09:00:00+01:00' });
    extended.prefillHoraires(true, '2024-02-08T09:00:00+01:00');
    expect(indicator(extended.entitlement(), 'V1_HORAIRES').met).toBe(false);
    extended.declare('V1_HORAIRES', { displayed: true }, { effectiveAt: '2024-02-08T10:00:00+01:00' });
    expect(indicator(extended.entitlement(), 'V1_HORAIRES')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/^horaires affichés : déclaration sur amelipro du 08\/02\/2024 ; ignorés \(guide §I.5\)/),
    });
  });

  it('guide §I.5: a value outside its route’s deadline does not correct one inside it (a late back-office « non » leaves the hours service’s « oui »)', () => {
    const h = gp();
    h.prefillHoraires(true, '2023-12-20T10:00:00+01:00');
    h.declare('V1_HORAIRES', { displayed: false }, { channel: 'back-office', effectiveAt: '2024-02-01T09:00:00+01:00' });
    expect(indicator(h.entitlement(), 'V1_HORAIRES')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/^horaires affichés : service de saisie des horaires \(pré-remplissage\) du 20\/12\/2023 ; ignoré/),
    });
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

  it('INT-12 « compared exactly in integers, never rounded first »: at the edge of 70 % with safe-integer counts past 2^53 once × 100', () => {
    // 100 × 6 305 039 478 318 690 = 630 503 947 831 869 000 < 70 × 9 007 199 254 740 986 = 630 503 947 831 869 020:
    // short by 20, where a float of numerator × 100 rounds up by 56 and would call it met.
    expect(aat(6_305_039_478_318_690, 9_007_199_254_740_986).met).toBe(false);
    // One more act: 630 503 947 831 869 100 ≥ … 020.
    expect(aat(6_305_039_478_318_691, 9_007_199_254_740_986).met).toBe(true);
    expect(aat(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).met).toBe(true);
    expect(aat(0, Number.MAX_SAFE_INTEGER).met).toBe(false);
  });

  it('INT-12: a target with decimals is an exact rational (33.3 %: 333/1000 is met, 332 999/1 000 000 is not)', () => {
    const h = cardio();
    h.rate('V2_SPE', 332_999, 1_000_000);
    h.amended('V2_SPE', { target: 33.3 }, '2024-03-01T00:00:00Z');
    expect(indicator(h.entitlement(), 'V2_SPE').met).toBe(false);
    h.rate('V2_SPE', 333, 1000);
    expect(indicator(h.entitlement(), 'V2_SPE').met).toBe(true);
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

describe('INT-2: DCMT neutralised for general practitioners', () => {
  it('a GP is deemed met without a measure; a cardiologist needs 90 %', () => {
    expect(indicator(gp().entitlement(), 'V2_DCMT')).toMatchObject({ met: true });
    const c = cardio();
    c.rate('V2_DCMT', 89, 100);
    expect(indicator(c.entitlement(), 'V2_DCMT').met).toBe(false);
  });

  it('in "excluded" mode the GP’s DCMT earns nothing', () => {
    const excluded: Ruleset = { ...FS_2023, parameters: { ...FS_2023.parameters, dcmtNeutralisation: 'excluded' } };
    const h = gp().everythingMet();
    const e = h.entitlement(undefined, excluded);
    expect(indicator(e, 'V2_DCMT').met).toBe(false);
    expect(e.totalPoints.toString()).toBe('2281/2'); // 1 163 − 22.5 = 1 140.5
  });
});

describe('INT-4: the MSS report', () => {
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
    h.declareSegur();
    h.prefillHoraires(true);
    h.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 9, denominator: 10, teletransmittedPreviousYear: true });
    h.rate('V2_AAT', 80, 100);
    h.rate('V2_MSS', 1, 100);
    const e = h.entitlement();
    const aat = indicator(e, 'V2_AAT');
    expect(aat.points.toString()).toBe('9699/278'); // 30.5 × 318 / 278
    expect(aat.reason).toMatch(/report MSS \(INT-4\) : 30,5 × 159\/139 = 34,888 points/);
    // GP: DCMT deemed met, so 22.5 × 318/278 too; 280 + (30.5 + 22.5) × 318/278 = 47347/139 = 340.6258…
    expect(e.totalPoints.toString()).toBe(
      Rational.of(280)
        .add(Rational.fromDecimal(53).mul(Rational.of(318, 278)))
        .toString(),
    );
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

  it('INT-8 « formulaires papier datés de leur réception par la caisse »: received after the close, postmarked before, it counts only once paperDatedBy is postmark', () => {
    const h = cardio();
    // Received on 6 Feb (after the 4 Feb close), postmarked on 3 Feb, keyed by an agent on 7 Feb.
    const form = h.declare(
      'V2_CODAGE',
      { answer: true },
      { channel: 'paper', effectiveAt: '2024-02-06T10:00:00+01:00', postmarkedAt: '2024-02-03T12:00:00+01:00', recordedAt: '2024-02-07T10:00:00Z' },
    );
    expect(indicator(h.entitlement(), 'V2_CODAGE')).toMatchObject({
      met: false,
      reason:
        'non déclaré pendant la campagne : formulaire papier daté du 06/02/2024, hors de la fenêtre de déclaration (envoi papier reçu le 06/02/2024, cachet de la poste du 03/02/2024 : daté par sa réception, INT-8)',
      evidence: [form.eventId],
    });
    h.amendedData({ parameter: 'paperDatedBy', value: 'postmark' }, '2024-03-01T10:00:00Z');
    expect(indicator(h.entitlement(), 'V2_CODAGE')).toMatchObject({
      met: true,
      reason:
        'déclaré « oui » avec attestation sur l’honneur (envoi papier reçu le 06/02/2024, cachet de la poste du 03/02/2024 : daté par le cachet de la poste, INT-8) ; non rémunéré : volet 1 non atteint',
    });
    // Known before the amendment, the receipt still dates it.
    expect(indicator(h.entitlement('2024-02-20T00:00:00Z'), 'V2_CODAGE').met).toBe(false);
  });

  it('INT-8: a paper form received inside the window counts on its receipt, whatever its postmark says by default', () => {
    const h = cardio();
    h.declare('V2_VIDEO', { answer: true }, { channel: 'paper', effectiveAt: '2024-02-02T10:00:00+01:00', postmarkedAt: '2024-01-31T10:00:00+01:00' });
    expect(indicator(h.entitlement(), 'V2_VIDEO')).toMatchObject({
      met: true,
      reason: expect.stringContaining('cachet de la poste du 31/01/2024 : daté par sa réception, INT-8'),
    });
  });

  it('guide §II.5 « accueillir un étudiant en médecine réalisant un stage ambulatoire de niveau 1 ou des étudiants réalisant un stage d’externat en médecine générale »: the reason says what was declared', () => {
    const h = cardio();
    h.declare('V2_MAITRE_STAGE', { answer: true });
    expect(indicator(h.entitlement(), 'V2_MAITRE_STAGE')).toMatchObject({
      met: true,
      label: 'Encadrement des jeunes étudiants en médecine (maître de stage)',
      reason: expect.stringMatching(
        /^déclaré « oui » \(accueillir dans l’année un interne en médecine en stage ambulatoire de niveau 1 ou des étudiants en stage d’externat en médecine générale\) avec attestation sur l’honneur/,
      ),
    });
  });

  it('INT-11: a declaration counts when effective within the window, whether or not « Transmettre » followed', () => {
    const without = cardio();
    without.declare('V2_VIDEO', { answer: true }, { effectiveAt: '2024-01-15T10:00:00+01:00' });
    expect(indicator(without.entitlement(), 'V2_VIDEO').met).toBe(true);
    expect(without.declaration.some((e) => e.type === 'DeclarationTransmitted')).toBe(false);
  });

  it('coordination needs an allowed modality; connected equipment an allowed device', () => {
    const h = cardio();
    h.declare('V2_COORDINATION', { answer: true, modalities: ['GROUPE_QUALITE'] });
    h.declare('V2_EQUIPEMENT_CONNECTE', { answer: true, devices: ['ECG'] });
    const e = h.entitlement();
    expect(indicator(e, 'V2_COORDINATION').met).toBe(false);
    expect(indicator(e, 'V2_EQUIPEMENT_CONNECTE').met).toBe(true);
  });

  it('INT-5, guide §II.4: ASALEE counts for services only « si pas déclaré pour l’indicateur prise en charge coordonnée »', () => {
    const both = cardio();
    both.declare('V2_COORDINATION', { answer: true, modalities: ['ASALEE'] });
    both.declare('V2_SERVICES_PATIENTS', { answer: true, modalities: ['ASALEE'] });
    const e = both.entitlement();
    expect(indicator(e, 'V2_COORDINATION').met).toBe(true);
    expect(indicator(e, 'V2_SERVICES_PATIENTS')).toMatchObject({ met: false, reason: expect.stringMatching(/ASALEE/) });

    // Issue 13.2: coordination [ASALEE, MSP] with services [ASALEE] used to pay services (490 €).
    const other = cardio();
    other.declare('V2_COORDINATION', { answer: true, modalities: ['ASALEE', 'MSP'] });
    other.declare('V2_SERVICES_PATIENTS', { answer: true, modalities: ['ASALEE'] });
    expect(indicator(other.entitlement(), 'V2_SERVICES_PATIENTS')).toMatchObject({ met: false, points: expect.anything() });
    expect(indicator(other.entitlement(), 'V2_SERVICES_PATIENTS').points.isZero()).toBe(true);

    // Services met through another allowed modality; ASALEE for services alone when not declared for coordination.
    const another = cardio();
    another.declare('V2_COORDINATION', { answer: true, modalities: ['ASALEE'] });
    another.declare('V2_SERVICES_PATIENTS', { answer: true, modalities: ['ASALEE', 'CLIC'] });
    expect(indicator(another.entitlement(), 'V2_SERVICES_PATIENTS').met).toBe(true);
    const servicesOnly = cardio();
    servicesOnly.declare('V2_COORDINATION', { answer: true, modalities: ['MSP'] });
    servicesOnly.declare('V2_SERVICES_PATIENTS', { answer: true, modalities: ['ASALEE'] });
    expect(indicator(servicesOnly.entitlement(), 'V2_SERVICES_PATIENTS').met).toBe(true);
  });
});

describe('guide §II.2 indicateur 8 (SAS): « Seuls les médecins exerçant dans un département dans lequel le SAS est déployé peuvent prétendre à cette rémunération »', () => {
  const sas = (h: History, knownAt?: string) => indicator(h.entitlement(knownAt), 'V2_SAS');
  const platform = (h: History) => h.measure('V2_SAS', { kind: 'participation', participates: true });
  /** A cardiologist of Loire-Atlantique (44) with the SAS deployed in 13 and 75, as known from 1 Dec 2023. */
  const outside44 = () => {
    const h = cardio();
    h.amendedData({ list: 'sasDepartements', add: ['13', '75'] }, '2023-12-01T10:00:00Z');
    return h;
  };

  it('« exercer dans un département dans lequel le SAS est déployé »: a doctor of 44 outside the list is not paid, whatever the platform says; once 44 is added, they are', () => {
    const h = outside44();
    const profile = h.doctor[0]!.eventId;
    platform(h);
    expect(sas(h)).toMatchObject({ met: false, evidence: [profile] });
    expect(sas(h).reason).toMatch(/^département 44 hors liste des départements où le SAS est déployé/);
    h.amendedData({ list: 'sasDepartements', add: ['44'] }, '2024-03-01T10:00:00Z');
    expect(sas(h, '2024-02-28T00:00:00Z').met).toBe(false);
    expect(sas(h)).toMatchObject({ met: true });
    expect(sas(h).reason).toContain('département 44 sur la liste des départements où le SAS est déployé');
  });

  it('the same condition holds for route (b): a validated CPTS attestation does not pay a doctor outside the list', () => {
    const h = outside44();
    h.sasAttestation();
    expect(sas(h).met).toBe(false);
    expect(sas(h).reason).toMatch(/^département 44 hors liste/);
  });

  it('the list of départements not loaded: not checked, and the reason says so', () => {
    const h = cardio();
    platform(h);
    expect(sas(h)).toMatchObject({ met: true });
    expect(sas(h).reason).toContain('liste non chargée');
  });

  it('route (a), « calculé automatiquement par l’Assurance Maladie au regard des informations transmises par la plateforme nationale SAS »', () => {
    const h = cardio();
    h.amendedData({ list: 'sasDepartements', add: ['44'] }, '2023-12-01T10:00:00Z');
    const m = platform(h);
    expect(sas(h)).toMatchObject({ met: true, evidence: [m.eventId, h.doctor[0]!.eventId] });
    expect(sas(h).reason).toMatch(/^route \(a\) : participation au SAS transmise par la plateforme nationale SAS/);
    const not = cardio();
    not.measure('V2_SAS', { kind: 'participation', participates: false });
    expect(sas(not)).toMatchObject({ met: false });
    expect(sas(not).reason).toContain('la plateforme nationale SAS ne transmet pas de participation');
  });

  it('route (b), « le président de la CPTS devra attester de la liste des médecins qui ont renseigné des disponibilités … et ont répondu aux demandes du SAS »: validated by the CPAM, it counts', () => {
    const h = cardio().volet1Met();
    h.amendedData({ list: 'sasDepartements', add: ['44'] }, '2023-12-01T10:00:00Z');
    h.amendedData({ list: 'sasSoftware', add: ['Logiciel SAS'] }, '2023-12-01T10:00:00Z');
    const link = h.sasAttestation({ software: '  logiciel sas ', decidedAt: '2024-01-25T10:00:00Z' });
    expect(sas(h)).toMatchObject({ met: true, evidence: [link.eventId, h.doctor[0]!.eventId] });
    expect(sas(h).reason).toBe(
      'route (b) : attestation du président de la CPTS « CPTS Nantes Nord » reçue le 20/01/2024, validée par la CPAM ; logiciel «   logiciel sas  » sur la liste des logiciels SAS ; département 44 sur la liste des départements où le SAS est déployé',
    );
    expect(sas(h).points.toString()).toBe('200');
    // Judged as known: before the CPAM's validation was recorded, the doctor-year does not know it.
    expect(sas(h, '2024-01-25T09:59:59Z')).toMatchObject({ met: false });
    expect(sas(h, '2024-01-25T09:59:59Z').reason).toContain('aucune attestation de président de CPTS validée par la CPAM');
  });

  it('route (b): rejected, or for SAS software off the loaded list, it does not count; the software list not loaded is not checked', () => {
    const rejected = cardio();
    rejected.sasAttestation({ decision: 'rejected', reason: 'liste non signée' });
    expect(sas(rejected)).toMatchObject({ met: false });
    expect(sas(rejected).reason).toContain('rejetée par la CPAM (liste non signée)');

    const offList = cardio();
    offList.amendedData({ list: 'sasSoftware', add: ['Logiciel SAS'] }, '2023-12-01T10:00:00Z');
    offList.sasAttestation({ software: 'Agenda maison' });
    expect(sas(offList)).toMatchObject({ met: false });
    expect(sas(offList).reason).toContain('logiciel « Agenda maison » hors liste des logiciels SAS');

    const unloaded = cardio();
    unloaded.sasAttestation({ software: 'Agenda maison' });
    expect(sas(unloaded)).toMatchObject({ met: true });
    expect(sas(unloaded).reason).toContain('logiciel « Agenda maison » non vérifié : sasSoftware, liste non chargée');
  });

  it('route (b): received by sasAttestationDeadline, by default the window’s close in force, extensions included', () => {
    // Received 8 Feb 2024: after the initial close (4 Feb), inside the extension (11 Feb) once it is known.
    const h = cardio();
    h.sasAttestation({ receivedAt: '2024-02-08T10:00:00+01:00', decidedAt: '2024-02-09T10:00:00Z' });
    expect(sas(h, '2024-02-10T00:00:00Z')).toMatchObject({ met: false });
    expect(sas(h, '2024-02-10T00:00:00Z').reason).toContain('attestation reçue après le 04/02/2024 (clôture de la campagne en vigueur) : reçue le 08/02/2024');
    h.extended('2024-02-11T23:59:59.999+01:00', '2024-02-10T12:00:00Z');
    expect(sas(h, '2024-02-10T13:00:00Z').met).toBe(true);

    // A deadline set by the caisse wins over the window.
    h.amendedData({ parameter: 'sasAttestationDeadline', value: '2024-01-31T23:59:59.999+01:00' }, '2024-03-01T10:00:00Z');
    expect(sas(h)).toMatchObject({ met: false });
    expect(sas(h).reason).toContain('après le 31/01/2024 (date limite des attestations SAS)');
  });

  it('« Aucun autre justificatif n’est requis »: a per-doctor justificatif, even validated, is not the CPTS president’s attestation', () => {
    const h = cardio();
    h.justificatif('V2_SAS', 'validated');
    expect(sas(h)).toMatchObject({ met: false });
    expect(sas(h).reason).toContain('un justificatif individuel transmis pour le SAS n’est pas une attestation du président de CPTS');
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

describe('spec « Parameters and lists a caisse can amend »: the lists and parameters used as known at knownAt', () => {
  it('a modality or a device removed from its list after the declaration un-meets it from when the amendment is known, and the reason names the list', () => {
    const h = cardio();
    h.declare('V2_SERVICES_PATIENTS', { answer: true, modalities: ['CLIC'] }, { effectiveAt: '2024-01-10T10:00:00+01:00' });
    h.declare('V2_EQUIPEMENT_CONNECTE', { answer: true, devices: ['ECG', 'CAMERA'] }, { effectiveAt: '2024-01-10T10:00:00+01:00' });
    h.amendedData({ list: 'servicesModalities', remove: ['CLIC'] }, '2024-03-01T00:00:00Z');
    h.amendedData({ list: 'connectedDevices', remove: ['ECG', 'CAMERA'] }, '2024-03-01T00:00:00Z');
    const before = h.entitlement('2024-02-28T00:00:00Z');
    expect(indicator(before, 'V2_SERVICES_PATIENTS')).toMatchObject({ met: true });
    expect(indicator(before, 'V2_EQUIPEMENT_CONNECTE')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/^déclaré « oui » avec attestation sur l’honneur \(ECG, CAMERA\)/),
    });
    const after = h.entitlement('2024-03-02T00:00:00Z');
    expect(indicator(after, 'V2_SERVICES_PATIENTS')).toMatchObject({
      met: false,
      reason: 'aucune modalité retenue parmi : CLIC (absent de la liste servicesModalities en vigueur)',
    });
    expect(indicator(after, 'V2_EQUIPEMENT_CONNECTE')).toMatchObject({
      met: false,
      reason: 'aucun équipement retenu parmi : ECG, CAMERA (absents de la liste connectedDevices en vigueur)',
    });
  });

  it('a « non » is dated in Europe/Paris', () => {
    const h = cardio();
    h.declare('V2_VIDEO', { answer: false }, { effectiveAt: '2023-12-11T00:30:00+01:00' });
    expect(indicator(h.entitlement(), 'V2_VIDEO').reason).toBe('déclaré « non » le 11/12/2023');
  });

  it('INT-2 as amended: dcmtNeutralisedSpecialties and dcmtNeutralisation, from when each is known', () => {
    const h = cardio();
    h.rate('V2_DCMT', 10, 100);
    h.amendedData({ list: 'dcmtNeutralisedSpecialties', add: ['cardiologie'] }, '2024-03-01T00:00:00Z');
    h.amendedData({ parameter: 'dcmtNeutralisation', value: 'excluded' }, '2024-04-01T00:00:00Z');
    expect(indicator(h.entitlement('2024-02-28T00:00:00Z'), 'V2_DCMT').met).toBe(false);
    expect(indicator(h.entitlement('2024-03-02T00:00:00Z'), 'V2_DCMT')).toMatchObject({
      met: true,
      reason: expect.stringMatching(/^neutralisé pour la spécialité cardiologie : réputé atteint \(INT-2\)/),
    });
    expect(indicator(h.entitlement('2024-04-02T00:00:00Z'), 'V2_DCMT')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/^neutralisé pour la spécialité cardiologie : exclu du forfait \(INT-2\)/),
    });
  });

  it('segurDeadline as amended: a software acquired on 10/02/2024 counts once the deadline moved to 15/02/2024 is known', () => {
    const h = new History().opened().profile('ophtalmologie');
    h.prefillSegur({ acquiredOn: '2024-02-10' });
    h.amendedData({ parameter: 'segurDeadline', value: '2024-02-15T23:59:59.999+01:00' }, '2024-03-01T00:00:00Z');
    expect(indicator(h.entitlement('2024-02-28T00:00:00Z'), 'V1_SEGUR_LAP')).toMatchObject({
      met: false,
      reason: expect.stringContaining('acquis le 10/02/2024, après la date limite Ségur du 31/01/2024'),
    });
    expect(indicator(h.entitlement('2024-03-02T00:00:00Z'), 'V1_SEGUR_LAP').met).toBe(true);
  });
});

describe('spec « Per indicator: neutralised »: a volet-1 neutralisation is undone by neutralised: false', () => {
  it('guide §I.3 and the letter neutralise SESAM-Vitale for 2023 (INT-3); an amendment measuring it again gates on its measure', () => {
    const h = cardio().everythingMet();
    const amendment = h.amended('V1_SESAM_VITALE', { neutralised: false }, '2024-03-01T00:00:00Z');
    expect(indicator(h.entitlement('2024-02-28T00:00:00Z'), 'V1_SESAM_VITALE')).toMatchObject({
      met: true,
      reason: 'neutralisé pour 2023 : réputé atteint (INT-3)',
    });
    const after = h.entitlement('2024-03-02T00:00:00Z');
    expect(indicator(after, 'V1_SESAM_VITALE')).toMatchObject({ met: false, reason: 'aucune mesure reçue' });
    expect(after.volet1.met).toBe(false);
    h.measure('V1_SESAM_VITALE', { kind: 'participation', participates: true }, { recordedAt: '2024-03-03T00:00:00Z' });
    expect(indicator(h.entitlement('2024-03-04T00:00:00Z'), 'V1_SESAM_VITALE')).toMatchObject({ met: true });
    h.amended('V1_SESAM_VITALE', { neutralised: 'deemed-met' }, '2024-03-05T00:00:00Z');
    expect(indicator(h.entitlement('2024-03-06T00:00:00Z'), 'V1_SESAM_VITALE').reason).toMatch(/^neutralisé pour 2023 : réputé atteint \(amendement /);
    expect(amendment.type).toBe('CampaignRuleAmended');
  });

  it('V1_TELETRANSMISSION neutralised, then measured again with the target amended meanwhile; the reason names the amendment, not INT-3', () => {
    const h = cardio().everythingMet();
    h.measure(
      'V1_TELETRANSMISSION',
      { kind: 'teletransmission', numerator: 70, denominator: 100, teletransmittedPreviousYear: true },
      { recordedAt: '2024-02-20T00:00:00Z' },
    );
    const neutralised = h.amended('V1_TELETRANSMISSION', { neutralised: 'deemed-met' }, '2024-03-01T00:00:00Z');
    expect(indicator(h.entitlement('2024-03-02T00:00:00Z'), 'V1_TELETRANSMISSION')).toMatchObject({
      met: true,
      reason: `neutralisé pour 2023 : réputé atteint (amendement ${neutralised.eventId})`,
    });
    h.amended('V1_TELETRANSMISSION', { target: '3/4' }, '2024-03-03T00:00:00Z');
    expect(indicator(h.entitlement('2024-03-04T00:00:00Z'), 'V1_TELETRANSMISSION').met).toBe(true);
    h.amended('V1_TELETRANSMISSION', { neutralised: false }, '2024-03-05T00:00:00Z');
    expect(indicator(h.entitlement('2024-03-06T00:00:00Z'), 'V1_TELETRANSMISSION')).toMatchObject({
      met: false,
      reason: expect.stringMatching(/^FSE 70 \/ 100 actes = 70 % < 3\/4/),
    });
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
      metadata: {
        recordedAt: '2024-05-01T10:00:00.000Z',
        effectiveAt: '2024-05-01T10:00:00.000Z',
        channel: 'back-office',
        actor: { sub: 'a', role: 'agent', caisse: '441' },
      },
    });
    expect(h.entitlement('2024-04-30T00:00:00Z').balanceCents).toBe(0);
    expect(h.entitlement().balanceCents).toBe(196_000);
  });
});

describe('rules spec « Eligibility » and INT-9: only doctors under the convention are paid', () => {
  it('a doctor outside the convention gets 0, the volets keep their points, and the entitlement says why', () => {
    const h = new History()
      .opened()
      .profile('medecine-generale', { convention: { status: 'non-conventionne' } })
      .everythingMet();
    const e = h.entitlement();
    expect(e.eligibility).toMatchObject({ eligible: false, reason: expect.stringMatching(/^non éligible : médecin non conventionné/) });
    expect(e.volet1.met).toBe(true);
    expect(e.volet2.points.isZero()).toBe(false);
    expect(e.totalPoints.isZero()).toBe(true);
    expect(e.amountCents).toBe(0);
  });

  it('guide §IV « aucune proratisation en cas de cessation d’activité en cours d’année »: left in June, paid in full', () => {
    const h = new History()
      .opened()
      .profile('medecine-generale', { convention: { status: 'conventionne', since: '2010-09-01', until: '2023-06-30' } })
      .everythingMet();
    const e = h.entitlement();
    expect(e.eligibility.eligible).toBe(true);
    expect(e.amountCents).toBe(814_100);
  });

  it('a convention that ended before the year, or began after it, is not the year’s', () => {
    const ended = new History()
      .opened()
      .profile('cardiologie', { convention: { status: 'conventionne', until: '2022-12-31' } })
      .everythingMet();
    expect(ended.entitlement().eligibility.eligible).toBe(false);
    const later = new History()
      .opened()
      .profile('cardiologie', { convention: { status: 'conventionne', since: '2024-01-01' } })
      .everythingMet();
    expect(later.entitlement().eligibility.eligible).toBe(false);
  });

  it('effectiveFrom: the profile in force decides; with any-day-of-year, a profile showing the convention during the year suffices', () => {
    const h = new History()
      .opened()
      .profile('cardiologie', { effectiveFrom: '2020-01-01' })
      .profile('cardiologie', { effectiveFrom: '2023-07-01', convention: { status: 'non-conventionne' }, recordedAt: '2023-12-02T08:00:00Z' })
      .everythingMet();
    expect(h.entitlement().eligibility.eligible).toBe(true);
    const atDate: Ruleset = { ...FS_2023, parameters: { ...FS_2023.parameters, eligibility: 'at-assessment-date' } };
    expect(h.entitlement(undefined, atDate).eligibility).toMatchObject({ eligible: false, reason: expect.stringMatching(/31\/12\/2023/) });
    // On equal effectiveFrom, the latest recorded wins.
    const corrected = new History()
      .opened()
      .profile('cardiologie', { effectiveFrom: '2023-01-01', convention: { status: 'non-conventionne' } })
      .profile('cardiologie', { effectiveFrom: '2023-01-01', recordedAt: '2023-12-03T08:00:00Z' })
      .everythingMet();
    expect(corrected.entitlement(undefined, atDate).eligibility.eligible).toBe(true);
  });

  it('absent: under the convention (api.md)', () => {
    expect(gp().everythingMet().entitlement().eligibility).toEqual({ eligible: true, evidence: expect.any(Array) });
  });
});

describe('INT-4 with mssReportOver and the bases in force', () => {
  const noMss = () => {
    const h = gp().everythingMet();
    h.rate('V2_MSS', 1, 100);
    return h;
  };
  it('six-teleservices: the 40 points are spread over the six téléservices only (150 → 190)', () => {
    const six: Ruleset = { ...FS_2023, parameters: { ...FS_2023.parameters, mssReportOver: 'six-teleservices' } };
    const e = noMss().entitlement(undefined, six);
    expect(indicator(e, 'V2_AAT').points.toString()).toBe(Rational.fromDecimal(30.5).mul(Rational.of(190, 150)).toString());
    expect(indicator(e, 'V2_DMP').points.toString()).toBe('48');
    expect(e.amountCents).toBe(814_100);
  });
  it('INT-4 « the factor is computed, not written »: a points amendment changes it from when it is known (318/278 before, 328/288 after AAT 30.5 → 40.5)', () => {
    const h = gp().everythingMet({ mss: false });
    h.amended('V2_AAT', { points: 40.5 }, '2024-03-01T00:00:00Z');
    const before = h.entitlement('2024-02-28T00:00:00Z');
    expect(indicator(before, 'V2_AAT').points.toString()).toBe(Rational.fromDecimal(30.5).mul(Rational.of(318, 278)).toString());
    expect(before.totalPoints.toString()).toBe('1163');
    const after = h.entitlement('2024-03-02T00:00:00Z');
    // (278 + 10 + 40) ÷ (278 + 10) = 41/36: 40.5 × 41/36 = 46.125.
    expect(indicator(after, 'V2_AAT')).toMatchObject({ reason: expect.stringContaining('report MSS (INT-4) : 40,5 × 41/36 = 46,125 points') });
    expect(indicator(after, 'V2_AAT').points.toString()).toBe('369/8');
    expect(indicator(after, 'V2_DMP').points.toString()).toBe(Rational.of(48 * 41, 36).toString());
    expect(after.totalPoints.toString()).toBe('1173');
  });

  it('INT-4 mssReportOver amended: other-usages from when it is known (168/128 on DMP, ordonnance numérique, ApCV; the téléservices at their base)', () => {
    const h = gp().everythingMet({ mss: false });
    h.amendedData({ parameter: 'mssReportOver', value: 'other-usages' }, '2024-03-01T00:00:00Z');
    expect(indicator(h.entitlement('2024-02-28T00:00:00Z'), 'V2_DMP').points.toString()).toBe(Rational.of(48 * 318, 278).toString());
    const after = h.entitlement('2024-03-02T00:00:00Z');
    expect(indicator(after, 'V2_DMP').points.toString()).toBe('63'); // 48 × 21/16
    expect(indicator(after, 'V2_AAT').points.toString()).toBe('61/2');
    expect(after.totalPoints.toString()).toBe('1163');
    h.amendedData({ parameter: 'mssReportOver', value: 'none' }, '2024-04-01T00:00:00Z');
    expect(h.entitlement('2024-04-02T00:00:00Z').totalPoints.toString()).toBe('1123');
  });

  it('INT-4 « an item neutralised as excluded does not participate »: DSG excluded by amendment, the factor is 300/260', () => {
    const h = gp().everythingMet({ mss: false });
    h.amended('V2_DSG', { neutralised: 'excluded' }, '2024-03-01T00:00:00Z');
    const after = h.entitlement('2024-03-02T00:00:00Z');
    expect(indicator(after, 'V2_DSG').points.toString()).toBe('0');
    expect(indicator(after, 'V2_AAT').points.toString()).toBe(Rational.fromDecimal(30.5).mul(Rational.of(300, 260)).toString());
    expect(after.totalPoints.toString()).toBe('1145'); // 1 163 − 18: the excluded item's points are neither paid nor spread
  });

  it('none: no report, MSS is lost (1 123 points)', () => {
    const none: Ruleset = { ...FS_2023, parameters: { ...FS_2023.parameters, mssReportOver: 'none' } };
    expect(noMss().entitlement(undefined, none).amountCents).toBe((1163 - 40) * 700);
  });
});
