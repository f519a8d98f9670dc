import type { DomainEvent } from '@forfait/events';
import { decideCampaign, type CampaignCommand } from './campaign/campaign.decider';
import { campaignFrom } from './campaign/campaign.state';
import { addMonths, decideControl, type ControlCommand } from './control/control.decider';
import { decideDeclaration, type DeclarationCommand } from './declaration/declaration.decider';
import { declarationFrom } from './declaration/declaration.state';
import { DomainRefusal } from './errors';
import type { KnownEvent } from './events';
import { FS_2023 } from './ruleset/fs-2023';
import { CAMPAIGN_LISTS, CAMPAIGN_PARAMETERS } from './ruleset/ruleset';
import { decideSasAttestation, type SasAttestationCommand } from './sas-attestation/sas-attestation.decider';
import { sasAttestationFrom } from './sas-attestation/sas-attestation.state';

const RPPS = '10000000017';
let n = 0;
/** Given events, recorded and effective at `at` (default: during the campaign). */
const known = (event: DomainEvent, at = '2024-01-10T10:00:00.000Z'): KnownEvent => ({
  ...event,
  eventId: `g${(n += 1)}`,
  metadata: { recordedAt: at, effectiveAt: at, channel: 'system', actor: { sub: 's', role: 'system' } },
});

const opened = known(
  {
    type: 'CampaignOpened',
    data: { year: 2023, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' },
  },
  '2023-12-01T00:00:00.000Z',
);
const extended = known(
  {
    type: 'CampaignDeadlineExtended',
    data: { year: 2023, previousClosesAt: '2024-02-04T23:59:59.999+01:00', closesAt: '2024-02-11T23:59:59.999+01:00', reason: 'prolongation' },
  },
  '2024-01-31T10:00:00.000Z',
);

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainRefusal) return e.code;
    throw e;
  }
  throw new Error('expected a refusal, got events');
};

describe('campaign decider', () => {
  const when = (given: KnownEvent[], command: CampaignCommand) => () => decideCampaign(command, campaignFrom(given));

  it('opens a campaign with a known ruleset for its year', () => {
    expect(
      when([], { type: 'OpenCampaign', year: 2023, ruleset: 'FS-2023', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' })(),
    ).toEqual([
      {
        type: 'CampaignOpened',
        data: { year: 2023, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' },
      },
    ]);
    expect(refusal(when([opened], { type: 'OpenCampaign', year: 2023, ruleset: 'FS-2023', opensAt: 'x', closesAt: 'y' }))).toBe('CAMPAIGN_EXISTS');
    expect(refusal(when([], { type: 'OpenCampaign', year: 2023, ruleset: 'FS-1999', opensAt: 'x', closesAt: 'y' }))).toBe('RULESET_UNKNOWN');
    expect(refusal(when([], { type: 'OpenCampaign', year: 2025, ruleset: 'FS-2023', opensAt: 'x', closesAt: 'y' }))).toBe('RULESET_YEAR_MISMATCH');
  });

  it('seed 002: extends 4 Feb → 11 Feb 2024, recording the previous deadline', () => {
    const events = when([opened], { type: 'ExtendDeadline', closesAt: '2024-02-11T23:59:59.999+01:00', reason: 'prolongation' })();
    expect(events).toEqual([
      {
        type: 'CampaignDeadlineExtended',
        data: { year: 2023, previousClosesAt: '2024-02-04T23:59:59.999+01:00', closesAt: '2024-02-11T23:59:59.999+01:00', reason: 'prolongation' },
      },
    ]);
  });

  it('EXTENSION_NOT_LATER: a new deadline must be later than the current one', () => {
    expect(refusal(when([opened, extended], { type: 'ExtendDeadline', closesAt: '2024-02-11T23:59:59.999+01:00', reason: 'r' }))).toBe('EXTENSION_NOT_LATER');
    expect(refusal(when([opened], { type: 'ExtendDeadline', closesAt: '2024-02-01T00:00:00+01:00', reason: 'r' }))).toBe('EXTENSION_NOT_LATER');
  });

  it('a reopening after the deadline is allowed until the yearly calculation has run', () => {
    const closed = known({ type: 'CampaignClosed', data: { year: 2023, closesAt: '2024-02-04T23:59:59.999+01:00' } });
    expect(when([opened, closed], { type: 'ExtendDeadline', closesAt: '2024-02-20T23:59:59+01:00', reason: 'réouverture' })()).toHaveLength(1);
    const calculated = known({ type: 'CampaignCalculationCompleted', data: { year: 2023, doctors: 3, lastPosition: '10' } });
    expect(refusal(when([opened, closed, calculated], { type: 'ExtendDeadline', closesAt: '2024-02-20T23:59:59+01:00', reason: 'r' }))).toBe(
      'CALCULATION_ALREADY_RUN',
    );
  });

  it('amends a rate’s target; refuses what a rule cannot take (api.md: AMENDMENT_INVALID)', () => {
    expect(when([opened], { type: 'AmendRule', indicator: 'V2_DMP', changes: { target: 10 }, reason: 'lettre' })()[0]!.type).toBe('CampaignRuleAmended');
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V2_CODAGE', changes: { target: 10 }, reason: 'r' }))).toBe('AMENDMENT_INVALID');
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V2_DMP', changes: {}, reason: 'r' }))).toBe('AMENDMENT_INVALID');
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V9_X', changes: { points: 1 }, reason: 'r' }))).toBe('INDICATOR_UNKNOWN');
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V2_DMP', changes: { target: 120 }, reason: 'r' }))).toBe('AMENDMENT_INVALID');
    // api.md: points or excluded on a volet-1 indicator.
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V1_HORAIRES', changes: { points: 10 }, reason: 'r' }))).toBe('AMENDMENT_INVALID');
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V1_TELETRANSMISSION', changes: { neutralised: 'excluded' }, reason: 'r' }))).toBe(
      'AMENDMENT_INVALID',
    );
    expect(when([opened], { type: 'AmendRule', indicator: 'V1_TELETRANSMISSION', changes: { target: '3/4' }, reason: 'r' })()).toHaveLength(1);
    expect(when([opened], { type: 'AmendRule', indicator: 'V2_APCV', changes: { target: 3 }, reason: 'r' })()).toHaveLength(1);
  });

  it('spec « Parameters and lists a caisse can amend »: lists and parameters by name, checked entry by entry', () => {
    const amend = (changes: Record<string, unknown>, indicator?: string) => () =>
      decideCampaign(
        { type: 'AmendRule', ...(indicator ? { indicator } : {}), changes: changes as never, reason: 'arrêté', reference: 'réf.' },
        campaignFrom([opened]),
      );
    expect(amend({ list: 'sasDepartements', add: ['44', '2A', '971'] })()).toEqual([
      {
        type: 'CampaignRuleAmended',
        data: { year: 2023, changes: { list: 'sasDepartements', add: ['44', '2A', '971'] }, reason: 'arrêté', reference: 'réf.' },
      },
    ]);
    expect(amend({ list: 'hasLap', add: [{ editor: 'Éditeur', name: 'LAP' }] })()).toHaveLength(1);
    expect(amend({ parameter: 'mssReportOver', value: 'six-teleservices' })()).toHaveLength(1);
    expect(amend({ parameter: 'segurDeadline', value: '2024-02-15T23:59:59.999+01:00' })()).toHaveLength(1);
    expect(amend({ parameter: 'segurCarryOverFrom', value: 2022 })()).toHaveLength(1);
    for (const bad of [
      { list: 'sasDepartements', add: ['44', '2a'] },
      { list: 'sasDepartements', add: [44] },
      { list: 'hasLap', add: [{ editor: 'E' }] },
      { list: 'lapExemptSpecialties', add: ['chirurgie-du-dimanche'] },
      { list: 'noSuchList', add: ['X'] },
      { list: 'coordinationModalities' },
      { parameter: 'noSuchParameter', value: 1 },
      { parameter: 'mssReportOver', value: 'half' },
      { parameter: 'segurDeadline', value: '2024-02-15' },
      // A day that does not exist (Date.parse would read 1 March).
      { parameter: 'segurDeadline', value: '2024-02-30T23:59:59.999+01:00' },
      { parameter: 'sasAttestationDeadline', value: '2023-02-29T23:59:59+01:00' },
      { parameter: 'dpiRequiresLap', value: 'yes' },
      { parameter: 'recoveryLimitationYears', value: 2.5 },
      // A campaign year, not after the amended campaign's own, nor before the first (2017).
      { parameter: 'segurCarryOverFrom', value: 2024 },
      { parameter: 'segurCarryOverFrom', value: 2016 },
      { parameter: 'segurCarryOverFrom', value: '2022' },
    ]) {
      expect({ bad, code: refusal(amend(bad)) }).toEqual({ bad, code: 'AMENDMENT_INVALID' });
    }
    expect(refusal(amend({ parameter: 'mssReportOver', value: 'none' }, 'V2_MSS'))).toBe('AMENDMENT_INVALID');
  });

  it('the deadline job closes only the deadline in force, once', () => {
    const now = '2024-02-12T00:00:00+01:00';
    expect(when([opened], { type: 'CloseCampaign', closesAt: '2024-02-04T23:59:59.999+01:00', now })()).toHaveLength(1);
    // the job of the old deadline, after the extension: nothing
    expect(when([opened, extended], { type: 'CloseCampaign', closesAt: '2024-02-04T23:59:59.999+01:00', now })()).toEqual([]);
    const closed = known({ type: 'CampaignClosed', data: { year: 2023, closesAt: '2024-02-11T23:59:59.999+01:00' } });
    expect(when([opened, extended, closed], { type: 'CloseCampaign', closesAt: '2024-02-11T23:59:59.999+01:00', now })()).toEqual([]);
  });
});

describe('declaration decider', () => {
  const ctx = (given: KnownEvent[]) => ({ rpps: RPPS, year: 2023, campaign: campaignFrom(given), ruleset: FS_2023 });
  const declare =
    (over: Partial<Extract<DeclarationCommand, { type: 'Declare' }>> = {}, given: KnownEvent[] = [opened]) =>
    () =>
      decideDeclaration(
        {
          type: 'Declare',
          indicator: 'V2_CODAGE',
          value: { answer: true },
          attestation: true,
          channel: 'amelipro',
          role: 'doctor',
          effectiveAt: '2024-01-15T10:00:00+01:00',
          now: '2024-01-15T10:00:00+01:00',
          ...over,
        },
        declarationFrom([]),
        ctx(given),
      );

  it('records a declaration on amelipro during the window', () => {
    expect(declare()()).toEqual([
      { type: 'IndicatorDeclared', data: { rpps: RPPS, year: 2023, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true } },
    ]);
  });

  it('CAMPAIGN_CLOSED is judged on effectiveAt: a paper form received on 3 Feb and keyed on 20 Feb is accepted', () => {
    expect(declare({ channel: 'paper', role: 'agent', effectiveAt: '2024-02-03T10:00:00+01:00', now: '2024-02-20T10:00:00+01:00' })()).toHaveLength(1);
    expect(refusal(declare({ effectiveAt: '2024-02-05T10:00:00+01:00', now: '2024-02-05T10:00:00+01:00' }))).toBe('CAMPAIGN_CLOSED');
    expect(declare({ effectiveAt: '2024-02-05T10:00:00+01:00', now: '2024-02-05T10:00:00+01:00' }, [opened, extended])()).toHaveLength(1);
    expect(refusal(declare({ effectiveAt: '2023-12-10T10:00:00+01:00', now: '2023-12-10T10:00:00+01:00' }))).toBe('CAMPAIGN_CLOSED');
    expect(refusal(declare({}, []))).toBe('CAMPAIGN_NOT_FOUND');
  });

  // INT-8 (guide §III: « une déclaration sur support papier peut être effectuée auprès de sa caisse »):
  // the form is dated by the caisse's receipt, or by its postmark when `paperDatedBy` is `postmark`.
  it('INT-8 « déclaration sur support papier »: dated by the caisse’s receipt, or by the postmark when paperDatedBy is postmark', () => {
    const byPostmark = { ...FS_2023, parameters: { ...FS_2023.parameters, paperDatedBy: 'postmark' as const } };
    const paper = {
      channel: 'paper' as const,
      role: 'agent' as const,
      effectiveAt: '2024-02-06T10:00:00+01:00',
      postmarkedAt: '2024-02-03T12:00:00+01:00',
      now: '2024-02-08T10:00:00+01:00',
    };
    // Received on 6 Feb, after the 4 Feb close: by receipt (the default) it is too late, whatever the postmark.
    expect(refusal(declare(paper))).toBe('CAMPAIGN_CLOSED');
    const events = decideDeclaration({ type: 'Declare', indicator: 'V2_CODAGE', value: { answer: true }, attestation: true, ...paper }, declarationFrom([]), {
      ...ctx([opened]),
      ruleset: byPostmark,
    });
    expect(events).toEqual([
      {
        type: 'IndicatorDeclared',
        data: { rpps: RPPS, year: 2023, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true, postmarkedAt: '2024-02-03T11:00:00.000Z' },
      },
    ]);
    // The Ségur deadline (31/01/2024) is judged on the same date: postmarked 30 Jan, received 2 Feb.
    const segur = {
      indicator: 'V1_SEGUR_LAP',
      value: { segurSoftware: { editor: 'E', name: 'N', version: '1', acquiredOn: '2023-03-01' }, lapCertified: false },
      attestation: false,
    };
    const lateSegur = { ...paper, ...segur, effectiveAt: '2024-02-02T10:00:00+01:00', postmarkedAt: '2024-01-30T10:00:00+01:00' };
    expect(refusal(declare(lateSegur))).toBe('SEGUR_DEADLINE_PASSED');
    expect(decideDeclaration({ type: 'Declare', ...lateSegur }, declarationFrom([]), { ...ctx([opened]), ruleset: byPostmark })).toHaveLength(1);
  });

  it('INT-8: only a paper form has a postmark, and the post stamps it before the caisse receives it (VALUE_INVALID, nothing recorded)', () => {
    expect(refusal(declare({ postmarkedAt: '2024-01-14T10:00:00+01:00' }))).toBe('VALUE_INVALID');
    expect(refusal(declare({ role: 'agent', channel: 'back-office', postmarkedAt: '2024-01-14T10:00:00+01:00' }))).toBe('VALUE_INVALID');
    expect(
      refusal(
        declare({
          role: 'agent',
          channel: 'paper',
          effectiveAt: '2024-01-15T10:00:00+01:00',
          postmarkedAt: '2024-01-16T10:00:00+01:00',
          now: '2024-01-20T10:00:00+01:00',
        }),
      ),
    ).toBe('VALUE_INVALID');
    expect(declare({ role: 'agent', channel: 'paper', postmarkedAt: '2024-01-13T10:00:00+01:00' })()[0]!.data).toMatchObject({
      postmarkedAt: '2024-01-13T09:00:00.000Z',
    });
  });

  it('EFFECTIVE_AT_IN_FUTURE and CHANNEL_NOT_ALLOWED', () => {
    expect(refusal(declare({ effectiveAt: '2024-01-16T10:00:00+01:00' }))).toBe('EFFECTIVE_AT_IN_FUTURE');
    expect(refusal(declare({ channel: 'paper' }))).toBe('CHANNEL_NOT_ALLOWED');
    expect(refusal(declare({ role: 'agent', channel: 'amelipro' }))).toBe('CHANNEL_NOT_ALLOWED');
    expect(refusal(declare({ role: 'auditor' }))).toBe('CHANNEL_NOT_ALLOWED');
  });

  it('ATTESTATION_REQUIRED for every V2 declaration; not for volet 1', () => {
    expect(refusal(declare({ attestation: false }))).toBe('ATTESTATION_REQUIRED');
    expect(declare({ indicator: 'V1_HORAIRES', value: { displayed: true }, attestation: false })()).toHaveLength(1);
  });

  it('MODALITY_NOT_ALLOWED and DEVICE_NOT_ALLOWED name what the guide excludes', () => {
    expect(refusal(declare({ indicator: 'V2_COORDINATION', value: { answer: true, modalities: ['MSP', 'GROUPE_QUALITE'] } }))).toBe('MODALITY_NOT_ALLOWED');
    expect(refusal(declare({ indicator: 'V2_SERVICES_PATIENTS', value: { answer: true, modalities: ['PLATEFORME_RDV'] } }))).toBe('MODALITY_NOT_ALLOWED');
    expect(refusal(declare({ indicator: 'V2_EQUIPEMENT_CONNECTE', value: { answer: true, devices: ['THERMOMETRE'] } }))).toBe('DEVICE_NOT_ALLOWED');
    expect(declare({ indicator: 'V2_EQUIPEMENT_CONNECTE', value: { answer: true, devices: ['ECG', 'ECG'] } })()[0]!.data).toMatchObject({
      value: { answer: true, devices: ['ECG'] },
    });
  });

  it('guide §II.4 « une structure d’appui externe … (, dispositif d’appui à la coordination etc.) »: the DAC is declared for services as STRUCTURE_APPUI_EXTERNE; the code DAC is refused for both', () => {
    expect(declare({ indicator: 'V2_SERVICES_PATIENTS', value: { answer: true, modalities: ['STRUCTURE_APPUI_EXTERNE'] } })()).toHaveLength(1);
    expect(refusal(declare({ indicator: 'V2_SERVICES_PATIENTS', value: { answer: true, modalities: ['DAC'] } }))).toBe('MODALITY_NOT_ALLOWED');
    expect(refusal(declare({ indicator: 'V2_COORDINATION', value: { answer: true, modalities: ['DAC'] } }))).toBe('MODALITY_NOT_ALLOWED');
    expect(refusal(declare({ indicator: 'V2_COORDINATION', value: { answer: true, modalities: ['STRUCTURE_APPUI_EXTERNE'] } }))).toBe('MODALITY_NOT_ALLOWED');
  });

  it('VALUE_INVALID for a shape that is not the indicator’s; INDICATOR_NOT_DECLARATIVE for a measured one', () => {
    expect(refusal(declare({ value: { answer: 'yes' } }))).toBe('VALUE_INVALID');
    expect(refusal(declare({ value: { answer: true, extra: 1 } }))).toBe('VALUE_INVALID');
    expect(
      refusal(
        declare({
          indicator: 'V1_SEGUR_LAP',
          value: { segurSoftware: { editor: 'E', name: 'N', version: '1', acquiredOn: '31/01/2024' }, lapCertified: true },
        }),
      ),
    ).toBe('VALUE_INVALID');
    expect(refusal(declare({ indicator: 'V2_COORDINATION', value: { answer: true, modalities: [] } }))).toBe('VALUE_INVALID');
    expect(refusal(declare({ indicator: 'V2_AAT', value: {} }))).toBe('INDICATOR_NOT_DECLARATIVE');
    expect(refusal(declare({ indicator: 'NOPE' }))).toBe('INDICATOR_UNKNOWN');
  });

  it('pre-fills come from their source only', () => {
    const prefill = (indicator: string, source: string, value: unknown) => () =>
      decideDeclaration({ type: 'Prefill', indicator, source, value }, declarationFrom([]), ctx([opened]));
    expect(prefill('V1_HORAIRES', 'ANNUAIRE_SANTE', { displayed: true })()).toHaveLength(1);
    expect(refusal(prefill('V1_HORAIRES', 'SONS', { displayed: true }))).toBe('PREFILL_SOURCE_INVALID');
    expect(refusal(prefill('V2_CODAGE', 'SONS', { answer: true }))).toBe('INDICATOR_NOT_DECLARATIVE');
  });

  it('measures are counts; monthly télétransmission counts belong to the year', () => {
    const measure = (m: unknown) => () =>
      decideDeclaration({ type: 'RecordMeasure', indicator: 'V1_TELETRANSMISSION', source: 'SNDS', measure: m as never }, declarationFrom([]), ctx([opened]));
    expect(measure({ kind: 'teletransmission', teletransmittedPreviousYear: false, months: [{ month: '2023-05', fse: 1, total: 2 }] })()).toHaveLength(1);
    expect(refusal(measure({ kind: 'teletransmission', teletransmittedPreviousYear: false, months: [{ month: '2022-05', fse: 1, total: 2 }] }))).toBe(
      'VALUE_INVALID',
    );
    expect(refusal(measure({ kind: 'teletransmission', teletransmittedPreviousYear: true, numerator: 5, denominator: 4 }))).toBe('VALUE_INVALID');
    expect(refusal(measure({ kind: 'rate', numerator: -1, denominator: 4 }))).toBe('VALUE_INVALID');
  });

  describe('V1_SEGUR_LAP (second reading: rules 2–5, INT-7)', () => {
    const software = { editor: 'Éditeur', name: 'Logiciel', version: '1', acquiredOn: '2023-03-01' };
    const lap = { editor: 'Éditeur LAP', name: 'Prescripteur', certification: 'definitive' };
    const segur =
      (value: unknown, over: Partial<Extract<DeclarationCommand, { type: 'Declare' }>> = {}, ruleset = FS_2023, given: KnownEvent[] = [opened]) =>
      () =>
        decideDeclaration(
          {
            type: 'Declare',
            indicator: 'V1_SEGUR_LAP',
            value,
            attestation: true,
            channel: 'amelipro',
            role: 'doctor',
            effectiveAt: '2024-01-15T10:00:00+01:00',
            now: '2024-01-15T10:00:00+01:00',
            ...over,
          },
          declarationFrom([]),
          { rpps: RPPS, year: 2023, campaign: campaignFrom(given), ruleset },
        );
    const withLists = (lists: Partial<typeof FS_2023.lists>) => ({ ...FS_2023, lists: { ...FS_2023.lists, ...lists } });

    it('records the LAP the doctor names, the software’s kind (cabinet by default), and lapCertified without lap as a LAP declared unnamed', () => {
      expect(segur({ segurSoftware: software, lapCertified: true, lap })()[0]!.data).toMatchObject({
        value: { segurSoftware: { ...software, kind: 'cabinet' }, lapCertified: true, lap },
      });
      expect(segur({ segurSoftware: { ...software, kind: 'DPI_ETABLISSEMENT' }, lapCertified: false })()[0]!.data).toMatchObject({
        value: { segurSoftware: { kind: 'DPI_ETABLISSEMENT' }, lapCertified: false, lap: null },
      });
      expect(segur({ segurSoftware: software, lapCertified: true })()[0]!.data).toMatchObject({ value: { lapCertified: true, lap: null } });
      expect(refusal(segur({ segurSoftware: software, lapCertified: false, lap }))).toBe('VALUE_INVALID');
      expect(refusal(segur({ segurSoftware: software, lapCertified: true, lap: { ...lap, certification: 'en-cours' } }))).toBe('VALUE_INVALID');
      expect(refusal(segur({ segurSoftware: { ...software, kind: 'hopital' }, lapCertified: true }))).toBe('VALUE_INVALID');
    });

    it('seed 002 « jusqu’au 31 janvier 2024 pour s’équiper, déclarer … »: SEGUR_DEADLINE_PASSED after 31/01/2024, CAMPAIGN_CLOSED checked first', () => {
      const value = { segurSoftware: software, lapCertified: true, lap };
      expect(segur(value, { effectiveAt: '2024-01-31T23:59:59+01:00', now: '2024-01-31T23:59:59+01:00' })()).toHaveLength(1);
      expect(refusal(segur(value, { effectiveAt: '2024-02-01T00:00:00+01:00', now: '2024-02-01T00:00:00+01:00' }))).toBe('SEGUR_DEADLINE_PASSED');
      // The message in French, dated in Europe/Paris (not the UTC instant).
      expect(() => segur(value, { effectiveAt: '2024-02-01T00:05:00+01:00', now: '2024-02-01T00:05:00+01:00' })()).toThrow(
        'V1_SEGUR_LAP se déclare au plus tard le 31/01/2024 (date limite Ségur) : déclaration datée du 01/02/2024 00:05, après cette date',
      );
      expect(refusal(segur(value, { effectiveAt: '2024-02-06T10:00:00+01:00', now: '2024-02-06T10:00:00+01:00' }))).toBe('CAMPAIGN_CLOSED');
      // api.md: the message in French, dates in Europe/Paris.
      expect(() => segur(value, { effectiveAt: '2024-02-06T10:00:00+01:00', now: '2024-02-06T10:00:00+01:00' })()).toThrow(
        'la campagne 2023 se déclare du 11/12/2023 00:00 au 04/02/2024 23:59 : déclaration datée du 06/02/2024 10:00, hors de cette période',
      );
      expect(refusal(segur(value, { effectiveAt: '2024-02-06T10:00:00+01:00', now: '2024-02-06T10:00:00+01:00' }, FS_2023, [opened, extended]))).toBe(
        'SEGUR_DEADLINE_PASSED',
      );
      // The window's extension moves other indicators, not the Ségur deadline.
      expect(declare({ effectiveAt: '2024-02-06T10:00:00+01:00', now: '2024-02-06T10:00:00+01:00' }, [opened, extended])()).toHaveLength(1);
    });

    it('SOFTWARE_NOT_REFERENCED against segurSolutions and hasLap when loaded (ignoring case and spaces); a loaded hasLap refuses a LAP unnamed', () => {
      const loaded = withLists({ segurSolutions: [{ editor: 'éditeur', name: 'LOGICIEL ' }], hasLap: [{ editor: 'Éditeur LAP', name: 'Prescripteur' }] });
      expect(segur({ segurSoftware: software, lapCertified: true, lap }, {}, loaded)()).toHaveLength(1);
      expect(refusal(segur({ segurSoftware: { ...software, name: 'Autre' }, lapCertified: true, lap }, {}, loaded))).toBe('SOFTWARE_NOT_REFERENCED');
      expect(refusal(segur({ segurSoftware: software, lapCertified: true, lap: { ...lap, name: 'Autre LAP' } }, {}, loaded))).toBe('SOFTWARE_NOT_REFERENCED');
      expect(refusal(segur({ segurSoftware: software, lapCertified: true }, {}, loaded))).toBe('SOFTWARE_NOT_REFERENCED');
      expect(segur({ segurSoftware: software, lapCertified: false }, {}, loaded)()).toHaveLength(1);
      expect(segur({ segurSoftware: { ...software, name: 'Autre' }, lapCertified: true }, {}, FS_2023)()).toHaveLength(1);
    });

    it('guide §I.1.b « le sous indicateur LAP certifié HAS ne sera pas renseigné »: a SONS pre-fill’s lapCertified is accepted and not recorded; a DPI is never pre-filled', () => {
      const prefill = (value: unknown) => () =>
        decideDeclaration({ type: 'Prefill', indicator: 'V1_SEGUR_LAP', source: 'SONS', value }, declarationFrom([]), ctx([opened]));
      expect(prefill({ segurSoftware: software, lapCertified: true })()).toEqual([
        { type: 'IndicatorPrefilled', data: { rpps: RPPS, year: 2023, indicator: 'V1_SEGUR_LAP', source: 'SONS', value: { segurSoftware: software } } },
      ]);
      expect(prefill({ segurSoftware: software })()).toHaveLength(1);
      expect(refusal(prefill({ segurSoftware: { ...software, kind: 'DPI_ETABLISSEMENT' } }))).toBe('VALUE_INVALID');
      expect(refusal(prefill({ segurSoftware: software, lap }))).toBe('VALUE_INVALID');
    });

    it('INT-7: a justificatif records its subjects (default: those the doctor-year needs then) and the software and LAP in force when sent', () => {
      const prefilled = known(
        { type: 'IndicatorPrefilled', data: { rpps: RPPS, year: 2023, indicator: 'V1_SEGUR_LAP', source: 'SONS', value: { segurSoftware: software } } },
        '2023-12-11T10:00:00.000Z',
      );
      const declared = (value: object, at = '2024-01-15T10:00:00.000Z') =>
        known(
          {
            type: 'IndicatorDeclared',
            data: {
              rpps: RPPS,
              year: 2023,
              indicator: 'V1_SEGUR_LAP',
              value: { segurSoftware: { ...software, kind: 'cabinet' }, lapCertified: true, lap, ...value } as never,
              attestation: true,
            },
          },
          at,
        );
      const submit =
        (given: KnownEvent[], o: { subjects?: string[]; specialty?: string; indicator?: string; effectiveAt?: string } = {}) =>
        () =>
          decideDeclaration(
            {
              type: 'SubmitJustificatif',
              justificatifId: 'j',
              indicator: o.indicator ?? 'V1_SEGUR_LAP',
              sha256: 'a',
              size: 1,
              mediaType: 'application/pdf',
              effectiveAt: o.effectiveAt ?? '2024-01-20T10:00:00.000Z',
              ...(o.subjects ? { subjects: o.subjects } : {}),
            },
            declarationFrom(given),
            { ...ctx([opened]), ...(o.specialty ? { specialty: o.specialty } : {}) },
          );
      const data = (f: () => unknown) => (f() as { data: Record<string, unknown> }[])[0]!.data;
      expect(data(submit([declared({})]))).toMatchObject({ subjects: ['SEGUR', 'LAP'], proves: { segurSoftware: { ...software, kind: 'cabinet' }, lap } });
      expect(data(submit([prefilled, declared({})]))).toMatchObject({ subjects: ['LAP'] });
      expect(data(submit([prefilled, declared({})], { specialty: 'ophtalmologie' }))).toMatchObject({ subjects: [] });
      expect(data(submit([declared({ lap: { ...lap, certification: 'older-referentiel' } })]))).toMatchObject({
        subjects: ['SEGUR', 'LAP', 'LAP_CERTIFICATION_EN_COURS'],
      });
      expect(data(submit([declared({ segurSoftware: { ...software, kind: 'DPI_ETABLISSEMENT' } })]))).toMatchObject({ subjects: ['DPI_USAGE', 'LAP'] });
      expect(data(submit([prefilled]))).toMatchObject({ subjects: ['LAP'], proves: { segurSoftware: { ...software, kind: 'cabinet' }, lap: null } });
      // What is in force when it was sent: a later correction is not what it proves.
      expect(data(submit([declared({}), declared({ lap: { ...lap, name: 'Plus tard' } }, '2024-01-25T10:00:00.000Z')]))).toMatchObject({ proves: { lap } });
      expect(data(submit([declared({})], { subjects: ['LAP', 'LAP'] }))).toMatchObject({ subjects: ['LAP'] });
      expect(refusal(submit([declared({})], { subjects: ['FACTURE'] }))).toBe('VALUE_INVALID');
      expect(refusal(submit([], { indicator: 'V2_SAS', subjects: ['LAP'] }))).toBe('VALUE_INVALID');
      expect(data(submit([], { indicator: 'V2_SAS' }))).toMatchObject({ subjects: [], proves: null });
    });
  });

  it('a justificatif is decided once; a rejection gives its reason', () => {
    const submitted = known({
      type: 'JustificatifSubmitted',
      data: {
        rpps: RPPS,
        year: 2023,
        justificatifId: 'j1',
        indicator: 'V1_SEGUR_LAP',
        sha256: 'a',
        size: 1,
        mediaType: 'application/pdf',
        subjects: ['SEGUR', 'LAP'],
        proves: null,
      },
    });
    const decide =
      (given: KnownEvent[], decision: 'validated' | 'rejected', reason?: string, id = 'j1') =>
      () =>
        decideDeclaration({ type: 'DecideJustificatif', justificatifId: id, decision, ...(reason ? { reason } : {}) }, declarationFrom(given), ctx([opened]));
    expect(decide([submitted], 'validated')()).toEqual([
      { type: 'JustificatifValidated', data: { rpps: RPPS, year: 2023, justificatifId: 'j1', indicator: 'V1_SEGUR_LAP' } },
    ]);
    expect(refusal(decide([submitted], 'rejected'))).toBe('REASON_REQUIRED');
    expect(refusal(decide([submitted], 'validated', undefined, 'j9'))).toBe('JUSTIFICATIF_NOT_FOUND');
    const validated = known({ type: 'JustificatifValidated', data: { rpps: RPPS, year: 2023, justificatifId: 'j1', indicator: 'V1_SEGUR_LAP' } });
    expect(refusal(decide([submitted, validated], 'rejected', 'illisible'))).toBe('JUSTIFICATIF_ALREADY_DECIDED');
  });

  it('a payment is a safe integer of cents ≥ 1, never in the future', () => {
    const pay =
      (amountCents: number, paidAt = '2024-04-15T00:00:00Z') =>
      () =>
        decideDeclaration({ type: 'RecordPayment', amountCents, paidAt, now: '2024-04-20T00:00:00Z' }, declarationFrom([]), ctx([opened]));
    expect(pay(814_100)()).toHaveLength(1);
    expect(refusal(pay(-5))).toBe('AMOUNT_INVALID');
    expect(refusal(pay(0))).toBe('AMOUNT_INVALID');
    expect(refusal(pay(1.5))).toBe('AMOUNT_INVALID');
    expect(refusal(pay(1e20))).toBe('AMOUNT_INVALID');
    expect(refusal(pay(2 ** 53))).toBe('AMOUNT_INVALID');
    expect(refusal(pay(100, '2030-01-01T00:00:00Z'))).toBe('EFFECTIVE_AT_IN_FUTURE');
  });

  it('guide §IV: the paid total never exceeds the maximum (1 163 points × 7 € = 8 141 € in 2023)', () => {
    const paid = (amountCents: number, reference?: string) =>
      known({ type: 'PaymentRecorded', data: { rpps: RPPS, year: 2023, amountCents, paidAt: '2024-04-15T00:00:00Z', ...(reference ? { reference } : {}) } });
    const pay = (given: KnownEvent[], amountCents: number, reference?: string) => () =>
      decideDeclaration(
        { type: 'RecordPayment', amountCents, paidAt: '2024-04-16T00:00:00Z', now: '2024-04-20T00:00:00Z', ...(reference ? { reference } : {}) },
        declarationFrom(given),
        ctx([opened]),
      );
    expect(pay([], 814_100)()).toHaveLength(1);
    expect(refusal(pay([], 814_101))).toBe('PAYMENT_ABOVE_MAXIMUM');
    expect(pay([paid(800_000)], 14_100)()).toHaveLength(1);
    expect(refusal(pay([paid(800_000)], 14_101))).toBe('PAYMENT_ABOVE_MAXIMUM');
  });

  it('api.md: a payment reference is unique per doctor-year (PAYMENT_DUPLICATE)', () => {
    const first = known({ type: 'PaymentRecorded', data: { rpps: RPPS, year: 2023, amountCents: 100, paidAt: '2024-04-15T00:00:00Z', reference: 'VIR-1' } });
    const pay = (reference: string) => () =>
      decideDeclaration(
        { type: 'RecordPayment', amountCents: 100, paidAt: '2024-04-16T00:00:00Z', now: '2024-04-20T00:00:00Z', reference },
        declarationFrom([first]),
        ctx([opened]),
      );
    expect(refusal(pay('VIR-1'))).toBe('PAYMENT_DUPLICATE');
    expect(pay('VIR-2')()).toEqual([
      { type: 'PaymentRecorded', data: { rpps: RPPS, year: 2023, amountCents: 100, paidAt: '2024-04-16T00:00:00Z', reference: 'VIR-2' } },
    ]);
  });
});

describe('SAS attestation decider (guide §II.2 indicateur 8 : « le président de la CPTS devra attester de la liste des médecins »)', () => {
  const OTHER = '10000000025';
  const receive = (o: Partial<Extract<SasAttestationCommand, { type: 'ReceiveSasAttestation' }>> = {}): SasAttestationCommand => ({
    type: 'ReceiveSasAttestation',
    attestationId: 'sas-2023-0123456789ab',
    year: 2023,
    caisse: '441',
    cpts: ' CPTS Nantes Nord ',
    software: ' Logiciel SAS ',
    rpps: [RPPS, OTHER],
    sha256: 'a'.repeat(64),
    size: 10,
    mediaType: 'application/pdf',
    effectiveAt: '2024-01-20T10:00:00Z',
    now: '2024-01-21T10:00:00Z',
    ...o,
  });
  const when =
    (given: KnownEvent[], command: SasAttestationCommand, campaign: KnownEvent[] = [opened]) =>
    () =>
      decideSasAttestation(command, sasAttestationFrom(given), { campaign: campaignFrom(campaign) });
  const received = known({
    type: 'SasAttestationReceived',
    data: {
      attestationId: 'sas-2023-0123456789ab',
      year: 2023,
      caisse: '441',
      cpts: 'CPTS Nantes Nord',
      software: 'Logiciel SAS',
      rpps: [RPPS, OTHER],
      sha256: 'a'.repeat(64),
      size: 10,
      mediaType: 'application/pdf',
    },
  });

  it('one document listing every doctor it attests, received in a campaign, never dated in the future', () => {
    expect(when([], receive())()).toEqual([{ type: 'SasAttestationReceived', data: { ...received.data } }]);
    expect(refusal(when([], receive(), []))).toBe('CAMPAIGN_NOT_FOUND');
    expect(refusal(when([received], receive()))).toBe('VALUE_INVALID');
    expect(refusal(when([], receive({ rpps: [] })))).toBe('VALUE_INVALID');
    expect(refusal(when([], receive({ rpps: [RPPS, RPPS] })))).toBe('VALUE_INVALID');
    expect(refusal(when([], receive({ rpps: ['10000000008'] })))).toBe('VALUE_INVALID');
    expect(refusal(when([], receive({ cpts: '  ' })))).toBe('VALUE_INVALID');
    expect(refusal(when([], receive({ software: '' })))).toBe('VALUE_INVALID');
    expect(refusal(when([], receive({ effectiveAt: '2024-01-22T10:00:00Z' })))).toBe('EFFECTIVE_AT_IN_FUTURE');
  });

  it('validated once by the CPAM for every doctor it lists; a rejection gives its reason', () => {
    const decide = (given: KnownEvent[], decision: 'validated' | 'rejected', reason?: string) =>
      when(given, { type: 'DecideSasAttestation', decision, ...(reason ? { reason } : {}) });
    const ref = { attestationId: 'sas-2023-0123456789ab', year: 2023, rpps: [RPPS, OTHER] };
    expect(decide([received], 'validated')()).toEqual([{ type: 'SasAttestationValidated', data: ref }]);
    expect(decide([received], 'rejected', ' illisible ')()).toEqual([{ type: 'SasAttestationRejected', data: { ...ref, reason: 'illisible' } }]);
    expect(refusal(decide([received], 'rejected'))).toBe('REASON_REQUIRED');
    expect(refusal(decide([], 'validated'))).toBe('JUSTIFICATIF_NOT_FOUND');
    const validated = known({ type: 'SasAttestationValidated', data: ref });
    expect(refusal(decide([received, validated], 'rejected', 'illisible'))).toBe('JUSTIFICATIF_ALREADY_DECIDED');
    expect(refusal(decide([received, validated], 'validated'))).toBe('JUSTIFICATIF_ALREADY_DECIDED');
  });

  it('its decision is linked once into each listed doctor-year', () => {
    const link = {
      type: 'LinkSasAttestationDecision' as const,
      attestationId: 'sas-2023-0123456789ab',
      cpts: 'CPTS Nantes Nord',
      software: 'Logiciel SAS',
      receivedAt: '2024-01-20T10:00:00.000Z',
      decision: 'validated' as const,
      decisionEventId: 'g1',
    };
    const ctx = { rpps: RPPS, year: 2023, campaign: campaignFrom([opened]), ruleset: FS_2023 };
    const events = decideDeclaration(link, declarationFrom([]), ctx);
    expect(events).toEqual([
      {
        type: 'SasAttestationDecisionLinked',
        data: {
          rpps: RPPS,
          year: 2023,
          attestationId: 'sas-2023-0123456789ab',
          cpts: 'CPTS Nantes Nord',
          software: 'Logiciel SAS',
          receivedAt: '2024-01-20T10:00:00.000Z',
          decision: 'validated',
          decisionEventId: 'g1',
        },
      },
    ]);
    expect(decideDeclaration(link, declarationFrom([known(events[0]!)]), ctx)).toEqual([]);
  });
});

describe('control decider (contrôle a posteriori)', () => {
  const ctx = { rpps: RPPS, year: 2023, ruleset: FS_2023 };
  const paid = known({ type: 'PaymentRecorded', data: { rpps: RPPS, year: 2023, amountCents: 814_100, paidAt: '2024-04-15T00:00:00.000Z' } });
  const ref = { controlId: 'c1', rpps: RPPS, year: 2023 };
  const openedControl = known({ type: 'ControlOpened', data: { ...ref, indicators: ['V2_COORDINATION'], reason: 'ciblage' } }, '2024-09-01T10:00:00.000Z');
  const invalidated = known(
    { type: 'ControlFindingRecorded', data: { ...ref, indicator: 'V2_COORDINATION', outcome: 'invalidated', reason: 'aucune MSP' } },
    '2024-10-01T10:00:00.000Z',
  );
  const closed = known(
    { type: 'ControlClosed', data: { ...ref, paidCents: 814_100, recomputedAmountCents: 730_100, balanceCents: -84_000, notification: 'recovery' } },
    '2024-10-15T10:00:00.000Z',
  );
  const when = (given: KnownEvent[], command: ControlCommand) => () => decideControl(command, declarationFrom(given), ctx);

  it('opens a control on some indicators; refuses one more than 3 years after payment unless fraud', () => {
    expect(
      when([paid], { type: 'OpenControl', controlId: 'c1', indicators: ['V2_COORDINATION'], reason: 'ciblage', now: '2024-09-01T00:00:00Z' })(),
    ).toHaveLength(1);
    expect(refusal(when([paid], { type: 'OpenControl', controlId: 'c1', indicators: ['V2_COORDINATION'], reason: 'r', now: '2027-04-16T00:00:00Z' }))).toBe(
      'RECOVERY_TIME_BARRED',
    );
    expect(
      when([paid], { type: 'OpenControl', controlId: 'c1', indicators: ['V2_COORDINATION'], reason: 'r', now: '2027-04-16T00:00:00Z', fraud: true })(),
    ).toHaveLength(1);
  });

  it('findings only on the controlled indicators, only while open', () => {
    expect(refusal(when([paid, openedControl], { type: 'RecordFinding', controlId: 'c1', indicator: 'V2_CODAGE', outcome: 'invalidated', reason: 'r' }))).toBe(
      'INDICATOR_NOT_CONTROLLED',
    );
    expect(
      refusal(
        when([paid, openedControl, invalidated, closed], {
          type: 'RecordFinding',
          controlId: 'c1',
          indicator: 'V2_COORDINATION',
          outcome: 'confirmed',
          reason: 'r',
        }),
      ),
    ).toBe('CONTROL_CLOSED');
    expect(refusal(when([], { type: 'RecordFinding', controlId: 'c9', indicator: 'V2_COORDINATION', outcome: 'confirmed', reason: 'r' }))).toBe(
      'CONTROL_NOT_FOUND',
    );
  });

  it('closure notifies a recovery when the recomputed amount is below what was paid, a complement when above', () => {
    const close = (amount: number) =>
      when([paid, openedControl, invalidated], { type: 'CloseControl', controlId: 'c1', recomputedAmountCents: amount })()[0]!.data;
    expect(close(730_100)).toMatchObject({ balanceCents: -84_000, notification: 'recovery' });
    expect(close(900_000)).toMatchObject({ balanceCents: 85_900, notification: 'complement' });
    expect(close(814_100)).toMatchObject({ balanceCents: 0, notification: 'none' });
  });

  it('CONTESTATION_TOO_LATE: the doctor contests within 2 months of the notification', () => {
    const contest = (now: string) =>
      when([paid, openedControl, invalidated, closed], { type: 'FileContestation', controlId: 'c1', reason: 'je participe à une MSP', now });
    expect(contest('2024-12-15T10:00:00Z')()).toHaveLength(1);
    expect(refusal(contest('2024-12-15T10:00:01Z'))).toBe('CONTESTATION_TOO_LATE');
    expect(refusal(when([paid, openedControl, invalidated], { type: 'FileContestation', controlId: 'c1', reason: 'r', now: '2024-10-20T00:00:00Z' }))).toBe(
      'CONTROL_NOT_CLOSED',
    );
  });

  it('the decision reverses the invalidated findings (all of them by default) or upholds them, once', () => {
    const filed = known({ type: 'ContestationFiled', data: { ...ref, reason: 'MSP' } }, '2024-11-01T10:00:00.000Z');
    const decide = (given: KnownEvent[], outcome: 'upheld' | 'reversed', indicators?: string[]) =>
      when(given, { type: 'DecideContestation', controlId: 'c1', outcome, ...(indicators ? { indicators } : {}) });
    const base = [paid, openedControl, invalidated, closed];
    expect(decide([...base, filed], 'reversed')()[0]!.data).toMatchObject({ outcome: 'reversed', indicators: ['V2_COORDINATION'] });
    expect(refusal(decide([...base, filed], 'reversed', ['V2_CODAGE']))).toBe('INDICATOR_NOT_CONTROLLED');
    expect(refusal(decide(base, 'upheld'))).toBe('CONTESTATION_NOT_FOUND');
    const decided = known({ type: 'ContestationDecided', data: { ...ref, outcome: 'upheld', indicators: [] } });
    expect(refusal(decide([...base, filed, decided], 'reversed'))).toBe('CONTESTATION_ALREADY_DECIDED');
    // The decision's reason is kept (trimmed); a blank one is refused.
    const withReason = (reason: string) => when([...base, filed], { type: 'DecideContestation', controlId: 'c1', outcome: 'upheld', reason });
    expect(withReason('  Horaires non affichés au constat  ')()[0]!.data).toMatchObject({
      outcome: 'upheld',
      indicators: [],
      reason: 'Horaires non affichés au constat',
    });
    expect(refusal(withReason('  '))).toBe('REASON_REQUIRED');
  });

  it('two calendar months, clamped at the end of a shorter month', () => {
    expect(new Date(addMonths('2023-12-31T10:00:00.000Z', 2)).toISOString()).toBe('2024-02-29T10:00:00.000Z');
    expect(new Date(addMonths('2024-10-15T10:00:00.000Z', 2)).toISOString()).toBe('2024-12-15T10:00:00.000Z');
  });
});

describe('rules spec: every list and parameter a caisse can amend cites its source in the ruleset', () => {
  it('FS-2023 gives a provenance for each name of CAMPAIGN_LISTS and CAMPAIGN_PARAMETERS', () => {
    const missing = [...CAMPAIGN_LISTS, ...CAMPAIGN_PARAMETERS].filter((name) => (FS_2023.dataProvenance[name] ?? []).length === 0);
    expect(missing).toEqual([]);
  });
});
