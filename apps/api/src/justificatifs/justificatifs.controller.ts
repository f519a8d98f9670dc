import { randomBytes } from 'node:crypto';
import { Body, Get, HttpCode, Inject, Param, Post, Query, Req, Res, UploadedFile, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { IdempotencyInterceptor } from '../core/idempotency';
import { FormFieldsCheck } from '../common/form-fields';
import { ApiBody, ApiConsumes, ApiOperation, ApiProperty, ApiPropertyOptional, ApiQuery } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { INDICATOR_CODES, type Channel, JUSTIFICATIF_ID, JUSTIFICATIF_SUBJECTS, SAS_ATTESTATION_ID, isIndicatorCode, justificatifIdOf } from '@forfait/events';
import { formatDate, justificatifCounts, parisDate, refuse, sendingChannel, specialtyInForce, type DeclarationCommand, type Ruleset } from '@forfait/domain';
import { findJustificatif, listJustificatifs, listSasAttestations, type Runtime } from '@forfait/read-models';
import { DeclarationHandler, DoctorYearReader, NO_MEDICAL_DATA_NOTICE, SasAttestationHandler, type CommandResult } from '@forfait/application';
import type { Response } from 'express';
import { ForbiddenError } from '../auth/auth.errors';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { parseInstant, RequestValidationError, RppsPipe, validationPipe, YearPipe } from '../common/validation';
import { CommandController, CommandSender, Sender } from '../core/command-sender';
import type { ContextRequest } from '../core/request-context';
import { DOCTOR_READERS, Scope } from '../core/scope';
import { MIN_POSITION_DOC, ReadYourWrites } from '../core/read-your-writes';
import { RUNTIME } from '../runtime.token';
import { JustificatifFiles, MAX_JUSTIFICATIF_BYTES } from '../core/justificatif-files';

type Req_ = AuthedRequest & ContextRequest;

export class DecisionDto {
  @ApiProperty({ enum: ['validated', 'rejected'] }) @IsIn(['validated', 'rejected']) decision!: 'validated' | 'rejected';
  @ApiPropertyOptional({ description: 'required for a rejection' }) @IsOptional() @IsString() @MaxLength(1000) reason?: string;
}

/** `subjects` as a JSON array (`["SEGUR","LAP"]`) or repeated fields (api.md); absent: undefined. */
function subjectsOf(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  let values: unknown = raw;
  if (typeof raw === 'string' && raw.trim().startsWith('[')) {
    try {
      values = JSON.parse(raw);
    } catch {
      throw new RequestValidationError('subjects: a JSON array of subjects, or repeated fields');
    }
  }
  const list = (Array.isArray(values) ? (values as unknown[]) : [values]).flatMap((v) =>
    typeof v === 'string' && v.trim().startsWith('[') ? (subjectsOf(v) ?? []) : [v],
  );
  if (!list.every((v): v is string => typeof v === 'string')) throw new RequestValidationError('subjects: a JSON array of subjects, or repeated fields');
  const unknown = list.filter((v) => !(JUSTIFICATIF_SUBJECTS as readonly string[]).includes(v.trim()));
  if (unknown.length > 0) throw new RequestValidationError(`subjects: ${unknown.join(', ')} inconnu(s) ; sujets : ${JUSTIFICATIF_SUBJECTS.join(', ')}`);
  return list.map((v) => v.trim());
}

const justificatifId = (year: number, rpps: string) => justificatifIdOf(year, rpps, randomBytes(6).toString('hex'));

@CommandController('v1', 'justificatifs')
export class JustificatifsController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(DeclarationHandler) private readonly declarations: DeclarationHandler,
    @Inject(SasAttestationHandler) private readonly sasAttestations: SasAttestationHandler,
    @Inject(Scope) private readonly scope: Scope,
    @Inject(DoctorYearReader) private readonly reader: DoctorYearReader,
    @Inject(ReadYourWrites) private readonly reads: ReadYourWrites,
    @Inject(JustificatifFiles) private readonly files: JustificatifFiles,
  ) {}

  @Post('doctors/:rpps/campaigns/:year/justificatifs')
  @HttpCode(201)
  @Roles('doctor', 'agent')
  // Idempotency-Key once the fields and the file are read (the global interceptor leaves multipart to this one),
  // after the fields' check (NUL, lone surrogates: a refused form keeps nothing).
  @UseInterceptors(FileInterceptor('file', { limits: { fileSize: MAX_JUSTIFICATIF_BYTES, files: 1, fields: 12 } }), FormFieldsCheck, IdempotencyInterceptor)
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file', 'indicator'],
      properties: {
        file: { type: 'string', format: 'binary' },
        indicator: { type: 'string', enum: [...INDICATOR_CODES] },
        subjects: {
          description: 'V1_SEGUR_LAP (INT-7): what it proves, a JSON array or repeated fields; absent: those the doctor-year needs then',
          type: 'array',
          items: { type: 'string', enum: [...JUSTIFICATIF_SUBJECTS] },
        },
        channel: { type: 'string', enum: ['amelipro', 'paper', 'back-office'], description: 'agents: paper for a postal justificatif (default back-office)' },
        effectiveAt: { type: 'string', format: 'date-time', description: 'agents: when the caisse received it (rule 3 judges this day)' },
        postmarkedAt: {
          type: 'string',
          format: 'date-time',
          description: 'agents, postal ones (channel paper): the postmark (INT-8); it dates the justificatif when the parameter paperDatedBy is postmark',
        },
      },
    },
  })
  @ApiOperation({ summary: 'Upload a justificatif (PDF, DOC, DOCX, ODT, ZIP, 7Z, JPEG, PNG by content; 10 Mo at most)' })
  async upload(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @UploadedFile() file: Express.Multer.File | undefined,
    @Body() body: Record<string, unknown> | undefined, // none when the request is not multipart
    @Sender() sender: CommandSender,
  ) {
    await this.scope.assertDoctor(sender.principal, rpps, 'write', ['doctor', 'agent']);
    const extra = Object.keys(body ?? {}).filter((k) => !['indicator', 'subjects', 'channel', 'effectiveAt', 'postmarkedAt'].includes(k));
    if (extra.length > 0) throw new RequestValidationError(`unexpected field(s) ${extra.join(', ')}`);
    const indicator = body?.indicator;
    if (!isIndicatorCode(indicator)) throw new RequestValidationError('indicator must be an indicator code');
    const subjects = subjectsOf(body?.subjects);
    const { channel, sentAt, postmarkedAt } = this.sending(sender, body?.channel, body?.effectiveAt, body?.postmarkedAt);
    if (!file || file.size === 0) throw new RequestValidationError('a non-empty "file" part is required', {}, 'FILE_REQUIRED');
    const mediaType = await this.files.sniff(file.buffer);
    const stored = await this.files.store(file.buffer);
    const id = justificatifId(year, rpps);
    let result: CommandResult;
    let ruleset: Ruleset;
    try {
      const [context, doctor] = await Promise.all([
        this.reader.campaignRules(year),
        indicator === 'V1_SEGUR_LAP' ? this.reader.doctor(rpps) : Promise.resolve(undefined),
      ]);
      ruleset = context.ruleset;
      // INT-7's default subjects drop the LAP for an exempt specialty: the profile in force at the assessment date.
      const specialty = doctor ? specialtyInForce(doctor.events, ruleset.assessedOn) : undefined;
      const command: DeclarationCommand = {
        type: 'SubmitJustificatif',
        justificatifId: id,
        indicator,
        sha256: stored.sha256,
        size: file.size,
        mediaType,
        effectiveAt: sentAt,
        channel,
        ...(postmarkedAt ? { postmarkedAt } : {}),
        ...(subjects ? { subjects } : {}),
      };
      // Dated when the caisse received it (a paper one keyed later), and the revision the client saw.
      result = await this.declarations.handle(rpps, year, command, { ...sender.sent(channel, { effectiveAt: sentAt, forDoctor: rpps }), specialty });
    } catch (error) {
      // A refused upload leaves no file behind (one stored earlier under the same hash stays).
      await this.files.discard(stored);
      throw error;
    }
    const event = result.events[0]!;
    const recorded = (event.data as { subjects?: string[] | null }).subjects ?? [];
    // Rule 3: sent after segurDeadline, it is recorded but does not count for V1_SEGUR_LAP.
    const counts = justificatifCounts(ruleset, indicator, sentAt, postmarkedAt);
    const notices = [NO_MEDICAL_DATA_NOTICE];
    if (!counts) {
      notices.push(
        `Justificatif envoyé après la date limite Ségur du ${formatDate(parisDate(ruleset.parameters.segurDeadline))} : il est enregistré mais ne compte pas pour l’indicateur V1_SEGUR_LAP.`,
      );
    }
    if (recorded.includes('DPI_USAGE')) {
      notices.push(
        'Pour le DPI de l’établissement, le justificatif est l’attestation de l’établissement mentionnant vos coordonnées et votre utilisation du DPI ; une facture d’éditeur ne suffit pas.',
      );
    }
    return {
      id,
      sha256: stored.sha256,
      size: file.size,
      mediaType,
      subjects: recorded,
      status: 'pending',
      counts,
      notices,
      indicator,
      eventId: event.eventId,
      revision: result.revision,
      position: result.position.toString(),
      notice: NO_MEDICAL_DATA_NOTICE,
    };
  }

  @Post('justificatifs/:id/decision')
  @HttpCode(201)
  @Roles('agent')
  @ApiOperation({
    summary: 'Validate or reject a justificatif or a CPTS SAS attestation (agent of the doctor’s caisse; of every listed doctor’s for an attestation)',
  })
  async decide(@Param('id') id: string, @Body(validationPipe) body: DecisionDto, @Sender() sender: CommandSender) {
    if (SAS_ATTESTATION_ID.test(id)) {
      // An agent of every listed doctor's caisse.
      const rpps = await this.sasAttestations.listed(id);
      for (const doctor of rpps) await this.scope.assertDoctor(sender.principal, doctor, 'write', ['agent']);
      // If-Match: the attestation's own revision, as the worklist carries it.
      const { result, position } = await this.sasAttestations.decide(id, body.decision, body.reason, sender.sent('back-office'));
      return { id, status: body.decision, eventId: result.events[0]!.eventId, revision: result.revision, position: position.toString(), rpps };
    }
    const m = JUSTIFICATIF_ID.exec(id);
    if (!m) return refuse('JUSTIFICATIF_NOT_FOUND', `no justificatif ${id}`);
    const year = Number(m[1]);
    const rpps = m[2]!;
    await this.scope.assertDoctor(sender.principal, rpps, 'write', ['agent']);
    const command: DeclarationCommand = {
      type: 'DecideJustificatif',
      justificatifId: id,
      decision: body.decision,
      ...(body.reason ? { reason: body.reason } : {}),
    };
    const result = await this.declarations.handle(rpps, year, command, sender.sent('back-office', { forDoctor: rpps }));
    return { id, status: body.decision, eventId: result.events[0]!.eventId, revision: result.revision };
  }

  @Get('justificatifs')
  @Roles('agent', 'auditor')
  @ApiQuery({ name: 'minPosition', required: false, description: MIN_POSITION_DOC })
  @ApiOperation({ summary: 'The worklist: justificatifs of a caisse by status (agents: their own caisse)' })
  async worklist(
    @Query('caisse') caisse: string | undefined,
    @Query('status') status: string | undefined,
    @Query('minPosition') minPosition: string | undefined,
    @Req() req: Req_,
  ) {
    if (status !== undefined && !['pending', 'validated', 'rejected'].includes(status))
      throw new RequestValidationError('status is pending, validated or rejected');
    const p = req.principal;
    if (p.role === 'agent') {
      if (caisse !== undefined && caisse !== p.caisse)
        throw new ForbiddenError(`un agent de la caisse ${p.caisse} ne voit que la liste de travail de sa caisse`, { reason: 'OTHER_CAISSE' });
      caisse = p.caisse;
    }
    if (caisse !== undefined && !/^\d{3}$/.test(caisse)) throw new RequestValidationError('caisse is a 3-digit code');
    const filter = { caisse, status };
    await this.reads.reach(minPosition, ['registry']);
    const [justificatifs, attestations] = await Promise.all([
      listJustificatifs(this.reads.db, this.reads.schema, filter),
      listSasAttestations(this.reads.db, this.reads.schema, filter),
    ]);
    // One worklist (api.md): per-doctor justificatifs and CPTS SAS attestations, oldest first.
    const items = [...justificatifs.map((j) => ({ kind: 'justificatif' as const, ...j })), ...attestations].sort(
      (a, b) => a.submittedAt.localeCompare(b.submittedAt) || a.id.localeCompare(b.id),
    );
    return { caisse: caisse ?? null, status: status ?? null, items };
  }

  @Get('justificatifs/:id/file')
  @Roles(...DOCTOR_READERS)
  @ApiOperation({ summary: 'The file of a justificatif, as it was sent (its readers: the doctor, the caisse’s staff, auditors)' })
  async file(@Param('id') id: string, @Req() req: Req_, @Res() res: Response) {
    const j = JUSTIFICATIF_ID.test(id) ? await findJustificatif(this.runtime.readDb, this.runtime.readModelSchema, id) : undefined;
    if (!j) return refuse('JUSTIFICATIF_NOT_FOUND', `no justificatif ${id}`);
    await this.scope.assertDoctor(req.principal, j.rpps, 'read', [...DOCTOR_READERS]);
    const content = await this.files.read(j.sha256);
    if (!content) return refuse('JUSTIFICATIF_NOT_FOUND', `le fichier du justificatif ${id} (SHA-256 ${j.sha256}) n’est pas conservé ici`);
    res.setHeader('Content-Type', j.mediaType);
    res.setHeader('Content-Length', String(content.length));
    res.setHeader('Content-Disposition', `inline; filename="${id}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'private, no-store');
    res.end(content);
  }

  /**
   * The doctor uploads for itself, now, on amelipro; an agent records a postal one (`paper`, with
   * the day the caisse received it: rule 3 judges that day, and its postmark: INT-8) or a
   * back-office one (api.md). Who may send on which channel: the domain's rule (sendingChannel).
   */
  private sending(
    sender: CommandSender,
    channel: unknown,
    effectiveAt: unknown,
    postmarkedAt: unknown,
  ): { channel: Channel; sentAt: string; postmarkedAt: string | undefined } {
    if (channel !== undefined && channel !== 'amelipro' && channel !== 'paper' && channel !== 'back-office')
      throw new RequestValidationError('channel is amelipro, paper or back-office');
    if (effectiveAt !== undefined && typeof effectiveAt !== 'string') throw new RequestValidationError('effectiveAt is an instant');
    if (postmarkedAt !== undefined && typeof postmarkedAt !== 'string') throw new RequestValidationError('postmarkedAt is an instant');
    const on = sendingChannel({ role: sender.principal.role, channel, effectiveAt, postmarkedAt }, 'back-office');
    const now = sender.now;
    const sentAt = parseInstant(effectiveAt, 'effectiveAt') ?? now;
    if (Date.parse(sentAt) > Date.parse(now)) return refuse('EFFECTIVE_AT_IN_FUTURE', `effectiveAt ${sentAt} est dans le futur`, { now });
    return { channel: on, sentAt, postmarkedAt: parseInstant(postmarkedAt, 'postmarkedAt') };
  }
}
