import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { streams } from '@forfait/events';
import { campaignFrom, decideCampaign, knownAt as knownBy, refuse, type CampaignCommand } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import type { Response } from 'express';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { actorOf } from '../auth/principal';
import { CommandExecutor } from '../core/command-executor';
import type { ContextRequest } from '../core/request-context';
import { StreamReader } from '../core/stream-reader';
import { parseIfMatch, parseInstant, validationPipe, YearPipe } from '../common/validation';
import { RUNTIME } from '../runtime.token';
import { AmendRuleDto, CalculationDto, ExtendDeadlineDto, OpenCampaignDto } from './campaigns.dto';
import { CalculationService } from './calculation.service';

type Req_ = AuthedRequest & ContextRequest;

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('v1/campaigns')
export class CampaignsController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
    @Inject(StreamReader) private readonly reader: StreamReader,
    @Inject(CalculationService) private readonly calculations: CalculationService,
  ) {}

  private meta(req: Req_) {
    return { actor: actorOf(req.principal), channel: 'back-office' as const, correlationId: req.correlationId, effectiveAt: this.runtime.clock.now().toISOString() };
  }

  private async run(year: number, command: CampaignCommand, req: Req_, res: Response) {
    const result = await this.executor.execute(streams.campaign(year), (events) => decideCampaign(command, campaignFrom(events)), this.meta(req), {
      ifMatch: parseIfMatch(req.header('if-match')),
    });
    res.setHeader('ETag', `"${result.revision}"`);
    return result;
  }

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Open a campaign with its ruleset and window' })
  async open(@Body(validationPipe) body: OpenCampaignDto, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    const command: CampaignCommand = { type: 'OpenCampaign', year: body.year, ruleset: body.ruleset, opensAt: body.opensAt, closesAt: body.closesAt, ...(body.rulesetVersion ? { rulesetVersion: body.rulesetVersion } : {}) };
    await this.run(body.year, command, req, res);
    return this.view(body.year);
  }

  @Post(':year/deadline-extensions')
  @Roles('admin')
  @ApiOperation({ summary: 'Extend (or reopen) the declaration window; EXTENSION_NOT_LATER unless later' })
  async extend(@Param('year', YearPipe) year: number, @Body(validationPipe) body: ExtendDeadlineDto, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    const result = await this.run(year, { type: 'ExtendDeadline', closesAt: body.closesAt, reason: body.reason, ...(body.reference ? { reference: body.reference } : {}) }, req, res);
    return { eventId: result.events[0]!.eventId, revision: result.revision, ...(result.events[0]!.data as object) };
  }

  @Post(':year/rule-amendments')
  @Roles('admin')
  @ApiOperation({ summary: 'Amend a rule (target, points, neutralised) from now on' })
  async amend(@Param('year', YearPipe) year: number, @Body(validationPipe) body: AmendRuleDto, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    const changes = Object.fromEntries(Object.entries(body.changes ?? {}).filter(([, v]) => v !== undefined));
    const result = await this.run(year, { type: 'AmendRule', indicator: body.indicator, changes, reason: body.reason, ...(body.reference ? { reference: body.reference } : {}) }, req, res);
    return { eventId: result.events[0]!.eventId, revision: result.revision, ...(result.events[0]!.data as object) };
  }

  @Get(':year')
  @ApiOperation({ summary: 'The campaign: window, ruleset, amendments and deadline history (knownAt optional)' })
  async get(@Param('year', YearPipe) year: number, @Query('knownAt') knownAt?: string) {
    return this.view(year, parseInstant(knownAt, 'knownAt'));
  }

  @Post(':year/calculations')
  @Roles('system')
  @HttpCode(201)
  @ApiOperation({ summary: 'Compute and record entitlements (one doctor, or every doctor of the campaign)' })
  async calculate(@Param('year', YearPipe) year: number, @Body(validationPipe) body: CalculationDto, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    const meta = { actor: actorOf(req.principal), channel: 'system' as const, correlationId: req.correlationId };
    if (body.rpps) return this.calculations.calculateOne(body.rpps, year, meta);
    const result = await this.calculations.calculateAll(year, meta);
    // Fanned out as jobs: accepted, follow it at statusUrl; inline (no Redis): done.
    if (result.mode === 'jobs') res.status(202);
    return result;
  }

  private async view(year: number, at?: string) {
    const { events, revision } = await this.reader.campaign(year);
    const known = at ? knownBy(events, at) : events;
    const c = campaignFrom(known);
    if (c.status === 'none') return refuse('CAMPAIGN_NOT_FOUND', `no campaign ${year}${at ? ` was known at ${at}` : ''}`);
    return {
      year: c.year,
      ruleset: c.ruleset,
      rulesetVersion: c.rulesetVersion,
      status: c.status,
      opensAt: c.opensAt,
      closesAt: c.closesAt,
      calculated: c.calculated,
      revision,
      ...(at ? { knownAt: at } : {}),
      deadlines: c.deadlines,
      amendments: c.amendments,
    };
  }
}
