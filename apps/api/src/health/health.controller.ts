import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { probeRedis } from '@forfait/platform';
import { projectionStatus, type Runtime } from '@forfait/read-models';
import type { Response } from 'express';
import { Public } from '../auth/auth.guard';
import { RUNTIME } from '../runtime.token';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  live: boolean;
  ready: boolean;
  now: string;
  store: { kind: string; ok: boolean; headPosition?: string; detail?: string };
  readModels: { ok: boolean; projections: Awaited<ReturnType<typeof projectionStatus>> };
  redis: { ok: boolean; jobs: 'on' | 'off'; url: string; detail: string };
}

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  @Get()
  @ApiOperation({ summary: 'Liveness and readiness: store, read models (lag), Redis (jobs on or off)' })
  @ApiOkResponse({ description: 'The system answers; `ready` says whether the read models are caught up' })
  async health(@Res({ passthrough: true }) res: Response): Promise<HealthReport> {
    const report = await this.report();
    res.status(report.live ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness only: 503 while the store is down or read models are behind' })
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthReport> {
    const report = await this.report();
    res.status(report.ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }

  private async report(): Promise<HealthReport> {
    const { store, readDb, config, readModelSchema, clock } = this.runtime;
    let storeReport: HealthReport['store'];
    let projections: HealthReport['readModels']['projections'] = [];
    try {
      storeReport = { kind: store.kind, ok: true, headPosition: (await store.headPosition()).toString() };
      projections = await projectionStatus(readDb, store, readModelSchema);
    } catch (error) {
      storeReport = { kind: store.kind, ok: false, detail: (error as Error).message };
    }
    const redis = await probeRedis(config.redisUrl, 500);
    const readModelsOk = projections.length > 0;
    const ready = storeReport.ok && readModelsOk && projections.every((p) => !p.behind);
    return {
      status: !storeReport.ok ? 'down' : ready && redis.ok ? 'ok' : 'degraded',
      live: storeReport.ok,
      ready,
      now: clock.now().toISOString(),
      store: storeReport,
      readModels: { ok: readModelsOk, projections },
      redis: { ok: redis.ok, jobs: redis.ok ? 'on' : 'off', url: redis.url, detail: redis.detail },
    };
  }
}
