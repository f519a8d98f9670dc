import { Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery } from '@nestjs/swagger';
import type { Response } from 'express';
import { defaultUpcasters, streams, type RecordedEvent } from '@forfait/events';
import { DomainRefusal, latestEffective, ofType, toEntitlementView, type KnownEvent } from '@forfait/domain';
import { doctorTrail, entitlementPending, readEntitlement, trailRevision, type Runtime } from '@forfait/read-models';
import { AccessJournalHandler, DoctorYearReader, EntitlementService } from '@forfait/application';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { parseInstant, RequestValidationError, RppsPipe, YearPipe } from '../common/validation';
import { DOCTOR_READERS as READERS, Scope } from '../core/scope';
import { RUNTIME } from '../runtime.token';
import { CommandController, CommandSender, Sender } from '../core/command-sender';
import { MIN_POSITION_DOC, ReadYourWrites } from '../core/read-your-writes';

/** Queries on a doctor (doctor: own; agent and controller: own caisse; auditor: all). */
@CommandController('v1/doctors', 'queries')
export class QueriesController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(EntitlementService) private readonly entitlements: EntitlementService,
    @Inject(DoctorYearReader) private readonly reader: DoctorYearReader,
    @Inject(Scope) private readonly scope: Scope,
    @Inject(AccessJournalHandler) private readonly journal: AccessJournalHandler,
    @Inject(ReadYourWrites) private readonly reads: ReadYourWrites,
  ) {}

  /** The doctor's caisse as the audit trail knows it (the profile in force, as the store's replay finds it): scope on the read side. */
  private readonly trailCaisse = async (rpps: string): Promise<string | undefined> => {
    const profile = await doctorTrail(this.reads.db, this.reads.schema, rpps, undefined, 'profile');
    return latestEffective(
      ofType(
        profile.map((e) => defaultUpcasters.upcast(e) as KnownEvent),
        'DoctorProfileRecorded',
      ),
    )?.data.caisse;
  };

  @Get(':rpps/campaigns/:year/entitlement')
  @Roles(...READERS)
  @ApiQuery({ name: 'knownAt', required: false, description: 'ISO instant with offset; omitted: now' })
  @ApiQuery({ name: 'minPosition', required: false, description: MIN_POSITION_DOC })
  @ApiOperation({ summary: 'The entitlement as the caisse knew it at knownAt, with reasons and evidence; ETag: the doctor-year stream’s revision' })
  async entitlement(
    @Param('rpps', RppsPipe) rpps: string,
    @Param('year', YearPipe) year: number,
    @Query('knownAt') knownAt: string | undefined,
    @Query('minPosition') minPosition: string | undefined,
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
  ) {
    const at = parseInstant(knownAt, 'knownAt');
    if (at === undefined) {
      await this.reads.reach(
        minPosition,
        ['entitlement', 'audit_trail'],
        async () => !(await entitlementPending(this.reads.db, this.reads.schema, rpps, year)),
      );
      await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS], this.trailCaisse);
      const now = this.runtime.clock.now().toISOString();
      const [view, revision] = await Promise.all([
        readEntitlement(this.reads.db, this.reads.schema, rpps, year),
        trailRevision(this.reads.db, this.reads.schema, streams.declaration(rpps, year), rpps),
      ]);
      if (view) {
        res.setHeader('ETag', `"${revision}"`);
        // The read model holds what was known up to its position, which is at least the one asked for: as known now.
        return { ...view, knownAt: now };
      }
    } else {
      await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    }
    const { entitlement, revision, known } = await this.entitlements.compute(rpps, year, at);
    // 404 only for a doctor with neither a profile nor an event of the year: a doctor who declared
    // before the profile import is known (issue 13, decided; docs/rules.md « Doctors without a profile »).
    if (!known) throw new DomainRefusal('DOCTOR_NOT_FOUND', `aucune fiche ni aucun événement pour le médecin ${rpps} en ${year}`);
    res.setHeader('ETag', `"${revision}"`);
    return toEntitlementView(entitlement);
  }

  // Not rate limited: one doctor's handful of streams, the controllers' everyday read (issue 11.3: 50 concurrent reads all answered).
  @Get(':rpps/history')
  @Roles(...READERS)
  @ApiQuery({ name: 'year', required: false })
  @ApiQuery({ name: 'knownAt', required: false })
  @ApiQuery({ name: 'minPosition', required: false, description: MIN_POSITION_DOC })
  @ApiOperation({ summary: 'The audit trail: every event about the doctor (and year), in recorded order; with year, ETag: the doctor-year stream’s revision' })
  async history(
    @Param('rpps', RppsPipe) rpps: string,
    @Query('year') year: string | undefined,
    @Query('knownAt') knownAt: string | undefined,
    @Query('minPosition') minPosition: string | undefined,
    @Req() req: AuthedRequest,
    @Sender() sender: CommandSender,
    @Res({ passthrough: true }) res: Response,
  ) {
    const y = year === undefined || year === '' ? undefined : new YearPipe().transform(year);
    const at = parseInstant(knownAt, 'knownAt');
    if (at && Date.parse(at) > this.runtime.clock.now().getTime() + 1000) throw new RequestValidationError('knownAt is in the future', {}, 'INVALID_INSTANT');
    let all: RecordedEvent[];
    if (at === undefined) {
      await this.reads.reach(minPosition, ['audit_trail']);
      await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS], this.trailCaisse);
      all = await doctorTrail(this.reads.db, this.reads.schema, rpps, y);
    } else {
      await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
      all = await this.reader.doctorHistory(rpps, y);
    }
    if (y !== undefined)
      res.setHeader('ETag', `"${all.filter((e) => e.streamId === streams.declaration(rpps, y)).reduce((m, e) => Math.max(m, e.revision), -1)}"`);
    const events = all.filter((e) => !at || Date.parse(e.metadata.recordedAt) <= Date.parse(at));
    await this.journal.record(
      { rpps, resource: 'history', ...(y !== undefined ? { year: y } : {}), ...(at ? { knownAt: at } : {}) },
      sender.meta('back-office'),
    );
    return {
      rpps,
      year: y ?? null,
      knownAt: at ?? null,
      events: events.map((e) => ({
        eventId: e.eventId,
        streamId: e.streamId,
        revision: e.revision,
        position: e.position.toString(),
        type: e.type,
        schemaVersion: e.schemaVersion,
        recordedAt: e.metadata.recordedAt,
        effectiveAt: e.metadata.effectiveAt,
        actor: e.metadata.actor,
        onBehalfOf: e.metadata.onBehalfOf ?? null,
        channel: e.metadata.channel,
        correlationId: e.metadata.correlationId,
        causationId: e.metadata.causationId,
        data: e.data,
        hash: e.hash,
        prevHash: e.prevHash,
      })),
    };
  }
}
