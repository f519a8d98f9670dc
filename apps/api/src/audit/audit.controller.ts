import { Controller, Get, Inject, Param, Query, Req, Res, StreamableFile } from '@nestjs/common';
import type { Response } from 'express';
import { campaignFrom, findRuleset, latestEffective, ofType } from '@forfait/domain';
import { auditBundlePdf, recapPdf, type RecapLine } from './pdf';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { toEntitlementView, type EntitlementView } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import { verifyIntegrity } from '@forfait/store';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { parseInstant, RequestValidationError, RppsPipe, YearPipe } from '../common/validation';
import { EntitlementService } from '../core/entitlement.service';
import { DOCTOR_READERS as READERS, Scope } from '../core/scope';
import { StreamReader } from '../core/stream-reader';
import type { ContextRequest } from '../core/request-context';
import { RUNTIME } from '../runtime.token';
import { AccessJournal } from './access-journal';
import { AuditBundleService } from './audit-bundle.service';

type IndicatorView = { code: string; met: boolean; points?: number; reason: string; evidence: string[] };

/** The tools of disputes: integrity of every chain, and what changed between two instants, and why. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1')
export class AuditController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(EntitlementService) private readonly entitlements: EntitlementService,
    @Inject(StreamReader) private readonly reader: StreamReader,
    @Inject(Scope) private readonly scope: Scope,
    @Inject(AccessJournal) private readonly journal: AccessJournal,
    @Inject(AuditBundleService) private readonly bundles: AuditBundleService,
  ) {}

  @Get('doctors/:rpps/campaigns/:year/audit-bundle')
  @Roles(...READERS)
  @ApiQuery({ name: 'knownAt', required: false })
  @ApiOperation({ summary: 'The audit bundle (JSON): history with hash chains, entitlement timeline, explanation of every euro, controls; verifiable offline' })
  async bundle(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @Query('knownAt') knownAt: string | undefined,
    @Req() req: AuthedRequest & ContextRequest,
    @Res({ passthrough: true }) res: Response,
  ) {
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    const at = parseInstant(knownAt, 'knownAt');
    const bundle = await this.bundles.build(rpps, year, at, `${req.principal.role}:${req.principal.sub}`);
    await this.journal.record(req.principal, req.correlationId, { rpps, year, resource: 'audit-bundle', ...(at ? { knownAt: at } : {}) });
    if (req.accepts(['application/json', 'application/pdf']) === 'application/pdf') {
      res.setHeader('Content-Type', 'application/pdf');
      return new StreamableFile(await auditBundlePdf(bundle), { type: 'application/pdf', disposition: `inline; filename="dossier-audit-${rpps}-${year}.pdf"` });
    }
    return bundle;
  }

  @Get('doctors/:rpps/campaigns/:year/recap.pdf')
  @Roles(...READERS)
  @ApiOperation({ summary: 'The declaration summary (récapitulatif amelipro): what was declared, attested on honour, when, by which channel' })
  async recap(@Param('rpps', RppsPipe) rpps: string, @Param('year', YearPipe) year: number, @Req() req: AuthedRequest) {
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    const [campaign, declaration] = await Promise.all([this.reader.campaign(year), this.reader.declaration(rpps, year)]);
    const state = campaignFrom(campaign.events);
    const ruleset = state.status === 'none' ? undefined : findRuleset(state.ruleset, state.rulesetVersion);
    const declared = ofType(declaration.events, 'IndicatorDeclared');
    const codes = [...new Set(declared.map((d) => d.data.indicator))];
    const lines: RecapLine[] = codes.map((code) => {
      const all = declared.filter((d) => d.data.indicator === code);
      const last = latestEffective(all)!;
      const rule = ruleset ? [...ruleset.volet1.indicators, ...ruleset.volet2.indicators].find((r) => r.code === code) : undefined;
      return { indicator: code, label: rule?.label ?? code, value: describeValue(code, last.data.value), attestation: last.data.attestation, effectiveAt: last.metadata.effectiveAt, channel: last.metadata.channel, corrections: all.length - 1 };
    });
    const transmitted = latestEffective(ofType(declaration.events, 'DeclarationTransmitted'));
    const pdf = await recapPdf({ rpps, year, lines, transmittedAt: transmitted?.metadata.effectiveAt ?? null, generatedAt: this.runtime.clock.now().toISOString() });
    return new StreamableFile(pdf, { type: 'application/pdf', disposition: `inline; filename="recapitulatif-${rpps}-${year}.pdf"` });
  }

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
  @ApiOperation({ summary: 'Recompute every hash chain: { ok, streams, events, firstBroken? }' })
  async integrity() {
    const report = await verifyIntegrity(this.runtime.store);
    return { ...report, checkedAt: this.runtime.clock.now().toISOString(), headPosition: (await this.runtime.store.headPosition()).toString() };
  }

  @Get('doctors/:rpps/campaigns/:year/entitlement/diff')
  @Roles(...READERS)
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: false, description: 'omitted: now' })
  @ApiOperation({ summary: 'What changed in the entitlement between two instants, and the events that changed it' })
  async diff(@Param('rpps', RppsPipe) rpps: string, @Param('year', YearPipe) year: number, @Query('from') fromText: string | undefined, @Query('to') toText: string | undefined, @Req() req: AuthedRequest & ContextRequest) {
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    const from = parseInstant(fromText, 'from');
    if (!from) throw new RequestValidationError('from is required', { field: 'from' }, 'INVALID_INSTANT');
    const to = parseInstant(toText, 'to') ?? this.runtime.clock.now().toISOString();
    if (Date.parse(from) >= Date.parse(to)) throw new RequestValidationError('from must be before to', {}, 'INVALID_INSTANT');
    const [before, after] = await Promise.all([this.view(rpps, year, from), this.view(rpps, year, to)]);
    const index = (v: EntitlementView | null) => new Map<string, IndicatorView>(v ? [...v.volet1.indicators, ...v.volet2.indicators].map((i) => [i.code, i]) : []);
    const a = index(before);
    const b = index(after);
    const indicators = [...new Set([...a.keys(), ...b.keys()])]
      .map((code) => ({ code, from: a.get(code) ?? null, to: b.get(code) ?? null }))
      .filter((c) => JSON.stringify(c.from && { met: c.from.met, points: c.from.points, reason: c.from.reason }) !== JSON.stringify(c.to && { met: c.to.met, points: c.to.points, reason: c.to.reason }));
    const totals = (v: EntitlementView | null) => (v ? { volet1Met: v.volet1.met, totalPoints: v.totalPoints, amountCents: v.amountCents, paidCents: v.paidCents, balanceCents: v.balanceCents } : null);
    const streams = await Promise.all([this.reader.campaign(year), this.reader.doctor(rpps), this.reader.declaration(rpps, year)]);
    const events = streams
      .flatMap((s) => s.raw)
      .filter((e) => Date.parse(e.metadata.recordedAt) > Date.parse(from) && Date.parse(e.metadata.recordedAt) <= Date.parse(to))
      .sort((x, y) => (x.position < y.position ? -1 : 1))
      .map((e) => ({ eventId: e.eventId, streamId: e.streamId, type: e.type, recordedAt: e.metadata.recordedAt, effectiveAt: e.metadata.effectiveAt, actor: e.metadata.actor, channel: e.metadata.channel, data: e.data }));
    await this.journal.record(req.principal, req.correlationId, { rpps, year, resource: 'entitlement-diff', knownAt: to });
    return { rpps, year, from, to, totals: { from: totals(before), to: totals(after) }, indicators, events };
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
  const v = value as { answer?: boolean; modalities?: string[]; devices?: string[]; displayed?: boolean; lapCertified?: boolean; segurSoftware?: { editor: string; name: string; version: string; acquiredOn: string } };
  if (code === 'V1_SEGUR_LAP' && v.segurSoftware) {
    const s = v.segurSoftware;
    return `logiciel ${s.editor} ${s.name} ${s.version}, acquis le ${s.acquiredOn.split('-').reverse().join('/')} ; LAP certifié HAS : ${v.lapCertified ? 'oui' : 'non'}`;
  }
  if (code === 'V1_HORAIRES') return v.displayed ? 'horaires affichés dans Annuaire santé' : 'horaires non affichés';
  const list = v.modalities ?? v.devices;
  return `${v.answer ? 'oui' : 'non'}${list && list.length > 0 ? ` (${list.join(', ')})` : ''}`;
}
