import type { Actor, Channel, DeclaredLap, DomainEvent, IndicatorCode, JustificatifSubject, Measure, SegurLapValue, SegurSoftware } from '@forfait/events';
import type { KnownEvent } from '../events';
import { computeEntitlement, type Entitlement } from '../entitlement/entitlement';
import { FS_2023 } from '../ruleset/fs-2023';
import type { Ruleset } from '../ruleset/ruleset';

/**
 * Given-events builder for specifications: each fact is recorded at an instant that moves forward
 * by a minute unless said otherwise, with the channel and actor its kind implies.
 */
export class History {
  readonly campaign: KnownEvent[] = [];
  readonly doctor: KnownEvent[] = [];
  readonly declaration: KnownEvent[] = [];
  readonly earlier: KnownEvent[] = [];
  readonly earlierCampaigns: KnownEvent[] = [];
  private seq = 0;
  private clock = Date.parse('2023-12-11T08:00:00Z');

  constructor(
    readonly rpps = '10000000017',
    readonly year = 2023,
    readonly ruleset: Ruleset = FS_2023,
  ) {}

  private add(into: KnownEvent[], event: DomainEvent, o: { effectiveAt?: string; recordedAt?: string; channel?: Channel; actor?: Actor } = {}): KnownEvent {
    this.seq += 1;
    // An explicit instant is used as given; otherwise the clock moves on, never before the effective time.
    const at = o.recordedAt ? Date.parse(o.recordedAt) : Math.max(this.clock + 60_000, o.effectiveAt ? Date.parse(o.effectiveAt) : 0);
    this.clock = Math.max(this.clock, at);
    const recordedAt = new Date(at).toISOString();
    const e = {
      ...event,
      eventId: `e${String(this.seq).padStart(3, '0')}`,
      metadata: {
        recordedAt,
        effectiveAt: o.effectiveAt ? new Date(o.effectiveAt).toISOString() : recordedAt,
        channel: o.channel ?? 'system',
        actor: o.actor ?? { sub: 'spec', role: 'system' },
      },
    } as KnownEvent;
    into.push(e);
    return e;
  }

  /** Campaign 2023 as the letter opened it: 11/12/2023 → 04/02/2024. */
  opened(o: { opensAt?: string; closesAt?: string; recordedAt?: string } = {}): this {
    const opensAt = o.opensAt ?? '2023-12-11T00:00:00+01:00';
    this.add(
      this.campaign,
      {
        type: 'CampaignOpened',
        data: {
          year: this.year,
          ruleset: this.ruleset.id,
          rulesetVersion: this.ruleset.version,
          opensAt,
          closesAt: o.closesAt ?? '2024-02-04T23:59:59.999+01:00',
        },
      },
      { effectiveAt: opensAt, recordedAt: o.recordedAt ?? '2023-12-01T09:00:00Z', channel: 'back-office' },
    );
    return this;
  }

  extended(closesAt: string, recordedAt: string): KnownEvent {
    return this.add(
      this.campaign,
      { type: 'CampaignDeadlineExtended', data: { year: this.year, previousClosesAt: '2024-02-04T23:59:59.999+01:00', closesAt, reason: 'prolongation' } },
      { recordedAt, channel: 'back-office' },
    );
  }

  amended(
    indicator: IndicatorCode,
    changes: { target?: number | string; points?: number; neutralised?: boolean | 'deemed-met' | 'excluded' },
    recordedAt: string,
  ): KnownEvent {
    return this.add(
      this.campaign,
      { type: 'CampaignRuleAmended', data: { year: this.year, indicator, changes, reason: 'amendement' } },
      { recordedAt, channel: 'back-office' },
    );
  }

  /** A campaign list or parameter amended (spec "Parameters and lists a caisse can amend"). */
  amendedData(changes: { list: string; add?: unknown[]; remove?: unknown[] } | { parameter: string; value: unknown }, recordedAt: string): KnownEvent {
    return this.add(
      this.campaign,
      { type: 'CampaignRuleAmended', data: { year: this.year, changes, reason: 'amendement' } },
      { recordedAt, channel: 'back-office' },
    );
  }

  profile(
    specialty: string,
    o: {
      firstDeclarationYear?: number;
      effectiveAt?: string;
      recordedAt?: string;
      convention?: { status: 'conventionne' | 'non-conventionne'; since?: string; until?: string };
      effectiveFrom?: string;
      department?: string;
    } = {},
  ): this {
    this.add(
      this.doctor,
      {
        type: 'DoctorProfileRecorded',
        data: {
          rpps: this.rpps,
          specialty,
          caisse: '441',
          department: o.department ?? '44',
          ...(o.firstDeclarationYear ? { firstDeclarationYear: o.firstDeclarationYear } : {}),
          ...(o.convention ? { convention: o.convention } : {}),
          ...(o.effectiveFrom ? { effectiveFrom: o.effectiveFrom } : {}),
        },
      },
      { effectiveAt: o.effectiveAt ?? '2023-01-01T00:00:00+01:00', recordedAt: o.recordedAt ?? '2023-12-01T08:00:00Z', channel: 'import' },
    );
    return this;
  }

  /** A SONS pre-fill: the software only; a `lapCertified` given here is what SONS may send, and is ignored (rule 2). */
  prefillSegur(software: Partial<SegurSoftware> = {}, lapCertified?: boolean, o: { effectiveAt?: string; recordedAt?: string } = {}): KnownEvent {
    const value = { segurSoftware: softwareOf(software), ...(lapCertified !== undefined ? { lapCertified } : {}) };
    return this.add(
      this.declaration,
      { type: 'IndicatorPrefilled', data: { rpps: this.rpps, year: this.year, indicator: 'V1_SEGUR_LAP', source: 'SONS', value } },
      { effectiveAt: o.effectiveAt ?? '2023-12-11T00:00:00+01:00', channel: 'import', ...(o.recordedAt ? { recordedAt: o.recordedAt } : {}) },
    );
  }

  prefillHoraires(displayed: boolean, effectiveAt = '2023-11-20T10:00:00+01:00'): KnownEvent {
    return this.add(
      this.declaration,
      { type: 'IndicatorPrefilled', data: { rpps: this.rpps, year: this.year, indicator: 'V1_HORAIRES', source: 'ANNUAIRE_SANTE', value: { displayed } } },
      { effectiveAt, channel: 'import' },
    );
  }

  declare(
    indicator: Extract<DomainEvent, { type: 'IndicatorDeclared' }>['data']['indicator'],
    value: unknown,
    o: { effectiveAt?: string; recordedAt?: string; channel?: Channel; attestation?: boolean; postmarkedAt?: string } = {},
  ): KnownEvent {
    const postmark = o.postmarkedAt ? { postmarkedAt: new Date(o.postmarkedAt).toISOString() } : {};
    return this.add(
      this.declaration,
      {
        type: 'IndicatorDeclared',
        data: { rpps: this.rpps, year: this.year, indicator, value: value as never, attestation: o.attestation ?? true, ...postmark },
      },
      { effectiveAt: o.effectiveAt ?? '2024-01-15T10:00:00+01:00', channel: o.channel ?? 'amelipro', ...(o.recordedAt ? { recordedAt: o.recordedAt } : {}) },
    );
  }

  /** The doctor's declaration, naming its LAP (`lap: null` with lapCertified: a LAP declared unnamed). */
  declareSegur(
    software: Partial<SegurLapValue['segurSoftware']> = {},
    lapCertified = true,
    o: { effectiveAt?: string; recordedAt?: string; channel?: Channel; lap?: Partial<DeclaredLap> | null; postmarkedAt?: string } = {},
  ): KnownEvent {
    const { lap, ...at } = o;
    return this.declare('V1_SEGUR_LAP', segurValueOf(software, lapCertified, lap), at);
  }

  measure(indicator: IndicatorCode, measure: Measure, o: { recordedAt?: string } = {}): KnownEvent {
    return this.add(
      this.declaration,
      { type: 'MeasureRecorded', data: { rpps: this.rpps, year: this.year, indicator, source: 'SNDS', measure } },
      { effectiveAt: '2024-01-10T08:00:00+01:00', channel: 'import', ...(o.recordedAt ? { recordedAt: o.recordedAt } : {}) },
    );
  }

  rate(indicator: IndicatorCode, numerator: number, denominator: number): KnownEvent {
    return this.measure(indicator, { kind: 'rate', numerator, denominator });
  }

  /**
   * A justificatif sent (default 20/01/2024). V1_SEGUR_LAP: `subjects` default SEGUR and LAP; `proves`
   * default null, as before INT-7 (then the declaration or pre-fill in force when sent).
   */
  justificatif(
    indicator: IndicatorCode,
    decision?: 'validated' | 'rejected',
    o: {
      effectiveAt?: string;
      into?: KnownEvent[];
      year?: number;
      subjects?: JustificatifSubject[] | null;
      proves?: { segurSoftware: Partial<SegurLapValue['segurSoftware']>; lap: Partial<DeclaredLap> | null };
      /** A postal justificatif keyed by an agent (INT-8): `effectiveAt` is its receipt. */
      postmarkedAt?: string;
    } = {},
  ): string {
    const into = o.into ?? this.declaration;
    const year = o.year ?? this.year;
    const id = `j${this.seq + 1}`;
    const segur = indicator === 'V1_SEGUR_LAP';
    const subjects = segur ? (o.subjects === undefined ? (['SEGUR', 'LAP'] as JustificatifSubject[]) : o.subjects) : [];
    const proves =
      segur && o.proves
        ? { segurSoftware: { kind: 'cabinet' as const, ...softwareOf(o.proves.segurSoftware) }, lap: o.proves.lap === null ? null : lapOf(o.proves.lap) }
        : null;
    this.add(
      into,
      {
        type: 'JustificatifSubmitted',
        data: {
          rpps: this.rpps,
          year,
          justificatifId: id,
          indicator,
          sha256: 'a'.repeat(64),
          size: 1000,
          mediaType: 'application/pdf',
          subjects,
          proves,
          ...(o.postmarkedAt ? { postmarkedAt: new Date(o.postmarkedAt).toISOString() } : {}),
        },
      },
      {
        effectiveAt: o.effectiveAt ?? '2024-01-20T10:00:00+01:00',
        channel: o.postmarkedAt ? 'paper' : 'amelipro',
        ...(o.postmarkedAt ? { actor: { sub: 'agent-441', role: 'agent' } } : {}),
      },
    );
    if (decision === 'validated')
      this.add(into, { type: 'JustificatifValidated', data: { rpps: this.rpps, year, justificatifId: id, indicator } }, { channel: 'back-office' });
    if (decision === 'rejected')
      this.add(
        into,
        { type: 'JustificatifRejected', data: { rpps: this.rpps, year, justificatifId: id, indicator, reason: 'illisible' } },
        { channel: 'back-office' },
      );
    return id;
  }

  /**
   * A CPTS president's SAS attestation listing this doctor, decided by the CPAM at `decidedAt`: the
   * link its decision appends to the doctor-year (the attestation's own stream is not read here).
   */
  sasAttestation(
    o: { decision?: 'validated' | 'rejected'; cpts?: string; software?: string; receivedAt?: string; decidedAt?: string; reason?: string; id?: string } = {},
  ): KnownEvent {
    const decision = o.decision ?? 'validated';
    return this.add(
      this.declaration,
      {
        type: 'SasAttestationDecisionLinked',
        data: {
          rpps: this.rpps,
          year: this.year,
          attestationId: o.id ?? `sas-${this.year}-00000000000${this.seq % 10}`,
          cpts: o.cpts ?? 'CPTS Nantes Nord',
          software: o.software ?? 'Logiciel SAS',
          receivedAt: new Date(o.receivedAt ?? '2024-01-20T10:00:00+01:00').toISOString(),
          decision,
          ...(decision === 'rejected' ? { reason: o.reason ?? 'liste non signée' } : {}),
          decisionEventId: 'decision',
        },
      },
      { channel: 'back-office', ...(o.decidedAt ? { recordedAt: o.decidedAt, effectiveAt: o.decidedAt } : {}) },
    );
  }

  /** A past campaign's declaration stream (for first year and carried-over justificatifs). */
  earlierYear(
    year: number,
    software: Partial<SegurLapValue['segurSoftware']>,
    validated: boolean,
    o: { lap?: Partial<DeclaredLap> | null; subjects?: JustificatifSubject[] | null } = {},
  ): void {
    this.add(
      this.earlier,
      { type: 'IndicatorDeclared', data: { rpps: this.rpps, year, indicator: 'V1_SEGUR_LAP', value: segurValueOf(software, true, o.lap), attestation: true } },
      { effectiveAt: `${year + 1}-01-10T10:00:00+01:00`, recordedAt: `${year + 1}-01-10T09:00:00Z`, channel: 'amelipro' },
    );
    this.justificatif('V1_SEGUR_LAP', validated ? 'validated' : undefined, {
      into: this.earlier,
      year,
      effectiveAt: `${year + 1}-01-11T10:00:00+01:00`,
      ...(o.subjects !== undefined ? { subjects: o.subjects } : {}),
    });
  }

  /** An earlier campaign recorded here (`campaign-<year>`), opened in December of that year. */
  earlierCampaign(year: number, recordedAt = `${year}-12-01T09:00:00Z`): this {
    this.add(
      this.earlierCampaigns,
      {
        type: 'CampaignOpened',
        data: { year, ruleset: 'FS-2023', rulesetVersion: '1', opensAt: `${year}-12-11T00:00:00+01:00`, closesAt: `${year + 1}-02-04T23:59:59.999+01:00` },
      },
      { effectiveAt: `${year}-12-11T00:00:00+01:00`, recordedAt, channel: 'back-office' },
    );
    return this;
  }

  /** A declaration of the doctor in an earlier campaign (any indicator). */
  declaredIn(year: number, indicator: Extract<DomainEvent, { type: 'IndicatorDeclared' }>['data']['indicator'] = 'V2_VIDEO'): this {
    this.add(
      this.earlier,
      { type: 'IndicatorDeclared', data: { rpps: this.rpps, year, indicator, value: { answer: true }, attestation: true } },
      { effectiveAt: `${year + 1}-01-10T10:00:00+01:00`, recordedAt: `${year + 1}-01-10T09:00:00Z`, channel: 'amelipro' },
    );
    return this;
  }

  finding(indicator: IndicatorCode, outcome: 'confirmed' | 'invalidated', recordedAt: string, controlId = 'c1'): KnownEvent {
    return this.add(
      this.declaration,
      { type: 'ControlFindingRecorded', data: { controlId, rpps: this.rpps, year: this.year, indicator, outcome, reason: 'pièces non probantes' } },
      { recordedAt, channel: 'back-office' },
    );
  }

  contestationDecided(outcome: 'upheld' | 'reversed', indicators: IndicatorCode[], recordedAt: string, controlId = 'c1'): KnownEvent {
    return this.add(
      this.declaration,
      { type: 'ContestationDecided', data: { controlId, rpps: this.rpps, year: this.year, outcome, indicators } },
      { recordedAt, channel: 'back-office' },
    );
  }

  paid(amountCents: number, recordedAt: string): KnownEvent {
    return this.add(
      this.declaration,
      { type: 'PaymentRecorded', data: { rpps: this.rpps, year: this.year, amountCents, paidAt: recordedAt } },
      { recordedAt, channel: 'system' },
    );
  }

  /** Volet 1 met: software pre-filled and the LAP declared by the doctor, hours pre-filled, tele-transmission 90 %. */
  volet1Met(): this {
    this.prefillSegur();
    this.declareSegur();
    this.prefillHoraires(true);
    this.measure('V1_TELETRANSMISSION', { kind: 'teletransmission', numerator: 900, denominator: 1000, teletransmittedPreviousYear: true });
    return this;
  }

  /** Everything a doctor can meet: pre-filled software and hours, every measure and declaration met. */
  everythingMet(o: { mss?: boolean } = {}): this {
    this.volet1Met();
    for (const [code, n] of [
      ['V2_AAT', 70],
      ['V2_CMATMP', 45],
      ['V2_PSE', 80],
      ['V2_DCMT', 90],
      ['V2_SPE', 20],
      ['V2_DSG', 10],
      ['V2_DMP', 10],
      ['V2_ORDONNANCE_NUMERIQUE', 30],
    ] as const) {
      this.rate(code, n, 100);
    }
    this.rate('V2_MSS', o.mss === false ? 4 : 5, 100);
    this.measure('V2_APCV', { kind: 'count', numerator: 1 });
    this.measure('V2_SAS', { kind: 'participation', participates: true });
    this.declare('V2_CODAGE', { answer: true });
    this.declare('V2_COORDINATION', { answer: true, modalities: ['MSP'] });
    this.declare('V2_SERVICES_PATIENTS', { answer: true, modalities: ['MAIA'] });
    this.declare('V2_MAITRE_STAGE', { answer: true });
    this.declare('V2_VIDEO', { answer: true });
    this.declare('V2_EQUIPEMENT_CONNECTE', { answer: true, devices: ['OXYMETRE'] });
    return this;
  }

  entitlement(knownAt = '2024-06-30T00:00:00Z', ruleset: Ruleset = this.ruleset): Entitlement {
    return computeEntitlement({
      rpps: this.rpps,
      year: this.year,
      ruleset,
      knownAt,
      campaign: this.campaign,
      doctor: this.doctor,
      declaration: this.declaration,
      earlier: this.earlier,
      earlierCampaigns: this.earlierCampaigns,
    });
  }
}

function softwareOf(s: Partial<SegurSoftware>): SegurSoftware {
  const { editor = 'Éditeur', name = 'Logiciel', version = '1.0', acquiredOn = '2023-03-01' } = s;
  return { editor, name, version, acquiredOn };
}

export const DEFAULT_LAP: DeclaredLap = { editor: 'Éditeur LAP', name: 'Prescripteur', version: '4', certification: 'definitive' };
function lapOf(l: Partial<DeclaredLap>): DeclaredLap {
  return { ...DEFAULT_LAP, ...l };
}

function segurValueOf(software: Partial<SegurLapValue['segurSoftware']>, lapCertified: boolean, lap: Partial<DeclaredLap> | null | undefined): SegurLapValue {
  return {
    segurSoftware: { ...softwareOf(software), kind: software.kind ?? 'cabinet' },
    lapCertified,
    lap: !lapCertified || lap === null ? null : lapOf(lap ?? {}),
  };
}

export function indicator(e: Entitlement, code: IndicatorCode) {
  const r = [...e.volet1.indicators, ...e.volet2.indicators].find((i) => i.code === code);
  if (!r) throw new Error(`no result for ${code}`);
  return r;
}
