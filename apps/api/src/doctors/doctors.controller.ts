import { Body, Controller, HttpCode, Inject, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { canonicalJson, streams, type Channel, type DomainEvent } from '@forfait/events';
import { declarationFrom, decideDeclaration, latestEffective, ofType, type DeclarationCommand } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import type { Response } from 'express';
import { ForbiddenError } from '../auth/auth.errors';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { actorOf } from '../auth/principal';
import { validateValue } from '../common/validate-value';
import { parseIfMatch, RppsPipe, validationPipe, YearPipe } from '../common/validation';
import { StreamReader } from '../core/stream-reader';
import { CampaignContext } from '../core/campaign-context';
import { CommandExecutor, type CommandMeta } from '../core/command-executor';
import type { ContextRequest } from '../core/request-context';
import { Scope } from '../core/scope';
import { RUNTIME } from '../runtime.token';
import { DeclarationDto, DoctorProfileDto, PaymentDto, VALUE_DTO } from './doctors.dto';

type Req_ = AuthedRequest & ContextRequest;

/** Doctors' profiles, and the commands on a doctor-year: declarations, transmission, payments. */
@ApiTags('doctors')
@ApiBearerAuth()
@Controller('v1/doctors')
export class DoctorsController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
    @Inject(Scope) private readonly scope: Scope,
    @Inject(CampaignContext) private readonly campaigns: CampaignContext,
    @Inject(StreamReader) private readonly reader: StreamReader,
  ) {}

  private now(): string {
    return this.runtime.clock.now().toISOString();
  }

  @Put(':rpps')
  @Roles('admin', 'system')
  @ApiOperation({ summary: 'Record the doctor’s profile (an event only when something changed)' })
  async putProfile(@Param('rpps', RppsPipe) rpps: string, @Body(validationPipe) body: DoctorProfileDto, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    const profile = { rpps, specialty: body.specialty, caisse: body.caisse, department: body.department, ...(body.firstDeclarationYear ? { firstDeclarationYear: body.firstDeclarationYear } : {}) };
    const result = await this.executor.execute(
      streams.doctor(rpps),
      (events) => {
        const current = latestEffective(ofType(events, 'DoctorProfileRecorded'))?.data;
        const same = current !== undefined && canonicalJson({ ...current, rpps }) === canonicalJson(profile);
        return same ? [] : [{ type: 'DoctorProfileRecorded', data: profile }];
      },
      { actor: actorOf(req.principal), channel: req.principal.role === 'system' ? 'import' : 'back-office', correlationId: req.correlationId, effectiveAt: this.now() },
      { ifMatch: parseIfMatch(req.header('if-match')) },
    );
    res.setHeader('ETag', `"${result.revision}"`);
    return { ...profile, changed: result.events.length > 0, revision: result.revision, eventId: result.events[0]?.eventId ?? null };
  }

  @Post(':rpps/campaigns/:year/declarations')
  @HttpCode(201)
  @Roles('doctor', 'agent')
  @ApiOperation({ summary: 'Declare an indicator (again: a correction); agents key paper forms with their effectiveAt' })
  async declare(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @Body(validationPipe) body: DeclarationDto,
    @Req() req: Req_,
    @Res({ passthrough: true }) res: Response,
  ) {
    await this.scope.assertDoctor(req.principal, rpps, 'write', ['doctor', 'agent']);
    const { channel, effectiveAt } = this.channelAndTime(req, body.channel, body.effectiveAt);
    const value = validateValue(VALUE_DTO[body.indicator]!, body.value, 'value');
    const command: DeclarationCommand = { type: 'Declare', indicator: body.indicator, value, attestation: body.attestation, channel, role: req.principal.role, effectiveAt, now: this.now() };
    const result = await this.onDoctorYear(rpps, year, command, this.meta(req, channel, effectiveAt, rpps), req);
    res.setHeader('ETag', `"${result.revision}"`);
    return { eventId: result.events[0]!.eventId, revision: result.revision };
  }

  @Post(':rpps/campaigns/:year/transmissions')
  @HttpCode(201)
  @Roles('doctor', 'agent')
  @ApiOperation({ summary: 'The doctor’s "Transmettre"' })
  async transmit(@Param('rpps', RppsPipe) rpps: string, @Param('year', YearPipe) year: number, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    await this.scope.assertDoctor(req.principal, rpps, 'write', ['doctor', 'agent']);
    const { channel, effectiveAt } = this.channelAndTime(req, undefined, undefined);
    const result = await this.onDoctorYear(rpps, year, { type: 'Transmit', effectiveAt }, this.meta(req, channel, effectiveAt, rpps), req);
    res.setHeader('ETag', `"${result.revision}"`);
    return { eventId: result.events[0]!.eventId, revision: result.revision };
  }

  @Post(':rpps/campaigns/:year/payments')
  @HttpCode(201)
  @Roles('system')
  @ApiOperation({ summary: 'Record a payment of the forfait' })
  async pay(@Param('rpps', RppsPipe) rpps: string, @Param('year', YearPipe) year: number, @Body(validationPipe) body: PaymentDto, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    const paidAt = new Date(body.paidAt).toISOString();
    const result = await this.onDoctorYear(rpps, year, { type: 'RecordPayment', amountCents: body.amountCents, paidAt }, this.meta(req, 'system', paidAt), req);
    res.setHeader('ETag', `"${result.revision}"`);
    return { eventId: result.events[0]!.eventId, revision: result.revision };
  }

  /** A doctor declares for itself, now, on amelipro; an agent keys a paper form or a back-office entry with the day it was received. */
  private channelAndTime(req: Req_, channel: Channel | undefined, effectiveAt: string | undefined): { channel: Channel; effectiveAt: string } {
    const now = this.now();
    if (req.principal.role === 'doctor') {
      if (channel && channel !== 'amelipro') throw new ForbiddenError('a doctor declares through amelipro', { reason: 'CHANNEL_NOT_ALLOWED' });
      if (effectiveAt) throw new ForbiddenError('only agents (paper, back office) and imports may set effectiveAt', { reason: 'EFFECTIVE_AT_NOT_ALLOWED' });
      return { channel: 'amelipro', effectiveAt: now };
    }
    if (channel === 'amelipro') throw new ForbiddenError('amelipro is the doctor’s own channel', { reason: 'CHANNEL_NOT_ALLOWED' });
    return { channel: channel ?? 'paper', effectiveAt: effectiveAt ? new Date(effectiveAt).toISOString() : now };
  }

  private meta(req: Req_, channel: Channel, effectiveAt: string, onBehalfOf?: string): CommandMeta {
    const agent = req.principal.role === 'agent';
    return { actor: actorOf(req.principal), channel, correlationId: req.correlationId, effectiveAt, ...(agent && onBehalfOf ? { onBehalfOf } : {}) };
  }

  private async onDoctorYear(rpps: string, year: number, command: DeclarationCommand, meta: CommandMeta, req: Req_) {
    // The campaign and the doctor-year in one query; a retry re-reads the doctor-year alone.
    const [campaignEvents, declaration] = await this.reader.streams([streams.campaign(year), streams.declaration(rpps, year)]);
    const { campaign, ruleset } = this.campaigns.from(year, campaignEvents!);
    return this.executor.execute(
      streams.declaration(rpps, year),
      (events): DomainEvent[] => decideDeclaration(command, declarationFrom(events), { rpps, year, campaign, ruleset }),
      meta,
      { ifMatch: parseIfMatch(req.header('if-match')), preread: declaration! },
    );
  }
}
