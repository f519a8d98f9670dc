import { Controller, Get, Inject, Param, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { campaignDashboard, listControls, type Runtime } from '@forfait/read-models';
import { MIN_POSITION_DOC, ReadYourWrites } from '../core/read-your-writes';
import { ForbiddenError } from '../auth/auth.errors';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import type { Principal } from '../auth/principal';
import { RequestValidationError, YearPipe } from '../common/validation';
import { RUNTIME } from '../runtime.token';

/** Agents, controllers and admins see their own caisse (admins and auditors any); the filter says which. */
function caisseScope(p: Principal, caisse: string | undefined): string | undefined {
  if (caisse !== undefined && !/^\d{3}$/.test(caisse)) throw new RequestValidationError('caisse is a 3-digit code');
  if (p.role === 'agent' || p.role === 'controller') {
    if (caisse !== undefined && caisse !== p.caisse)
      throw new ForbiddenError(`la caisse ${p.caisse} ne voit que ses propres listes de travail`, { reason: 'OTHER_CAISSE' });
    return p.caisse;
  }
  return caisse;
}

@ApiTags('worklists')
@ApiBearerAuth()
@Controller('v1')
export class WorklistsController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(ReadYourWrites) private readonly reads: ReadYourWrites,
  ) {}

  @Get('controls')
  @Roles('controller', 'auditor')
  @ApiQuery({ name: 'status', required: false, enum: ['open', 'overdue', 'contested', 'closed'] })
  @ApiQuery({ name: 'minPosition', required: false, description: MIN_POSITION_DOC })
  @ApiOperation({ summary: 'Controls of a caisse: open, evidence overdue, contested, closed' })
  async controls(
    @Query('caisse') caisse: string | undefined,
    @Query('status') status: string | undefined,
    @Query('minPosition') minPosition: string | undefined,
    @Req() req: AuthedRequest,
  ) {
    if (status !== undefined && !['open', 'overdue', 'contested', 'closed'].includes(status))
      throw new RequestValidationError('status is open, overdue, contested or closed');
    const scope = caisseScope(req.principal, caisse);
    await this.reads.reach(minPosition, ['worklists']);
    const now = this.runtime.clock.now().toISOString();
    return {
      caisse: scope ?? null,
      status: status ?? null,
      items: await listControls(this.reads.db, this.reads.schema, { caisse: scope, status: status as never, now }),
    };
  }

  @Get('contestations')
  @Roles('controller', 'auditor')
  @ApiQuery({ name: 'minPosition', required: false, description: MIN_POSITION_DOC })
  @ApiOperation({ summary: 'Contestations waiting for their decision (commission de recours amiable)' })
  async contestations(@Query('caisse') caisse: string | undefined, @Query('minPosition') minPosition: string | undefined, @Req() req: AuthedRequest) {
    const scope = caisseScope(req.principal, caisse);
    await this.reads.reach(minPosition, ['worklists']);
    const now = this.runtime.clock.now().toISOString();
    return { caisse: scope ?? null, items: await listControls(this.reads.db, this.reads.schema, { caisse: scope, status: 'contested', now }) };
  }

  @Get('campaigns/:year/dashboard')
  @Roles('admin', 'agent', 'controller', 'auditor')
  @ApiQuery({ name: 'minPosition', required: false, description: MIN_POSITION_DOC })
  @ApiOperation({ summary: 'Campaign dashboard: declarations per indicator, transmitted or not, per caisse' })
  async dashboard(
    @Param('year', YearPipe) year: number,
    @Query('caisse') caisse: string | undefined,
    @Query('minPosition') minPosition: string | undefined,
    @Req() req: AuthedRequest,
  ) {
    const scope = caisseScope(req.principal, caisse);
    await this.reads.reach(minPosition, ['worklists', 'registry']);
    return campaignDashboard(this.reads.db, this.reads.schema, year, scope);
  }
}
