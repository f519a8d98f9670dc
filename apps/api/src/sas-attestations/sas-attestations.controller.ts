import { Body, HttpCode, Inject, Post, UploadedFile, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { ApiBody, ApiConsumes, ApiOperation, ApiResponse } from '@nestjs/swagger';
import { MAX_SAS_ATTESTATION_DOCTORS } from '@forfait/domain';
import { SasAttestationHandler } from '@forfait/application';
import { Roles } from '../auth/auth.guard';
import { parseInstant, RequestValidationError, YearPipe } from '../common/validation';
import { IdempotencyInterceptor } from '../core/idempotency';
import { FormFieldsCheck } from '../common/form-fields';
import { CommandController, CommandSender, Sender } from '../core/command-sender';
import { Scope } from '../core/scope';
import { MAX_JUSTIFICATIF_BYTES } from '../core/justificatif-files';

const FIELDS = ['year', 'cpts', 'software', 'rpps', 'effectiveAt'];

/** `rpps` as a JSON array or as repeated fields (api.md). */
function rppsOf(value: unknown): string[] {
  const parts = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const out: string[] = [];
  for (const part of parts) {
    if (typeof part !== 'string') throw new RequestValidationError('rpps is a JSON array of RPPS numbers or repeated rpps fields', { field: 'rpps' });
    const text = part.trim();
    if (text.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new RequestValidationError('rpps is not valid JSON', { field: 'rpps' });
      }
      if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string'))
        throw new RequestValidationError('rpps is a JSON array of strings', { field: 'rpps' });
      out.push(...parsed.map((x) => x.trim()));
    } else out.push(text);
  }
  if (out.length === 0) throw new RequestValidationError('rpps lists at least one doctor', { field: 'rpps' });
  return out;
}

function text(body: Record<string, unknown>, name: string, max: number): string {
  const v = body[name];
  if (typeof v !== 'string' || v.trim().length === 0) throw new RequestValidationError(`${name} is required`, { field: name });
  if (v.length > max) throw new RequestValidationError(`${name} has at most ${max} characters`, { field: name });
  return v;
}

@CommandController('v1', 'justificatifs')
export class SasAttestationsController {
  constructor(
    @Inject(SasAttestationHandler) private readonly attestations: SasAttestationHandler,
    @Inject(Scope) private readonly scope: Scope,
  ) {}

  @Post('sas-attestations')
  @HttpCode(201)
  @Roles('agent')
  // Idempotency-Key once the fields and the file are read (the global interceptor leaves multipart to this one),
  // after the fields' check (NUL, lone surrogates: a refused form keeps nothing).
  @UseInterceptors(
    FileInterceptor('file', { limits: { fileSize: MAX_JUSTIFICATIF_BYTES, files: 1, fields: MAX_SAS_ATTESTATION_DOCTORS + FIELDS.length } }),
    FormFieldsCheck,
    IdempotencyInterceptor,
  )
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file', 'year', 'cpts', 'software', 'rpps'],
      properties: {
        file: { type: 'string', format: 'binary' },
        year: { type: 'integer', example: 2023 },
        cpts: { type: 'string', description: 'the CPTS’s name' },
        software: { type: 'string', description: 'the SAS software (matched to the campaign list sasSoftware)' },
        rpps: { type: 'array', items: { type: 'string' }, description: 'the listed doctors: a JSON array or repeated fields' },
        effectiveAt: { type: 'string', format: 'date-time', description: 'when the caisse received it (default: now)' },
      },
    },
  })
  @ApiResponse({ status: 201, description: '{ id, sha256, rpps, status: "pending", notices, eventId, revision, position }' })
  @ApiResponse({ status: 403, description: 'FORBIDDEN: a listed doctor belongs to another caisse' })
  @ApiResponse({ status: 413, description: 'PAYLOAD_TOO_LARGE' })
  @ApiResponse({ status: 415, description: 'UNSUPPORTED_MEDIA_TYPE (judged by content)' })
  @ApiOperation({ summary: 'Record a CPTS president’s SAS attestation (guide §II.2 indicateur 8): one document for every doctor it lists' })
  async receive(@UploadedFile() file: Express.Multer.File | undefined, @Body() body: Record<string, unknown> | undefined, @Sender() sender: CommandSender) {
    const fields = body ?? {}; // none when the request is not multipart
    const extra = Object.keys(fields).filter((k) => !FIELDS.includes(k));
    if (extra.length > 0) throw new RequestValidationError(`unexpected field(s) ${extra.join(', ')}`);
    const year = new YearPipe().transform(typeof fields.year === 'string' ? fields.year : '');
    const cpts = text(fields, 'cpts', 300);
    const software = text(fields, 'software', 200);
    const rpps = rppsOf(fields.rpps);
    const effectiveAt = parseInstant(typeof fields.effectiveAt === 'string' ? fields.effectiveAt : undefined, 'effectiveAt');
    if (!file || file.size === 0) throw new RequestValidationError('a non-empty "file" part is required', {}, 'FILE_REQUIRED');
    // An agent of the caisse of every doctor it lists (another caisse's doctor: 403).
    for (const doctor of rpps) await this.scope.assertDoctor(sender.principal, doctor, 'write', ['agent']);
    const meta = sender.meta('back-office', { effectiveAt });
    const {
      id,
      software: named,
      sha256,
      size,
      mediaType,
      result,
      notices,
    } = await this.attestations.receive({ year, caisse: sender.principal.caisse!, cpts, software, rpps, file: file.buffer }, meta);
    return {
      id,
      sha256,
      rpps,
      status: 'pending' as const,
      year,
      cpts: cpts.trim(),
      software: named,
      size,
      mediaType,
      effectiveAt: new Date(meta.effectiveAt).toISOString(),
      eventId: result.events[0]!.eventId,
      revision: result.revision,
      position: result.position.toString(),
      notices,
    };
  }
}
