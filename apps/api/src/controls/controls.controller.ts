import { randomBytes } from 'node:crypto';
import { Body, Controller, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { streams, type DomainEvent } from '@forfait/events';
import { declarationFrom, decideControl, refuse, type ControlCommand } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import type { Response } from 'express';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { actorOf } from '../auth/principal';
import { parseIfMatch, validationPipe } from '../common/validation';
import { CampaignContext } from '../core/campaign-context';
import { CommandExecutor } from '../core/command-executor';
import { EntitlementService } from '../core/entitlement.service';
import type { ContextRequest } from '../core/request-context';
import { Scope } from '../core/scope';
import { RUNTIME } from '../runtime.token';
import { ContestationDecisionDto, ContestationDto, EvidenceRequestDto, FindingDto, OpenControlDto } from './controls.dto';

type Req_ = AuthedRequest & ContextRequest;

/** Control ids name their doctor-year (`ctl-<year>-<rpps>-<hex>`): the events live in its stream. */
const CONTROL_ID = /^ctl-(\d{4})-(\d{11})-([0-9a-f]{12})$/;

/** Contrôle a posteriori and contestation (api.md; spec "After the campaign"). */
@ApiTags('controls')
@ApiBearerAuth()
@Controller('v1/controls')
export class ControlsController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
    @Inject(Scope) private readonly scope: Scope,
    @Inject(EntitlementService) private readonly entitlements: EntitlementService,
    @Inject(CampaignContext) private readonly campaigns: CampaignContext,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Open a control on a doctor-year and some indicators (controller of the doctor’s caisse)' })
  async open(@Body(validationPipe) body: OpenControlDto, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    await this.scope.assertDoctor(req.principal, body.rpps, 'write', ['controller']);
    const controlId = `ctl-${body.year}-${body.rpps}-${randomBytes(6).toString('hex')}`;
    const result = await this.run(body.rpps, body.year, { type: 'OpenControl', controlId, indicators: body.indicators, reason: body.reason, now: this.now(), ...(body.fraud ? { fraud: true } : {}) }, req);
    res.setHeader('ETag', `"${result.revision}"`);
    return { controlId, eventId: result.events[0]!.eventId, revision: result.revision };
  }

  @Post(':id/evidence-requests')
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Request evidence from the doctor, with a due date' })
  async evidence(@Param('id') id: string, @Body(validationPipe) body: EvidenceRequestDto, @Req() req: Req_) {
    const { rpps, year } = await this.target(id, req, ['controller']);
    const result = await this.run(rpps, year, { type: 'RequestEvidence', controlId: id, items: body.items, dueAt: new Date(body.dueAt).toISOString(), now: this.now() }, req);
    return { controlId: id, eventId: result.events[0]!.eventId, revision: result.revision };
  }

  @Post(':id/findings')
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Record a finding on a controlled indicator: confirmed or invalidated (no longer met from now on)' })
  async finding(@Param('id') id: string, @Body(validationPipe) body: FindingDto, @Req() req: Req_) {
    const { rpps, year } = await this.target(id, req, ['controller']);
    const result = await this.run(rpps, year, { type: 'RecordFinding', controlId: id, indicator: body.indicator, outcome: body.outcome, reason: body.reason }, req);
    return { controlId: id, eventId: result.events[0]!.eventId, revision: result.revision };
  }

  @Post(':id/closure')
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Close: recompute the entitlement with the findings; notify a recovery (indu) or a complement' })
  async close(@Param('id') id: string, @Req() req: Req_) {
    const { rpps, year } = await this.target(id, req, ['controller']);
    const { entitlement } = await this.entitlements.compute(rpps, year);
    const result = await this.run(rpps, year, { type: 'CloseControl', controlId: id, recomputedAmountCents: entitlement.amountCents }, req);
    const closed = result.events[0]!;
    return { controlId: id, eventId: closed.eventId, revision: result.revision, ...(closed.data as object) };
  }

  @Post(':id/contestations')
  @HttpCode(201)
  @Roles('doctor')
  @ApiOperation({ summary: 'The doctor contests, within 2 months of the notification (else CONTESTATION_TOO_LATE)' })
  async contest(@Param('id') id: string, @Body(validationPipe) body: ContestationDto, @Req() req: Req_) {
    const { rpps, year } = await this.target(id, req, ['doctor']);
    const result = await this.run(rpps, year, { type: 'FileContestation', controlId: id, reason: body.reason, now: this.now() }, req, 'amelipro');
    return { controlId: id, eventId: result.events[0]!.eventId, revision: result.revision };
  }

  @Post(':id/contestations/decision')
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Decide the contestation: uphold the findings or reverse them' })
  async decide(@Param('id') id: string, @Body(validationPipe) body: ContestationDecisionDto, @Req() req: Req_) {
    const { rpps, year } = await this.target(id, req, ['controller']);
    const result = await this.run(rpps, year, { type: 'DecideContestation', controlId: id, outcome: body.outcome, ...(body.indicators ? { indicators: body.indicators } : {}) }, req);
    return { controlId: id, eventId: result.events[0]!.eventId, revision: result.revision, ...(result.events[0]!.data as object) };
  }

  private now(): string {
    return this.runtime.clock.now().toISOString();
  }

  private async target(id: string, req: Req_, roles: ('controller' | 'doctor')[]) {
    const m = CONTROL_ID.exec(id);
    if (!m) return refuse('CONTROL_NOT_FOUND', `no control ${id}`);
    const rpps = m[2]!;
    await this.scope.assertDoctor(req.principal, rpps, 'write', roles);
    return { rpps, year: Number(m[1]) };
  }

  private async run(rpps: string, year: number, command: ControlCommand, req: Req_, channel: 'back-office' | 'amelipro' = 'back-office') {
    // Controls apply the campaign's ruleset as published: its limits are not amendable fields.
    const { base: ruleset } = await this.campaigns.load(year);
    return this.executor.execute(
      streams.declaration(rpps, year),
      (events): DomainEvent[] => decideControl(command, declarationFrom(events), { rpps, year, ruleset }),
      { actor: actorOf(req.principal), channel, correlationId: req.correlationId, effectiveAt: this.now() },
      { ifMatch: parseIfMatch(req.header('if-match')) },
    );
  }
}
