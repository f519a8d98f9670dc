import { randomBytes } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res, UploadedFile, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { INDICATOR_CODES, JUSTIFICATIF_ID, isIndicatorCode, justificatifIdOf, streams } from '@forfait/events';
import { declarationFrom, decideDeclaration, refuse, type DeclarationCommand } from '@forfait/domain';
import { listJustificatifs, type Runtime } from '@forfait/read-models';
import type { Response } from 'express';
import { ForbiddenError } from '../auth/auth.errors';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { actorOf } from '../auth/principal';
import { RequestValidationError, RppsPipe, validationPipe, YearPipe } from '../common/validation';
import { CampaignContext } from '../core/campaign-context';
import { CommandExecutor } from '../core/command-executor';
import type { ContextRequest } from '../core/request-context';
import { Scope } from '../core/scope';
import { RUNTIME } from '../runtime.token';
import { JustificatifFiles, MAX_JUSTIFICATIF_BYTES } from './justificatif-files';

type Req_ = AuthedRequest & ContextRequest;

export class DecisionDto {
  @ApiProperty({ enum: ['validated', 'rejected'] }) @IsIn(['validated', 'rejected']) decision!: 'validated' | 'rejected';
  @ApiPropertyOptional({ description: 'required for a rejection' }) @IsOptional() @IsString() @MaxLength(1000) reason?: string;
}

const justificatifId = (year: number, rpps: string) => justificatifIdOf(year, rpps, randomBytes(6).toString('hex'));

export const NO_MEDICAL_DATA_NOTICE =
  'Les justificatifs ne doivent contenir aucune donnée médicale (règle de la caisse, non vérifiable automatiquement).';

@ApiTags('justificatifs')
@ApiBearerAuth()
@Controller('v1')
export class JustificatifsController {
  private readonly files: JustificatifFiles;

  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(CommandExecutor) private readonly executor: CommandExecutor,
    @Inject(Scope) private readonly scope: Scope,
    @Inject(CampaignContext) private readonly campaigns: CampaignContext,
  ) {
    this.files = new JustificatifFiles(runtime.config.justificatifDir);
  }

  @Post('doctors/:rpps/campaigns/:year/justificatifs')
  @HttpCode(201)
  @Roles('doctor', 'agent')
  @UseInterceptors(FileInterceptor('file', { limits: { fileSize: MAX_JUSTIFICATIF_BYTES, files: 1, fields: 5 } }))
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', required: ['file', 'indicator'], properties: { file: { type: 'string', format: 'binary' }, indicator: { type: 'string', enum: [...INDICATOR_CODES] } } } })
  @ApiOperation({ summary: 'Upload a justificatif (PDF, DOC, DOCX, ODT, ZIP, 7Z, JPEG, PNG by content; 10 Mo at most)' })
  async upload(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @UploadedFile() file: Express.Multer.File | undefined,
    @Body() body: Record<string, unknown>,
    @Req() req: Req_,
    @Res({ passthrough: true }) res: Response,
  ) {
    await this.scope.assertDoctor(req.principal, rpps, 'write', ['doctor', 'agent']);
    const extra = Object.keys(body ?? {}).filter((k) => k !== 'indicator');
    if (extra.length > 0) throw new RequestValidationError(`unexpected field(s) ${extra.join(', ')}`);
    const indicator = body?.indicator;
    if (!isIndicatorCode(indicator)) throw new RequestValidationError('indicator must be an indicator code');
    if (!file || file.size === 0) throw new RequestValidationError('a non-empty "file" part is required', {}, 'FILE_REQUIRED');
    const mediaType = await this.files.sniff(file.buffer);
    const stored = await this.files.store(file.buffer);
    const id = justificatifId(year, rpps);
    const now = this.runtime.clock.now().toISOString();
    const channel = req.principal.role === 'doctor' ? ('amelipro' as const) : ('back-office' as const);
    const result = await this.onDoctorYear(rpps, year, { type: 'SubmitJustificatif', justificatifId: id, indicator, sha256: stored.sha256, size: file.size, mediaType }, req, channel, now);
    res.setHeader('ETag', `"${result.revision}"`);
    return { id, sha256: stored.sha256, size: file.size, mediaType, status: 'pending', indicator, eventId: result.events[0]!.eventId, notice: NO_MEDICAL_DATA_NOTICE };
  }

  @Post('justificatifs/:id/decision')
  @HttpCode(201)
  @Roles('agent')
  @ApiOperation({ summary: 'Validate or reject a justificatif (agent of the doctor’s caisse)' })
  async decide(@Param('id') id: string, @Body(validationPipe) body: DecisionDto, @Req() req: Req_, @Res({ passthrough: true }) res: Response) {
    const m = JUSTIFICATIF_ID.exec(id);
    if (!m) return refuse('JUSTIFICATIF_NOT_FOUND', `no justificatif ${id}`);
    const year = Number(m[1]);
    const rpps = m[2]!;
    await this.scope.assertDoctor(req.principal, rpps, 'write', ['agent']);
    const now = this.runtime.clock.now().toISOString();
    const command: DeclarationCommand = { type: 'DecideJustificatif', justificatifId: id, decision: body.decision, ...(body.reason ? { reason: body.reason } : {}) };
    const result = await this.onDoctorYear(rpps, year, command, req, 'back-office', now);
    res.setHeader('ETag', `"${result.revision}"`);
    return { id, status: body.decision, eventId: result.events[0]!.eventId, revision: result.revision };
  }

  @Get('justificatifs')
  @Roles('agent', 'auditor')
  @ApiOperation({ summary: 'The worklist: justificatifs of a caisse by status (agents: their own caisse)' })
  async worklist(@Query('caisse') caisse: string | undefined, @Query('status') status: string | undefined, @Req() req: Req_) {
    if (status !== undefined && !['pending', 'validated', 'rejected'].includes(status)) throw new RequestValidationError('status is pending, validated or rejected');
    const p = req.principal;
    if (p.role === 'agent') {
      if (caisse !== undefined && caisse !== p.caisse) throw new ForbiddenError(`an agent of caisse ${p.caisse} sees only its own worklist`, { reason: 'OTHER_CAISSE' });
      caisse = p.caisse;
    }
    if (caisse !== undefined && !/^\d{3}$/.test(caisse)) throw new RequestValidationError('caisse is a 3-digit code');
    const items = await listJustificatifs(this.runtime.readDb, this.runtime.readModelSchema, { caisse, status });
    return { caisse: caisse ?? null, status: status ?? null, items };
  }

  private async onDoctorYear(rpps: string, year: number, command: DeclarationCommand, req: Req_, channel: 'amelipro' | 'back-office', now: string) {
    const { campaign, ruleset } = await this.campaigns.load(year);
    return this.executor.execute(
      streams.declaration(rpps, year),
      (events) => decideDeclaration(command, declarationFrom(events), { rpps, year, campaign, ruleset }),
      {
        actor: actorOf(req.principal),
        channel,
        correlationId: req.correlationId,
        effectiveAt: now,
        ...(req.principal.role === 'agent' ? { onBehalfOf: rpps } : {}),
      },
    );
  }
}
