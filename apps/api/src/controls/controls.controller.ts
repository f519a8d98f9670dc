import { randomBytes } from 'node:crypto';
import { Body, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { streams } from '@forfait/events';
import { declarationFrom, refuse, type ControlCommand } from '@forfait/domain';
import { ControlHandler, DoctorYearReader, EntitlementService } from '@forfait/application';
import { exportEvent } from '../core/export-event';
import type { Response } from 'express';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { EmptyBodyPipe, validationPipe } from '../common/validation';
import { CommandController, CommandSender, Sender } from '../core/command-sender';
import type { ContextRequest } from '../core/request-context';
import { DOCTOR_READERS, Scope } from '../core/scope';
import { ContestationDecisionDto, ContestationDto, EvidenceRequestDto, FindingDto, OpenControlDto } from './controls.dto';

type Req_ = AuthedRequest & ContextRequest;

/** Control ids name their doctor-year (`ctl-<year>-<rpps>-<hex>`): the events live in its stream. */
const CONTROL_ID = /^ctl-(\d{4})-(\d{11})-([0-9a-f]{12})$/;

/** Contrôle a posteriori and contestation (api.md; spec "After the campaign"). */
@CommandController('v1/controls', 'controls')
export class ControlsController {
  constructor(
    @Inject(ControlHandler) private readonly controls: ControlHandler,
    @Inject(Scope) private readonly scope: Scope,
    @Inject(EntitlementService) private readonly entitlements: EntitlementService,
    @Inject(DoctorYearReader) private readonly reader: DoctorYearReader,
  ) {}

  @Get(':id')
  @Roles(...DOCTOR_READERS)
  @ApiOperation({ summary: 'A control: its state (indicators, findings, closure, contestation) and its events; ETag of the doctor-year stream' })
  async get(@Param('id') id: string, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    const m = CONTROL_ID.exec(id);
    if (!m) return refuse('CONTROL_NOT_FOUND', `aucun contrôle ${id}`);
    const rpps = m[2]!;
    const year = Number(m[1]);
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...DOCTOR_READERS]);
    const { events, raw, revision } = await this.reader.stream(streams.declaration(rpps, year));
    const control = declarationFrom(events).controls[id];
    if (!control) return refuse('CONTROL_NOT_FOUND', `aucun contrôle ${id}`);
    res.setHeader('ETag', `"${revision}"`);
    const mine = raw.filter((e) => (e.data as { controlId?: string }).controlId === id);
    return { controlId: id, rpps, year, ...control, revision, events: mine.map(exportEvent) };
  }

  @Post()
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Open a control on a doctor-year and some indicators (controller of the doctor’s caisse)' })
  async open(@Body(validationPipe) body: OpenControlDto, @Sender() sender: CommandSender) {
    await this.scope.assertDoctor(sender.principal, body.rpps, 'write', ['controller']);
    const controlId = `ctl-${body.year}-${body.rpps}-${randomBytes(6).toString('hex')}`;
    const result = await this.run(
      body.rpps,
      body.year,
      { type: 'OpenControl', controlId, indicators: body.indicators, reason: body.reason, now: sender.now, ...(body.fraud ? { fraud: true } : {}) },
      sender,
    );
    return { controlId, eventId: result.events[0]!.eventId, revision: result.revision, position: result.position.toString() };
  }

  @Post(':id/evidence-requests')
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Request evidence from the doctor, with a due date' })
  async evidence(@Param('id') id: string, @Body(validationPipe) body: EvidenceRequestDto, @Sender() sender: CommandSender) {
    const { rpps, year } = await this.target(id, sender, ['controller']);
    const result = await this.run(
      rpps,
      year,
      { type: 'RequestEvidence', controlId: id, items: body.items, dueAt: new Date(body.dueAt).toISOString(), now: sender.now },
      sender,
    );
    return { controlId: id, eventId: result.events[0]!.eventId, revision: result.revision, position: result.position.toString() };
  }

  @Post(':id/findings')
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Record a finding on a controlled indicator: confirmed or invalidated (no longer met from now on)' })
  async finding(@Param('id') id: string, @Body(validationPipe) body: FindingDto, @Sender() sender: CommandSender) {
    const { rpps, year } = await this.target(id, sender, ['controller']);
    const result = await this.run(
      rpps,
      year,
      { type: 'RecordFinding', controlId: id, indicator: body.indicator, outcome: body.outcome, reason: body.reason },
      sender,
    );
    return { controlId: id, eventId: result.events[0]!.eventId, revision: result.revision, position: result.position.toString() };
  }

  @Post(':id/closure')
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Close: recompute the entitlement with the findings; notify a recovery (indu) or a complement' })
  async close(@Param('id') id: string, @Body(EmptyBodyPipe) _body: Record<string, never>, @Sender() sender: CommandSender) {
    const { rpps, year } = await this.target(id, sender, ['controller']);
    const { entitlement } = await this.entitlements.compute(rpps, year);
    const result = await this.run(rpps, year, { type: 'CloseControl', controlId: id, recomputedAmountCents: entitlement.amountCents }, sender);
    const closed = result.events[0]!;
    return { controlId: id, eventId: closed.eventId, revision: result.revision, position: result.position.toString(), ...(closed.data as object) };
  }

  @Post(':id/contestations')
  @HttpCode(201)
  @Roles('doctor')
  @ApiOperation({ summary: 'The doctor contests, within 2 months of the notification (else CONTESTATION_TOO_LATE)' })
  async contest(@Param('id') id: string, @Body(validationPipe) body: ContestationDto, @Sender() sender: CommandSender) {
    const { rpps, year } = await this.target(id, sender, ['doctor']);
    const result = await this.run(rpps, year, { type: 'FileContestation', controlId: id, reason: body.reason, now: sender.now }, sender, 'amelipro');
    return { controlId: id, eventId: result.events[0]!.eventId, revision: result.revision, position: result.position.toString() };
  }

  @Post(':id/contestations/decision')
  @HttpCode(201)
  @Roles('controller')
  @ApiOperation({ summary: 'Decide the contestation: uphold the findings or reverse them' })
  async decide(@Param('id') id: string, @Body(validationPipe) body: ContestationDecisionDto, @Sender() sender: CommandSender) {
    const { rpps, year } = await this.target(id, sender, ['controller']);
    const result = await this.run(
      rpps,
      year,
      {
        type: 'DecideContestation',
        controlId: id,
        outcome: body.outcome,
        ...(body.indicators ? { indicators: body.indicators } : {}),
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
      },
      sender,
    );
    return {
      controlId: id,
      eventId: result.events[0]!.eventId,
      revision: result.revision,
      position: result.position.toString(),
      ...(result.events[0]!.data as object),
    };
  }

  private async target(id: string, sender: CommandSender, roles: ('controller' | 'doctor')[]) {
    const m = CONTROL_ID.exec(id);
    if (!m) return refuse('CONTROL_NOT_FOUND', `no control ${id}`);
    const rpps = m[2]!;
    await this.scope.assertDoctor(sender.principal, rpps, 'write', roles);
    return { rpps, year: Number(m[1]) };
  }

  private run(rpps: string, year: number, command: ControlCommand, sender: CommandSender, channel: 'back-office' | 'amelipro' = 'back-office') {
    return this.controls.handle(rpps, year, command, sender.sent(channel));
  }
}
