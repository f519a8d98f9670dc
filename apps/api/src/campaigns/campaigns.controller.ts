import { Body, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery } from '@nestjs/swagger';
import { campaignRulesView, knownAt as knownBy, refuse, type CampaignCommand } from '@forfait/domain';
import { listCampaignYears } from '@forfait/read-models';
import { CalculationHandler, CampaignHandler, DoctorYearReader, resolveCampaign } from '@forfait/application';
import type { Response } from 'express';
import { Roles } from '../auth/auth.guard';
import { parseInstant, validationPipe, YearPipe } from '../common/validation';
import { CommandController, CommandSender, Sender } from '../core/command-sender';
import { MIN_POSITION_DOC, ReadYourWrites } from '../core/read-your-writes';
import { AmendRuleDto, CalculationDto, ExtendDeadlineDto, OpenCampaignDto } from './campaigns.dto';
import { CalculationService } from './calculation.service';

@CommandController('v1/campaigns', 'campaigns')
export class CampaignsController {
  constructor(
    @Inject(CampaignHandler) private readonly campaigns: CampaignHandler,
    @Inject(DoctorYearReader) private readonly reader: DoctorYearReader,
    @Inject(CalculationHandler) private readonly calculation: CalculationHandler,
    @Inject(CalculationService) private readonly calculations: CalculationService,
    @Inject(ReadYourWrites) private readonly reads: ReadYourWrites,
  ) {}

  private run(year: number, command: CampaignCommand, sender: CommandSender) {
    return this.campaigns.handle(year, command, sender.sent('back-office'));
  }

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Open a campaign with its ruleset and window' })
  async open(@Body(validationPipe) body: OpenCampaignDto, @Sender() sender: CommandSender) {
    const command: CampaignCommand = {
      type: 'OpenCampaign',
      year: body.year,
      ruleset: body.ruleset,
      opensAt: body.opensAt,
      closesAt: body.closesAt,
      ...(body.rulesetVersion ? { rulesetVersion: body.rulesetVersion } : {}),
    };
    await this.run(body.year, command, sender);
    return this.view(body.year);
  }

  @Post(':year/deadline-extensions')
  @Roles('admin')
  @ApiOperation({ summary: 'Extend (or reopen) the declaration window; EXTENSION_NOT_LATER unless later' })
  async extend(@Param('year', YearPipe) year: number, @Body(validationPipe) body: ExtendDeadlineDto, @Sender() sender: CommandSender) {
    const result = await this.run(
      year,
      { type: 'ExtendDeadline', closesAt: body.closesAt, reason: body.reason, ...(body.reference ? { reference: body.reference } : {}) },
      sender,
    );
    return { eventId: result.events[0]!.eventId, revision: result.revision, ...(result.events[0]!.data as object) };
  }

  @Post(':year/rule-amendments')
  @Roles('admin')
  @ApiOperation({ summary: 'Amend a rule (target, points, neutralised) from now on' })
  async amend(@Param('year', YearPipe) year: number, @Body(validationPipe) body: AmendRuleDto, @Sender() sender: CommandSender) {
    const changes = body.changes as Extract<CampaignCommand, { type: 'AmendRule' }>['changes'];
    const result = await this.run(
      year,
      {
        type: 'AmendRule',
        ...(body.indicator ? { indicator: body.indicator } : {}),
        changes,
        reason: body.reason,
        ...(body.reference ? { reference: body.reference } : {}),
      },
      sender,
    );
    return { eventId: result.events[0]!.eventId, revision: result.revision, ...(result.events[0]!.data as object) };
  }

  @Get()
  @ApiQuery({ name: 'minPosition', required: false, description: MIN_POSITION_DOC })
  @ApiOperation({ summary: 'Every campaign opened, by year: window, ruleset and status (the console’s list of campaigns)' })
  async list(@Query('minPosition') minPosition?: string) {
    await this.reads.reach(minPosition, ['campaign_deadlines']);
    const years = await listCampaignYears(this.reads.db, this.reads.schema);
    const campaigns = await Promise.all(
      years.map(async (year) => {
        const { campaign: c } = resolveCampaign((await this.reader.campaign(year)).events);
        return c
          ? { year: c.year, ruleset: c.ruleset, rulesetVersion: c.rulesetVersion, status: c.status, opensAt: c.opensAt, closesAt: c.closesAt }
          : undefined;
      }),
    );
    return { campaigns: campaigns.filter((c) => c !== undefined) };
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
  async calculate(
    @Param('year', YearPipe) year: number,
    @Body(validationPipe) body: CalculationDto,
    @Sender() sender: CommandSender,
    @Res({ passthrough: true }) res: Response,
  ) {
    const meta = sender.meta('system');
    if (body.rpps) return this.calculation.calculateOne(body.rpps, year, meta);
    const result = await this.calculations.calculateAll(year, meta);
    // Fanned out as jobs: accepted, follow it at statusUrl; inline (no Redis): done.
    if (result.mode === 'jobs') res.status(202);
    return result;
  }

  private async view(year: number, at?: string) {
    const { events, revision } = await this.reader.campaign(year);
    const known = at ? knownBy(events, at) : events;
    const { campaign: c, ruleset } = resolveCampaign(known);
    if (!c) return refuse('CAMPAIGN_NOT_FOUND', `no campaign ${year}${at ? ` was known at ${at}` : ''}`);
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
      // The rules in force as known at knownAt (amendments applied): what a replay then uses.
      ...(ruleset ? campaignRulesView(ruleset) : {}),
      deadlines: c.deadlines,
      amendments: c.amendments,
    };
  }
}
