import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles, type AuthedRequest } from '../auth/auth.guard';
import { actorOf } from '../auth/principal';
import { validationPipe } from '../common/validation';
import type { ContextRequest } from '../core/request-context';
import { MeasureBatchDto, PrefillBatchDto } from './imports.dto';
import { ImportsService } from './imports.service';

type Req_ = AuthedRequest & ContextRequest;

@ApiTags('imports')
@ApiBearerAuth()
@Controller('v1/imports')
export class ImportsController {
  constructor(@Inject(ImportsService) private readonly imports: ImportsService) {}

  @Post('prefills')
  @HttpCode(200)
  @Roles('system')
  @ApiOperation({ summary: 'Pre-fills (SONS for V1_SEGUR_LAP, ANNUAIRE_SANTE for V1_HORAIRES); bad items reported by index, re-sending is idempotent' })
  prefills(@Body(validationPipe) body: PrefillBatchDto, @Req() req: Req_) {
    return this.imports.prefills(body.source, body.items, { actor: actorOf(req.principal), correlationId: req.correlationId });
  }

  @Post('measures')
  @HttpCode(200)
  @Roles('system')
  @ApiOperation({ summary: 'Automated measures as a JSON batch; bad items reported by index, re-sending is idempotent' })
  measures(@Body(validationPipe) body: MeasureBatchDto, @Req() req: Req_) {
    return this.imports.measures(body.source, body.items, { actor: actorOf(req.principal), correlationId: req.correlationId });
  }
}
