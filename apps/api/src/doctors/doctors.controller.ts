import { Body, Get, HttpCode, Inject, Param, Post, Put, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiQuery } from '@nestjs/swagger';
import { sendingChannel, type DeclarationCommand } from '@forfait/domain';
import { DOCTOR_YEAR_STATUSES, searchDoctors, type DoctorYearStatus } from '@forfait/read-models';
import { DeclarationHandler, DoctorProfileHandler, validateValue, type CommandResult } from '@forfait/application';
import { ForbiddenError } from '../auth/auth.errors';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { EmptyBodyPipe, RequestValidationError, RppsPipe, validationPipe, YearPipe } from '../common/validation';
import type { ContextRequest } from '../core/request-context';
import { CommandController, CommandSender, Sender } from '../core/command-sender';
import { Scope } from '../core/scope';
import { MIN_POSITION_DOC, ReadYourWrites } from '../core/read-your-writes';
import { DeclarationDto, DoctorProfileDto, PaymentDto, VALUE_DTO } from './doctors.dto';

type Req_ = AuthedRequest & ContextRequest;

/** Doctors' profiles, and the commands on a doctor-year: declarations, transmission, payments. */
@CommandController('v1/doctors', 'doctors')
export class DoctorsController {
  constructor(
    @Inject(Scope) private readonly scope: Scope,
    @Inject(DeclarationHandler) private readonly declarations: DeclarationHandler,
    @Inject(DoctorProfileHandler) private readonly profiles: DoctorProfileHandler,
    @Inject(ReadYourWrites) private readonly reads: ReadYourWrites,
  ) {}

  @Get()
  @Roles('agent', 'controller', 'auditor', 'admin')
  @ApiQuery({ name: 'caisse', required: false, description: '3-digit CPAM code (agents and controllers: their own, the default)' })
  @ApiQuery({ name: 'specialty', required: false })
  @ApiQuery({
    name: 'q',
    required: false,
    description: 'an RPPS prefix, or the beginning of the doctor’s name or of one of its words (case and accents ignored)',
  })
  @ApiQuery({ name: 'status', required: false, description: 'with year: transmitted | not-transmitted | under-control (a control open) (extension of api.md)' })
  @ApiQuery({ name: 'year', required: false, description: 'the campaign the status is of (required with status)' })
  @ApiQuery({ name: 'minPosition', required: false, description: MIN_POSITION_DOC })
  @ApiOperation({ summary: 'Search doctors (registry read model), at most 200, by RPPS or name, specialty, caisse, and the status of a campaign' })
  async search(
    @Query('caisse') caisse: string | undefined,
    @Query('specialty') specialty: string | undefined,
    @Query('q') q: string | undefined,
    @Query('status') status: string | undefined,
    @Query('year') year: string | undefined,
    @Query('minPosition') minPosition: string | undefined,
    @Req() req: Req_,
  ) {
    const p = req.principal;
    if (p.role === 'agent' || p.role === 'controller') {
      if (caisse && caisse !== p.caisse)
        throw new ForbiddenError(`un ${p.role === 'agent' ? 'agent' : 'contrôleur'} de la caisse ${p.caisse} ne cherche que dans sa caisse`, {
          reason: 'OTHER_CAISSE',
        });
      caisse = p.caisse;
    }
    if (caisse && !/^\d{3}$/.test(caisse)) throw new RequestValidationError('caisse : un code à 3 chiffres est attendu');
    const query = q?.trim() || undefined;
    let byStatus: { year: number; is: DoctorYearStatus } | undefined;
    if (status) {
      if (!(DOCTOR_YEAR_STATUSES as readonly string[]).includes(status))
        throw new RequestValidationError(`status : ${DOCTOR_YEAR_STATUSES.join(', ')} sont attendus`, { field: 'status' });
      if (!year) throw new RequestValidationError('status se rapporte à une campagne : year est obligatoire avec status', { field: 'year' });
      byStatus = { year: new YearPipe().transform(year), is: status as DoctorYearStatus };
    }
    // The status is read from the worklists' tables: both projections reach minPosition.
    await this.reads.reach(minPosition, byStatus ? ['registry', 'worklists'] : ['registry']);
    const doctors = await searchDoctors(this.reads.db, this.reads.schema, {
      caisse: caisse || undefined,
      specialty: specialty || undefined,
      q: query,
      ...(byStatus ? { status: byStatus } : {}),
    });
    return { doctors };
  }

  @Put(':rpps')
  @Roles('admin', 'system')
  @ApiOperation({ summary: 'Record the doctor’s profile (an event only when something changed)' })
  async putProfile(@Param('rpps', RppsPipe) rpps: string, @Body(validationPipe) body: DoctorProfileDto, @Sender() sender: CommandSender) {
    if (body.convention?.since && body.convention.until && body.convention.until < body.convention.since) {
      throw new RequestValidationError('convention.until précède convention.since');
    }
    const convention = body.convention
      ? {
          status: body.convention.status,
          ...(body.convention.since ? { since: body.convention.since } : {}),
          ...(body.convention.until ? { until: body.convention.until } : {}),
        }
      : undefined;
    const profile = {
      rpps,
      specialty: body.specialty,
      caisse: body.caisse,
      department: body.department,
      ...(body.name ? { name: body.name } : {}),
      ...(body.firstDeclarationYear ? { firstDeclarationYear: body.firstDeclarationYear } : {}),
      ...(convention ? { convention } : {}),
      ...(body.effectiveFrom ? { effectiveFrom: body.effectiveFrom } : {}),
    };
    const result = await this.profiles.record(profile, sender.sent(sender.principal.role === 'system' ? 'import' : 'back-office'));
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
    @Sender() sender: CommandSender,
  ) {
    await this.scope.assertDoctor(sender.principal, rpps, 'write', ['doctor', 'agent']);
    // Who may send on which channel, and date it: the domain's rule (api.md: 403 CHANNEL_NOT_ALLOWED, EFFECTIVE_AT_NOT_ALLOWED).
    const channel = sendingChannel(
      { role: sender.principal.role, channel: body.channel, effectiveAt: body.effectiveAt, postmarkedAt: body.postmarkedAt },
      'paper',
    );
    const sent = sender.sent(channel, { effectiveAt: body.effectiveAt !== undefined ? new Date(body.effectiveAt).toISOString() : undefined, forDoctor: rpps });
    const value = validateValue(VALUE_DTO[body.indicator]!, body.value, 'value');
    const postmark = body.postmarkedAt !== undefined ? { postmarkedAt: new Date(body.postmarkedAt).toISOString() } : {};
    const command: DeclarationCommand = {
      type: 'Declare',
      indicator: body.indicator,
      value,
      attestation: body.attestation,
      channel,
      role: sender.principal.role,
      effectiveAt: sent.meta.effectiveAt,
      ...postmark,
      now: sender.now,
    };
    return answer(await this.declarations.handle(rpps, year, command, sent));
  }

  @Post(':rpps/campaigns/:year/transmissions')
  @HttpCode(201)
  @Roles('doctor', 'agent')
  @ApiOperation({ summary: 'The doctor’s "Transmettre"' })
  async transmit(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @Body(EmptyBodyPipe) _body: Record<string, never>,
    @Sender() sender: CommandSender,
  ) {
    await this.scope.assertDoctor(sender.principal, rpps, 'write', ['doctor', 'agent']);
    const sent = sender.sent(sendingChannel({ role: sender.principal.role }, 'paper'), { forDoctor: rpps });
    return answer(await this.declarations.handle(rpps, year, { type: 'Transmit', effectiveAt: sent.meta.effectiveAt }, sent));
  }

  @Post(':rpps/campaigns/:year/payments')
  @HttpCode(201)
  @Roles('system')
  @ApiOperation({ summary: 'Record a payment of the forfait' })
  async pay(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @Body(validationPipe) body: PaymentDto,
    @Sender() sender: CommandSender,
  ) {
    const paidAt = new Date(body.paidAt).toISOString();
    const command: DeclarationCommand = {
      type: 'RecordPayment',
      amountCents: body.amountCents,
      paidAt,
      now: sender.now,
      ...(body.reference !== undefined ? { reference: body.reference } : {}),
    };
    return answer(await this.declarations.handle(rpps, year, command, sender.sent('system', { effectiveAt: paidAt })));
  }
}

/** A command's answer on a doctor-year (api.md): `{ eventId, revision, position }`, the ETag set by CommandInterceptor. */
function answer(result: CommandResult) {
  return { eventId: result.events[0]!.eventId, revision: result.revision, position: result.position.toString() };
}
