import type { DomainEvent } from '@forfait/events';
import { decideCampaign, type CampaignCommand } from './campaign/campaign.decider';
import { campaignFrom } from './campaign/campaign.state';
import { addMonths, decideControl, type ControlCommand } from './control/control.decider';
import { decideDeclaration, type DeclarationCommand } from './declaration/declaration.decider';
import { declarationFrom } from './declaration/declaration.state';
import { DomainRefusal } from './errors';
import type { KnownEvent } from './events';
import { FS_2023 } from './ruleset/fs-2023';

const RPPS = '10000000017';
let n = 0;
/** Given events, recorded and effective at `at` (default: during the campaign). */
const known = (event: DomainEvent, at = '2024-01-10T10:00:00.000Z'): KnownEvent =>
  ({ ...event, eventId: `g${(n += 1)}`, metadata: { recordedAt: at, effectiveAt: at, channel: 'system', actor: { sub: 's', role: 'system' } } }) as KnownEvent;

const opened = known(
  { type: 'CampaignOpened', data: { year: 2023, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' } },
  '2023-12-01T00:00:00.000Z',
);
const extended = known(
  { type: 'CampaignDeadlineExtended', data: { year: 2023, previousClosesAt: '2024-02-04T23:59:59.999+01:00', closesAt: '2024-02-11T23:59:59.999+01:00', reason: 'prolongation' } },
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
    expect(when([], { type: 'OpenCampaign', year: 2023, ruleset: 'FS-2023', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' })()).toEqual([
      { type: 'CampaignOpened', data: { year: 2023, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: '2023-12-11T00:00:00+01:00', closesAt: '2024-02-04T23:59:59.999+01:00' } },
    ]);
    expect(refusal(when([opened], { type: 'OpenCampaign', year: 2023, ruleset: 'FS-2023', opensAt: 'x', closesAt: 'y' }))).toBe('CAMPAIGN_EXISTS');
    expect(refusal(when([], { type: 'OpenCampaign', year: 2023, ruleset: 'FS-1999', opensAt: 'x', closesAt: 'y' }))).toBe('RULESET_UNKNOWN');
    expect(refusal(when([], { type: 'OpenCampaign', year: 2025, ruleset: 'FS-2023', opensAt: 'x', closesAt: 'y' }))).toBe('RULESET_YEAR_MISMATCH');
  });

  it('seed 002: extends 4 Feb → 11 Feb 2024, recording the previous deadline', () => {
    const events = when([opened], { type: 'ExtendDeadline', closesAt: '2024-02-11T23:59:59.999+01:00', reason: 'prolongation' })();
    expect(events).toEqual([
      { type: 'CampaignDeadlineExtended', data: { year: 2023, previousClosesAt: '2024-02-04T23:59:59.999+01:00', closesAt: '2024-02-11T23:59:59.999+01:00', reason: 'prolongation' } },
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
    expect(refusal(when([opened, closed, calculated], { type: 'ExtendDeadline', closesAt: '2024-02-20T23:59:59+01:00', reason: 'r' }))).toBe('CALCULATION_ALREADY_RUN');
  });

  it('amends a rate’s target; refuses what a rule cannot take', () => {
    expect(when([opened], { type: 'AmendRule', indicator: 'V2_DMP', changes: { target: 10 }, reason: 'lettre' })()[0]!.type).toBe('CampaignRuleAmended');
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V2_CODAGE', changes: { target: 10 }, reason: 'r' }))).toBe('AMENDMENT_NOT_APPLICABLE');
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V2_DMP', changes: {}, reason: 'r' }))).toBe('AMENDMENT_NOT_APPLICABLE');
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V9_X', changes: { points: 1 }, reason: 'r' }))).toBe('INDICATOR_UNKNOWN');
    expect(refusal(when([opened], { type: 'AmendRule', indicator: 'V2_DMP', changes: { target: 120 }, reason: 'r' }))).toBe('VALUE_INVALID');
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
  const declare = (over: Partial<Extract<DeclarationCommand, { type: 'Declare' }>> = {}, given: KnownEvent[] = [opened]) => () =>
    decideDeclaration(
      { type: 'Declare', indicator: 'V2_CODAGE', value: { answer: true }, attestation: true, channel: 'amelipro', role: 'doctor', effectiveAt: '2024-01-15T10:00:00+01:00', now: '2024-01-15T10:00:00+01:00', ...over },
      declarationFrom([]),
      ctx(given),
    );

  it('records a declaration on amelipro during the window', () => {
    expect(declare()()).toEqual([{ type: 'IndicatorDeclared', data: { rpps: RPPS, year: 2023, indicator: 'V2_CODAGE', value: { answer: true }, attestation: true } }]);
  });

  it('CAMPAIGN_CLOSED is judged on effectiveAt: a paper form received on 3 Feb and keyed on 20 Feb is accepted', () => {
    expect(declare({ channel: 'paper', role: 'agent', effectiveAt: '2024-02-03T10:00:00+01:00', now: '2024-02-20T10:00:00+01:00' })()).toHaveLength(1);
    expect(refusal(declare({ effectiveAt: '2024-02-05T10:00:00+01:00', now: '2024-02-05T10:00:00+01:00' }))).toBe('CAMPAIGN_CLOSED');
    expect(declare({ effectiveAt: '2024-02-05T10:00:00+01:00', now: '2024-02-05T10:00:00+01:00' }, [opened, extended])()).toHaveLength(1);
    expect(refusal(declare({ effectiveAt: '2023-12-10T10:00:00+01:00', now: '2023-12-10T10:00:00+01:00' }))).toBe('CAMPAIGN_CLOSED');
    expect(refusal(declare({}, []))).toBe('CAMPAIGN_NOT_FOUND');
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
    expect(declare({ indicator: 'V2_EQUIPEMENT_CONNECTE', value: { answer: true, devices: ['ECG', 'ECG'] } })()[0]!.data).toMatchObject({ value: { answer: true, devices: ['ECG'] } });
  });

  it('VALUE_INVALID for a shape that is not the indicator’s; INDICATOR_NOT_DECLARATIVE for a measured one', () => {
    expect(refusal(declare({ value: { answer: 'yes' } }))).toBe('VALUE_INVALID');
    expect(refusal(declare({ value: { answer: true, extra: 1 } }))).toBe('VALUE_INVALID');
    expect(refusal(declare({ indicator: 'V1_SEGUR_LAP', value: { segurSoftware: { editor: 'E', name: 'N', version: '1', acquiredOn: '31/01/2024' }, lapCertified: true } }))).toBe('VALUE_INVALID');
    expect(refusal(declare({ indicator: 'V2_COORDINATION', value: { answer: true, modalities: [] } }))).toBe('VALUE_INVALID');
    expect(refusal(declare({ indicator: 'V2_AAT', value: {} }))).toBe('INDICATOR_NOT_DECLARATIVE');
    expect(refusal(declare({ indicator: 'NOPE' }))).toBe('INDICATOR_UNKNOWN');
  });

  it('pre-fills come from their source only', () => {
    const prefill = (indicator: string, source: string, value: unknown) => () => decideDeclaration({ type: 'Prefill', indicator, source, value }, declarationFrom([]), ctx([opened]));
    expect(prefill('V1_HORAIRES', 'ANNUAIRE_SANTE', { displayed: true })()).toHaveLength(1);
    expect(refusal(prefill('V1_HORAIRES', 'SONS', { displayed: true }))).toBe('PREFILL_SOURCE_INVALID');
    expect(refusal(prefill('V2_CODAGE', 'SONS', { answer: true }))).toBe('INDICATOR_NOT_DECLARATIVE');
  });

  it('measures are counts; monthly télétransmission counts belong to the year', () => {
    const measure = (m: unknown) => () => decideDeclaration({ type: 'RecordMeasure', indicator: 'V1_TELETRANSMISSION', source: 'SNDS', measure: m as never }, declarationFrom([]), ctx([opened]));
    expect(measure({ kind: 'teletransmission', teletransmittedPreviousYear: false, months: [{ month: '2023-05', fse: 1, total: 2 }] })()).toHaveLength(1);
    expect(refusal(measure({ kind: 'teletransmission', teletransmittedPreviousYear: false, months: [{ month: '2022-05', fse: 1, total: 2 }] }))).toBe('VALUE_INVALID');
    expect(refusal(measure({ kind: 'teletransmission', teletransmittedPreviousYear: true, numerator: 5, denominator: 4 }))).toBe('VALUE_INVALID');
    expect(refusal(measure({ kind: 'rate', numerator: -1, denominator: 4 }))).toBe('VALUE_INVALID');
  });

  it('a justificatif is decided once; a rejection gives its reason', () => {
    const submitted = known({ type: 'JustificatifSubmitted', data: { rpps: RPPS, year: 2023, justificatifId: 'j1', indicator: 'V1_SEGUR_LAP', sha256: 'a', size: 1, mediaType: 'application/pdf' } });
    const decide = (given: KnownEvent[], decision: 'validated' | 'rejected', reason?: string, id = 'j1') => () =>
      decideDeclaration({ type: 'DecideJustificatif', justificatifId: id, decision, ...(reason ? { reason } : {}) }, declarationFrom(given), ctx([opened]));
    expect(decide([submitted], 'validated')()).toEqual([{ type: 'JustificatifValidated', data: { rpps: RPPS, year: 2023, justificatifId: 'j1', indicator: 'V1_SEGUR_LAP' } }]);
    expect(refusal(decide([submitted], 'rejected'))).toBe('REASON_REQUIRED');
    expect(refusal(decide([submitted], 'validated', undefined, 'j9'))).toBe('JUSTIFICATIF_NOT_FOUND');
    const validated = known({ type: 'JustificatifValidated', data: { rpps: RPPS, year: 2023, justificatifId: 'j1', indicator: 'V1_SEGUR_LAP' } });
    expect(refusal(decide([submitted, validated], 'rejected', 'illisible'))).toBe('JUSTIFICATIF_ALREADY_DECIDED');
  });

  it('a payment is a non-negative integer amount', () => {
    const pay = (amountCents: number) => () => decideDeclaration({ type: 'RecordPayment', amountCents, paidAt: '2024-04-15T00:00:00Z' }, declarationFrom([]), ctx([opened]));
    expect(pay(814_100)()).toHaveLength(1);
    expect(refusal(pay(-5))).toBe('AMOUNT_INVALID');
    expect(refusal(pay(1.5))).toBe('AMOUNT_INVALID');
  });
});

describe('control decider (contrôle a posteriori)', () => {
  const ctx = { rpps: RPPS, year: 2023, ruleset: FS_2023 };
  const paid = known({ type: 'PaymentRecorded', data: { rpps: RPPS, year: 2023, amountCents: 814_100, paidAt: '2024-04-15T00:00:00.000Z' } });
  const ref = { controlId: 'c1', rpps: RPPS, year: 2023 };
  const openedControl = known({ type: 'ControlOpened', data: { ...ref, indicators: ['V2_COORDINATION'], reason: 'ciblage' } }, '2024-09-01T10:00:00.000Z');
  const invalidated = known({ type: 'ControlFindingRecorded', data: { ...ref, indicator: 'V2_COORDINATION', outcome: 'invalidated', reason: 'aucune MSP' } }, '2024-10-01T10:00:00.000Z');
  const closed = known({ type: 'ControlClosed', data: { ...ref, paidCents: 814_100, recomputedAmountCents: 730_100, balanceCents: -84_000, notification: 'recovery' } }, '2024-10-15T10:00:00.000Z');
  const when = (given: KnownEvent[], command: ControlCommand) => () => decideControl(command, declarationFrom(given), ctx);

  it('opens a control on some indicators; refuses one more than 3 years after payment unless fraud', () => {
    expect(when([paid], { type: 'OpenControl', controlId: 'c1', indicators: ['V2_COORDINATION'], reason: 'ciblage', now: '2024-09-01T00:00:00Z' })()).toHaveLength(1);
    expect(refusal(when([paid], { type: 'OpenControl', controlId: 'c1', indicators: ['V2_COORDINATION'], reason: 'r', now: '2027-04-16T00:00:00Z' }))).toBe('RECOVERY_TIME_BARRED');
    expect(when([paid], { type: 'OpenControl', controlId: 'c1', indicators: ['V2_COORDINATION'], reason: 'r', now: '2027-04-16T00:00:00Z', fraud: true })()).toHaveLength(1);
  });

  it('findings only on the controlled indicators, only while open', () => {
    expect(refusal(when([paid, openedControl], { type: 'RecordFinding', controlId: 'c1', indicator: 'V2_CODAGE', outcome: 'invalidated', reason: 'r' }))).toBe('INDICATOR_NOT_CONTROLLED');
    expect(refusal(when([paid, openedControl, invalidated, closed], { type: 'RecordFinding', controlId: 'c1', indicator: 'V2_COORDINATION', outcome: 'confirmed', reason: 'r' }))).toBe('CONTROL_CLOSED');
    expect(refusal(when([], { type: 'RecordFinding', controlId: 'c9', indicator: 'V2_COORDINATION', outcome: 'confirmed', reason: 'r' }))).toBe('CONTROL_NOT_FOUND');
  });

  it('closure notifies a recovery when the recomputed amount is below what was paid, a complement when above', () => {
    const close = (amount: number) => when([paid, openedControl, invalidated], { type: 'CloseControl', controlId: 'c1', recomputedAmountCents: amount })()[0]!.data;
    expect(close(730_100)).toMatchObject({ balanceCents: -84_000, notification: 'recovery' });
    expect(close(900_000)).toMatchObject({ balanceCents: 85_900, notification: 'complement' });
    expect(close(814_100)).toMatchObject({ balanceCents: 0, notification: 'none' });
  });

  it('CONTESTATION_TOO_LATE: the doctor contests within 2 months of the notification', () => {
    const contest = (now: string) => when([paid, openedControl, invalidated, closed], { type: 'FileContestation', controlId: 'c1', reason: 'je participe à une MSP', now });
    expect(contest('2024-12-15T10:00:00Z')()).toHaveLength(1);
    expect(refusal(contest('2024-12-15T10:00:01Z'))).toBe('CONTESTATION_TOO_LATE');
    expect(refusal(when([paid, openedControl, invalidated], { type: 'FileContestation', controlId: 'c1', reason: 'r', now: '2024-10-20T00:00:00Z' }))).toBe('CONTROL_NOT_CLOSED');
  });

  it('the decision reverses the invalidated findings (all of them by default) or upholds them, once', () => {
    const filed = known({ type: 'ContestationFiled', data: { ...ref, reason: 'MSP' } }, '2024-11-01T10:00:00.000Z');
    const decide = (given: KnownEvent[], outcome: 'upheld' | 'reversed', indicators?: string[]) => when(given, { type: 'DecideContestation', controlId: 'c1', outcome, ...(indicators ? { indicators } : {}) });
    const base = [paid, openedControl, invalidated, closed];
    expect(decide([...base, filed], 'reversed')()[0]!.data).toMatchObject({ outcome: 'reversed', indicators: ['V2_COORDINATION'] });
    expect(refusal(decide([...base, filed], 'reversed', ['V2_CODAGE']))).toBe('INDICATOR_NOT_CONTROLLED');
    expect(refusal(decide(base, 'upheld'))).toBe('CONTESTATION_NOT_FOUND');
    const decided = known({ type: 'ContestationDecided', data: { ...ref, outcome: 'upheld', indicators: [] } });
    expect(refusal(decide([...base, filed, decided], 'reversed'))).toBe('CONTESTATION_ALREADY_DECIDED');
  });

  it('two calendar months, clamped at the end of a shorter month', () => {
    expect(new Date(addMonths('2023-12-31T10:00:00.000Z', 2)).toISOString()).toBe('2024-02-29T10:00:00.000Z');
    expect(new Date(addMonths('2024-10-15T10:00:00.000Z', 2)).toISOString()).toBe('2024-12-15T10:00:00.000Z');
  });
});
