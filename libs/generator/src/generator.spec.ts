import { isValidRpps } from '@forfait/events';
import { profileOf, windowEvents, windows, type GeneratorOptions, type PlannedEvent } from './generator';

/** Every event of a generated dataset, window by window, as the writer would append them. */
function all(options: GeneratorOptions): PlannedEvent[] {
  return windows(options.years).flatMap(([from, to]) => windowEvents(options, from, to));
}

describe('generator (issue 7)', () => {
  const options: GeneratorOptions = { doctors: 300, seed: 'spec', years: [2023] };
  const events = all(options);
  const byType = (type: string) => events.filter((p) => p.event.type === type);

  it('is deterministic: the same seed gives the same events, ids included; another seed does not', () => {
    const again = all(options);
    expect(again.map((p) => [p.at, p.streamId, p.event.eventId, JSON.stringify(p.event.data)])).toEqual(
      events.map((p) => [p.at, p.streamId, p.event.eventId, JSON.stringify(p.event.data)]),
    );
    const other = all({ ...options, seed: 'other' });
    expect(other.map((p) => p.event.eventId)).not.toEqual(events.map((p) => p.event.eventId));
    expect(new Set(events.map((p) => p.event.eventId)).size).toBe(events.length);
  });

  it('gives each doctor the same profile whatever the size of the dataset', () => {
    const small = all({ ...options, doctors: 20 }).filter((p) => p.event.type === 'DoctorProfileRecorded');
    expect(small.map((p) => p.event.data)).toEqual(
      byType('DoctorProfileRecorded')
        .slice(0, 20)
        .map((p) => p.event.data),
    );
  });

  it('writes about 30 events per doctor-year, in instant order', () => {
    expect(events.length / options.doctors).toBeGreaterThan(25);
    expect(events.length / options.doctors).toBeLessThan(35);
    const ats = events.map((p) => p.at);
    expect([...ats].sort()).toEqual(ats);
  });

  it('draws plausible proportions: general practice about half, every caisse a 3-digit code, valid RPPS', () => {
    const profiles = byType('DoctorProfileRecorded').map((p) => p.event.data as { rpps: string; specialty: string; caisse: string });
    expect(profiles).toHaveLength(options.doctors);
    const gp = profiles.filter((p) => p.specialty === 'medecine-generale').length / profiles.length;
    expect(gp).toBeGreaterThan(0.4);
    expect(gp).toBeLessThan(0.7);
    expect(new Set(profiles.map((p) => p.specialty)).size).toBeGreaterThan(8);
    expect(profiles.every((p) => /^\d{3}$/.test(p.caisse) && isValidRpps(p.rpps))).toBe(true);
    expect(profiles[7]).toMatchObject(profileOf('spec', 7));
  });

  it('has every kind of history: pre-fills, measures, corrections, justificatifs in each state, late paper forms, controls', () => {
    for (const type of [
      'CampaignOpened',
      'CampaignDeadlineExtended',
      'CampaignClosed',
      'IndicatorPrefilled',
      'MeasureRecorded',
      'IndicatorDeclared',
      'DeclarationTransmitted',
      'JustificatifSubmitted',
      'JustificatifValidated',
      'JustificatifRejected',
      'EntitlementCalculated',
      'PaymentRecorded',
      'ControlOpened',
      'ControlClosed',
    ]) {
      expect([type, byType(type).length > 0]).toEqual([type, true]);
    }
    const submitted = byType('JustificatifSubmitted').length;
    const decided = byType('JustificatifValidated').length + byType('JustificatifRejected').length;
    expect(decided).toBeLessThan(submitted); // some are still pending
    // Corrections: the same indicator declared twice in one doctor-year.
    const keys = byType('IndicatorDeclared').map((p) => `${p.streamId}:${(p.event.data as { indicator: string }).indicator}`);
    expect(new Set(keys).size).toBeLessThan(keys.length);
    // Late paper forms: keyed after the deadline, received before it.
    const paper = byType('IndicatorDeclared').filter((p) => p.event.metadata.channel === 'paper');
    expect(paper.length).toBeGreaterThan(0);
    const deadline = Date.parse('2024-02-11T23:59:59.999+01:00');
    expect(paper.every((p) => Date.parse(p.at) > deadline && Date.parse(p.event.metadata.effectiveAt) <= deadline)).toBe(true);
  });

  it('records calculations the rules engine computed, and pays what was calculated', () => {
    const calculated = byType('EntitlementCalculated').map((p) => p.event.data as { rpps: string; amountCents: number; totalPoints: string });
    expect(calculated.filter((c) => c.amountCents > 0).length / calculated.length).toBeGreaterThan(0.5);
    // 7 EUR a point (spec, "Amount"), rounded once.
    const points = (exact: string) => {
      const [num, den = '1'] = exact.split('/');
      return Number(num) / Number(den);
    };
    for (const c of calculated.slice(0, 50)) expect(Math.abs(c.amountCents - points(c.totalPoints) * 700)).toBeLessThanOrEqual(1);
    const paid = new Map(
      byType('PaymentRecorded').map((p) => [(p.event.data as { rpps: string }).rpps, (p.event.data as { amountCents: number }).amountCents]),
    );
    for (const c of calculated) expect(paid.get(c.rpps)).toBe(c.amountCents);
  });
});
