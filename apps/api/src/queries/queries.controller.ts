import { Controller, Get, Inject, Param, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { toEntitlementView } from '@forfait/domain';
import type { Runtime } from '@forfait/read-models';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { parseInstant, RequestValidationError, RppsPipe, YearPipe } from '../common/validation';
import { EntitlementService } from '../core/entitlement.service';
import { DOCTOR_READERS as READERS, Scope } from '../core/scope';
import { StreamReader } from '../core/stream-reader';
import { RUNTIME } from '../runtime.token';
import { AccessJournal } from '../audit/access-journal';
import type { ContextRequest } from '../core/request-context';

/** Queries on a doctor (doctor: own; agent and controller: own caisse; auditor: all). */
@ApiTags('queries')
@ApiBearerAuth()
@Controller('v1/doctors')
export class QueriesController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(EntitlementService) private readonly entitlements: EntitlementService,
    @Inject(StreamReader) private readonly reader: StreamReader,
    @Inject(Scope) private readonly scope: Scope,
    @Inject(AccessJournal) private readonly journal: AccessJournal,
  ) {}

  @Get(':rpps/campaigns/:year/entitlement')
  @Roles(...READERS)
  @ApiQuery({ name: 'knownAt', required: false, description: 'ISO instant with offset; omitted: now' })
  @ApiOperation({ summary: 'The entitlement as the caisse knew it at knownAt, with reasons and evidence' })
  async entitlement(@Param('rpps', RppsPipe) rpps: string, @Param('year', YearPipe) year: number, @Query('knownAt') knownAt: string | undefined, @Req() req: AuthedRequest) {
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    const { entitlement } = await this.entitlements.compute(rpps, year, parseInstant(knownAt, 'knownAt'));
    return toEntitlementView(entitlement);
  }

  @Get(':rpps/history')
  @Roles(...READERS)
  @ApiQuery({ name: 'year', required: false })
  @ApiQuery({ name: 'knownAt', required: false })
  @ApiOperation({ summary: 'The audit trail: every event about the doctor (and year), in recorded order' })
  async history(@Param('rpps', RppsPipe) rpps: string, @Query('year') year: string | undefined, @Query('knownAt') knownAt: string | undefined, @Req() req: AuthedRequest & ContextRequest) {
    await this.scope.assertDoctor(req.principal, rpps, 'read', [...READERS]);
    const y = year === undefined || year === '' ? undefined : new YearPipe().transform(year);
    const at = parseInstant(knownAt, 'knownAt');
    if (at && Date.parse(at) > this.runtime.clock.now().getTime() + 1000) throw new RequestValidationError('knownAt is in the future', {}, 'INVALID_INSTANT');
    const events = (await this.reader.doctorHistory(rpps, y)).filter((e) => !at || Date.parse(e.metadata.recordedAt) <= Date.parse(at));
    await this.journal.record(req.principal, req.correlationId, { rpps, resource: 'history', ...(y !== undefined ? { year: y } : {}), ...(at ? { knownAt: at } : {}) });
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
