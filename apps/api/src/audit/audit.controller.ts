import { Get, Inject, Param, Query, Req, Res, StreamableFile } from '@nestjs/common';
import type { Response } from 'express';
import { DomainRefusal, latestEffective, ofType } from '@forfait/domain';
import { auditBundlePdf, recapPdf, type RecapLine } from './pdf';
import { ApiOperation, ApiQuery } from '@nestjs/swagger';
import { toEntitlementView, type EntitlementView } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import { IncrementalIntegrity } from '@forfait/store';
import { RateLimited } from '../common/rate-limit';
import type { SegurLapValue } from '@forfait/events';
import { AccessJournalHandler, DoctorYearReader, EntitlementService, resolveCampaign } from '@forfait/application';
import { Public, Roles, type AuthedRequest } from '../auth/auth.guard';
import { AUDIT_BUNDLE_SCHEMA } from './bundle';
import { ForbiddenError } from '../auth/auth.errors';
import { parseInstant, RequestValidationError, RppsPipe, YearPipe } from '../common/validation';
import { DOCTOR_READERS as READERS, Scope } from '../core/scope';
import { CommandController, CommandSender, Sender } from '../core/command-sender';
import { RUNTIME } from '../runtime.token';
import { AuditBundleService } from './audit-bundle.service';
import { explainIndicators } from './explain';

type IndicatorView = { code: string; met: boolean; points?: number; reason: string; evidence: string[] };

/** The tools of disputes: integrity of every chain, and what changed between two instants, and why. */
@CommandController('v1', 'audit')
export class AuditController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(EntitlementService) private readonly entitlements: EntitlementService,
    @Inject(DoctorYearReader) private readonly reader: DoctorYearReader,
    @Inject(Scope) private readonly scope: Scope,
    @Inject(AccessJournalHandler) private readonly journal: AccessJournalHandler,
    @Inject(AuditBundleService) private readonly bundles: AuditBundleService,
    @Inject(IncrementalIntegrity) private readonly integrityCheck: IncrementalIntegrity,
  ) {}

  @Get('doctors/:rpps/campaigns/:year/audit-bundle')
  @Roles(...READERS)
  @RateLimited()
  @ApiQuery({ name: 'knownAt', required: false })
  @ApiOperation({ summary: 'The audit bundle (JSON): history with hash chains, entitlement timeline, explanation of every euro, controls; verifiable offline' })
  async bundle(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @Query('knownAt') knownAt: string | undefined,
    @Req() req: AuthedRequest,
    @Sender() sender: CommandSender,
    @Res({ passthrough: true }) res: Response,
  ) {
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    const at = parseInstant(knownAt, 'knownAt');
    const bundle = await this.bundles.build(rpps, year, at, `${req.principal.role}:${req.principal.sub}`);
    await this.journal.record({ rpps, year, resource: 'audit-bundle', ...(at ? { knownAt: at } : {}) }, sender.meta('back-office'));
    if (req.accepts(['application/json', 'application/pdf']) === 'application/pdf') {
      res.setHeader('Content-Type', 'application/pdf');
      return new StreamableFile(await auditBundlePdf(bundle), { type: 'application/pdf', disposition: `inline; filename="dossier-audit-${rpps}-${year}.pdf"` });
    }
    return bundle;
  }

  @Get('schemas/audit-bundle.json')
  @Public()
  @ApiOperation({ summary: 'The JSON Schema of the audit bundle (format forfait-structure-audit-bundle/2), also in docs/audit-bundle.schema.json' })
  auditBundleSchema(@Res({ passthrough: true }) res: Response) {
    res.setHeader('Content-Type', 'application/schema+json; charset=utf-8');
    return AUDIT_BUNDLE_SCHEMA;
  }

  @Get('doctors/:rpps/campaigns/:year/recap.pdf')
  @Roles(...READERS)
  @RateLimited()
  @ApiOperation({ summary: 'The declaration summary (récapitulatif amelipro): what was declared, attested on honour, when, by which channel' })
  async recap(@Param('rpps', RppsPipe) rpps: string, @Param('year', YearPipe) year: number, @Req() req: AuthedRequest) {
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    const [campaign, declaration, doctor] = await Promise.all([this.reader.campaign(year), this.reader.declaration(rpps, year), this.reader.doctor(rpps)]);
    const { base: ruleset } = resolveCampaign(campaign.events);
    const declared = ofType(declaration.events, 'IndicatorDeclared');
    const transmissions = ofType(declaration.events, 'DeclarationTransmitted');
    // "Transmettre" pressed: the first transmission; what was declared after it is marked.
    const firstTransmission = transmissions.map((t) => Date.parse(t.metadata.recordedAt)).sort((a, b) => a - b)[0];
    const codes = [...new Set(declared.map((d) => d.data.indicator))];
    const lines: RecapLine[] = codes.map((code) => {
      const all = declared.filter((d) => d.data.indicator === code);
      const last = latestEffective(all)!;
      const rule = ruleset ? [...ruleset.volet1.indicators, ...ruleset.volet2.indicators].find((r) => r.code === code) : undefined;
      return {
        indicator: code,
        label: rule?.label ?? code,
        value: describeValue(code, last.data.value),
        attestation: last.data.attestation,
        effectiveAt: last.metadata.effectiveAt,
        recordedAt: last.metadata.recordedAt,
        channel: last.metadata.channel,
        corrections: all.length - 1,
        afterTransmission: firstTransmission !== undefined && Date.parse(last.metadata.recordedAt) > firstTransmission,
      };
    });
    const transmitted = latestEffective(transmissions);
    const profile = [...ofType(doctor.events, 'DoctorProfileRecorded')].pop();
    const generatedAt = this.runtime.clock.now().toISOString();
    const pdf = await recapPdf({
      rpps,
      year,
      reference: `RC-${year}-${rpps}-${generatedAt.replace(/[-:T]/g, '').slice(0, 14)}`,
      doctor: profile
        ? {
            ...(profile.data.name ? { name: profile.data.name } : {}),
            specialty: profile.data.specialty,
            caisse: profile.data.caisse,
            department: profile.data.department,
          }
        : null,
      lines,
      transmittedAt: transmitted?.metadata.effectiveAt ?? null,
      generatedAt,
    });
    return new StreamableFile(pdf, { type: 'application/pdf', disposition: `inline; filename="recapitulatif-${rpps}-${year}.pdf"` });
  }

  @Get('doctors/:rpps/access-journal')
  @Roles('auditor', 'doctor')
  @ApiOperation({ summary: 'Staff reads of a doctor’s history, diffs and bundles: who, when, what (auditor; the doctor for its own)' })
  async doctorAccessJournal(@Param('rpps', RppsPipe) rpps: string, @Req() req: AuthedRequest) {
    if (req.principal.role === 'doctor' && req.principal.rpps !== rpps)
      throw new ForbiddenError('un médecin ne lit que son propre journal des accès', { reason: 'OTHER_DOCTOR' });
    return { rpps, reads: await this.journal.list(rpps) };
  }

  /** The same, by query (kept for the consumers of the first version). */
  @Get('access-journal')
  @Roles('auditor')
  @ApiQuery({ name: 'rpps', required: true })
  @ApiOperation({ summary: 'Staff reads of a doctor’s history, diffs and bundles: who, when, what' })
  async accessJournal(@Query('rpps') rpps: string | undefined) {
    const valid = new RppsPipe().transform(rpps ?? '');
    return { rpps: valid, reads: await this.journal.list(valid) };
  }

  @Get('integrity')
  @Roles('auditor', 'admin')
  @RateLimited()
  @ApiOperation({
    summary:
      'Events checked from the last verified position (chains, positions, leaves, the heads they touch), the tree against the latest signed checkpoint, and a window of INTEGRITY_SWEEP events, leaves and heads verified before, moving on at each call (sweep): { ok, verifiedUpTo, checkedEvents, lastFullCheck, streams, events, sweep, problems, firstBroken? }; the full recomputation is `npm run cli -- verify` or the full-verification job',
  })
  async integrity() {
    const report = await this.integrityCheck.check();
    return { ...report, checkedAt: this.runtime.clock.now().toISOString(), headPosition: (await this.runtime.store.headPosition()).toString() };
  }

  @Get('doctors/:rpps/campaigns/:year/entitlement/diff')
  @Roles(...READERS)
  @RateLimited()
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: false, description: 'omitted: now' })
  @ApiOperation({ summary: 'What changed in the entitlement between two instants, and the events that changed it' })
  async diff(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @Query('from') fromText: string | undefined,
    @Query('to') toText: string | undefined,
    @Req() req: AuthedRequest,
    @Sender() sender: CommandSender,
  ) {
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    const from = parseInstant(fromText, 'from');
    if (!from) throw new RequestValidationError('from is required', { field: 'from' }, 'INVALID_INSTANT');
    const to = parseInstant(toText, 'to') ?? this.runtime.clock.now().toISOString();
    if (Date.parse(from) >= Date.parse(to)) throw new RequestValidationError('from must be before to', {}, 'INVALID_INSTANT');
    const [before, after] = await Promise.all([this.view(rpps, year, from), this.view(rpps, year, to)]);
    const index = (v: EntitlementView | null) =>
      new Map<string, IndicatorView>(v ? [...v.volet1.indicators, ...v.volet2.indicators].map((i) => [i.code, i]) : []);
    const a = index(before);
    const b = index(after);
    const indicators = [...new Set([...a.keys(), ...b.keys()])]
      .map((code) => ({ code, from: a.get(code) ?? null, to: b.get(code) ?? null }))
      .filter(
        (c) =>
          JSON.stringify(c.from && { met: c.from.met, points: c.from.points, reason: c.from.reason }) !==
          JSON.stringify(c.to && { met: c.to.met, points: c.to.points, reason: c.to.reason }),
      );
    const totals = (v: EntitlementView | null) =>
      v ? { volet1Met: v.volet1.met, totalPoints: v.totalPoints, amountCents: v.amountCents, paidCents: v.paidCents, balanceCents: v.balanceCents } : null;
    const streams = await Promise.all([this.reader.campaign(year), this.reader.doctor(rpps), this.reader.declaration(rpps, year)]);
    const events = streams
      .flatMap((s) => s.raw)
      .filter((e) => Date.parse(e.metadata.recordedAt) > Date.parse(from) && Date.parse(e.metadata.recordedAt) <= Date.parse(to))
      .sort((x, y) => (x.position < y.position ? -1 : 1))
      .map((e) => ({
        eventId: e.eventId,
        streamId: e.streamId,
        type: e.type,
        recordedAt: e.metadata.recordedAt,
        effectiveAt: e.metadata.effectiveAt,
        actor: e.metadata.actor,
        channel: e.metadata.channel,
        data: e.data,
      }));
    await this.journal.record({ rpps, year, resource: 'entitlement-diff', knownAt: to }, sender.meta('back-office'));
    return {
      rpps,
      year,
      from,
      to,
      totals: { from: totals(before), to: totals(after) },
      indicators,
      events,
      changes: diffChanges(totals(before), totals(after), indicators, events),
    };
  }

  // Not rate limited: the same computation as the entitlement at knownAt, which the "as known at" slider asks at each step.
  @Get('doctors/:rpps/campaigns/:year/entitlement/explanation')
  @Roles(...READERS)
  @ApiQuery({ name: 'knownAt', required: false, description: 'ISO instant with offset; omitted: now' })
  @ApiOperation({
    summary:
      'Why each euro is due: per indicator its rule (kind, parameters, sources), its points and euros, its reason and the events that decided it (extension of api.md)',
  })
  // Not in the access journal, like the entitlement it explains (the history it cites is journaled when read).
  async explanation(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @Query('knownAt') knownAt: string | undefined,
    @Req() req: AuthedRequest,
  ) {
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    const at = parseInstant(knownAt, 'knownAt') ?? this.runtime.clock.now().toISOString();
    const [{ entitlement, ruleset, known }, streams] = await Promise.all([
      this.entitlements.compute(rpps, year, at),
      Promise.all([this.reader.campaign(year), this.reader.doctor(rpps), this.reader.declaration(rpps, year)]),
    ]);
    // As the entitlement it explains: 404 for a doctor with neither a profile nor an event that year.
    if (!known) throw new DomainRefusal('DOCTOR_NOT_FOUND', `aucune fiche ni aucun événement pour le médecin ${rpps} en ${year}`);
    const byId = new Map(streams.flatMap((s) => s.raw).map((e) => [e.eventId, e]));
    const pointValueCents = ruleset.pointValueCents;
    const indicators = explainIndicators(entitlement, pointValueCents, byId).map(({ rule, ...i }) => {
      const { code: _code, label: _label, provenance, ...parameters } = rule;
      return { ...i, rule: { parameters, sources: provenance } };
    });
    return {
      rpps,
      year,
      knownAt: at,
      ruleset: entitlement.ruleset,
      rulesetVersion: entitlement.rulesetVersion,
      pointValueCents,
      // Guide 2023 §I: volet 1 is a gate; not met, volet 2 is not paid.
      volet1: { met: entitlement.volet1.met, rule: 'volet 1 : tous les prérequis atteints, sinon le volet 2 n’est pas rémunéré (guide 2023 §I)' },
      indicators,
      totalPointsExact: entitlement.totalPoints.toString(),
      amountCents: entitlement.amountCents,
      paidCents: entitlement.paidCents,
      balanceCents: entitlement.balanceCents,
    };
  }

  /** The view at an instant, or null when the campaign was not known yet. */
  private async view(rpps: string, year: number, at: string): Promise<EntitlementView | null> {
    try {
      return toEntitlementView((await this.entitlements.compute(rpps, year, at)).entitlement);
    } catch (error) {
      if ((error as { code?: string }).code === 'CAMPAIGN_NOT_FOUND') return null;
      throw error;
    }
  }
}

/** A declared value as the doctor would read it. */
function describeValue(code: string, value: unknown): string {
  const v = value as { answer?: boolean; modalities?: string[]; devices?: string[]; displayed?: boolean } & Partial<SegurLapValue>;
  if (code === 'V1_SEGUR_LAP' && v.segurSoftware) {
    const s = v.segurSoftware;
    const dpi = s.kind === 'DPI_ETABLISSEMENT' ? ' (DPI de l’établissement)' : '';
    const certification = {
      definitive: 'certification définitive',
      provisional: 'certification provisoire',
      'older-referentiel': 'certifié sur un référentiel antérieur',
    } as const;
    // Rule 2: the LAP the doctor named (unnamed: declared before `lap` existed, or without naming it).
    const lap = !v.lapCertified
      ? 'non'
      : v.lap
        ? `${v.lap.editor} ${v.lap.name}${v.lap.version ? ` ${v.lap.version}` : ''} (${certification[v.lap.certification]})`
        : 'oui (non nommé)';
    return `logiciel ${s.editor} ${s.name} ${s.version}${dpi}, acquis le ${s.acquiredOn.split('-').reverse().join('/')} ; LAP certifié HAS : ${lap}`;
  }
  if (code === 'V1_HORAIRES') return v.displayed ? 'horaires affichés dans Annuaire santé' : 'horaires non affichés';
  const list = v.modalities ?? v.devices;
  return `${v.answer ? 'oui' : 'non'}${list && list.length > 0 ? ` (${list.join(', ')})` : ''}`;
}

type Totals = { volet1Met: boolean; totalPoints: number; amountCents: number; paidCents: number; balanceCents: number } | null;

/**
 * api.md's `changes: [{ code, field, before, after, eventIds }]`: one line per field that moved,
 * for the totals (code `TOTAL`) and each indicator; `eventIds` are the events of the window that
 * decided it (the indicator's evidence recorded in the window, else the window's events about the
 * indicator; for the totals, every event of the window).
 */
export function diffChanges(
  before: Totals,
  after: Totals,
  indicators: { code: string; from: IndicatorView | null; to: IndicatorView | null }[],
  events: { eventId: string; type?: string; data: unknown }[],
): { code: string; field: string; before: unknown; after: unknown; eventIds: string[] }[] {
  const inWindow = new Set(events.map((e) => e.eventId));
  const changes: { code: string; field: string; before: unknown; after: unknown; eventIds: string[] }[] = [];
  const totals: typeof changes = [];
  for (const field of ['volet1Met', 'totalPoints', 'amountCents', 'paidCents', 'balanceCents'] as const) {
    const b = before ? before[field] : null;
    const a = after ? after[field] : null;
    if (b !== a) totals.push({ code: 'TOTAL', field, before: b, after: a, eventIds: [] });
  }
  for (const c of indicators) {
    const evidence = (c.to?.evidence ?? []).filter((id) => inWindow.has(id));
    const about = events.filter((e) => (e.data as { indicator?: unknown } | null)?.indicator === c.code).map((e) => e.eventId);
    const eventIds = evidence.length > 0 ? evidence : about;
    for (const field of ['met', 'points', 'reason'] as const) {
      const b = c.from ? ((c.from as unknown as Record<string, unknown>)[field] ?? null) : null;
      const a = c.to ? ((c.to as unknown as Record<string, unknown>)[field] ?? null) : null;
      if (JSON.stringify(b) !== JSON.stringify(a)) changes.push({ code: c.code, field, before: b, after: a, eventIds });
    }
  }
  // The totals moved because the indicators did (payments aside: the window's PaymentRecorded).
  const causes = new Set([...changes.flatMap((c) => c.eventIds), ...events.filter((e) => e.type === 'PaymentRecorded').map((e) => e.eventId)]);
  for (const t of totals) t.eventIds = [...causes];
  return [...totals, ...changes];
}
