import { Controller, Get, Header, HttpStatus, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { probeRedis } from '@forfait/platform';
import { PROJECTIONS, projectionFailures, projectionStatus, type ProjectionFailure, type Runtime } from '@forfait/read-models';
import type { Response } from 'express';
import { Public } from '../auth/auth.guard';
import { RUNTIME } from '../runtime.token';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  live: boolean;
  ready: boolean;
  now: string;
  store: { kind: string; ok: boolean; headPosition?: string; detail?: string };
  readModels: {
    ok: boolean;
    projections: Awaited<ReturnType<typeof projectionStatus>>;
    reactors: Awaited<ReturnType<typeof projectionStatus>>;
    /** Projections (and reactors) stopped on an event they cannot apply: which, at what position, why. */
    failing: (ProjectionFailure & { detail: string })[];
    /** With READ_DATABASE_URL: the same projections as the standby the queries read has replayed them. */
    standby?: { ok: boolean; projections: Awaited<ReturnType<typeof projectionStatus>>; detail?: string };
  };
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

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4')
  @ApiOperation({ summary: 'Prometheus metrics: store head, projection checkpoints and lag, Redis' })
  async metrics(): Promise<string> {
    const r = await this.report();
    const lines = [
      '# HELP forfait_store_up Whether the event store answers.',
      '# TYPE forfait_store_up gauge',
      `forfait_store_up ${r.store.ok ? 1 : 0}`,
      '# HELP forfait_store_head_position Global position of the last committed event.',
      '# TYPE forfait_store_head_position gauge',
      `forfait_store_head_position ${r.store.headPosition ?? 0}`,
      '# HELP forfait_projection_lag_events Events committed but not yet applied by a projection.',
      '# TYPE forfait_projection_lag_events gauge',
      ...[...r.readModels.projections, ...r.readModels.reactors].map(
        (p) => `forfait_projection_lag_events{projection="${p.name}"} ${p.lagEvents ?? (p.behind ? 1 : 0)}`,
      ),
      '# HELP forfait_projection_checkpoint Position of the last event a projection applied.',
      '# TYPE forfait_projection_checkpoint gauge',
      ...[...r.readModels.projections, ...r.readModels.reactors].map((p) => `forfait_projection_checkpoint{projection="${p.name}"} ${p.checkpoint}`),
      '# HELP forfait_projection_failed Whether a projection is failing on an event it cannot apply, retried with backoff (label position: that event).',
      '# TYPE forfait_projection_failed gauge',
      ...[...r.readModels.projections, ...r.readModels.reactors].map((p) => {
        const failure = r.readModels.failing.find((f) => f.name === p.name);
        return failure
          ? `forfait_projection_failed{projection="${p.name}",position="${failure.position}"} 1`
          : `forfait_projection_failed{projection="${p.name}"} 0`;
      }),
      '# HELP forfait_ready Whether the read models are caught up (readiness).',
      '# TYPE forfait_ready gauge',
      `forfait_ready ${r.ready ? 1 : 0}`,
      '# HELP forfait_jobs_up Whether Redis (and so the jobs) is reachable.',
      '# TYPE forfait_jobs_up gauge',
      `forfait_jobs_up ${r.redis.ok ? 1 : 0}`,
    ];
    return `${lines.join('\n')}\n`;
  }

  private async report(): Promise<HealthReport> {
    const { store, readDb, queryDb, config, readModelSchema, clock } = this.runtime;
    let storeReport: HealthReport['store'];
    let projections: HealthReport['readModels']['projections'] = [];
    let reactors: HealthReport['readModels']['reactors'] = [];
    let failing: HealthReport['readModels']['failing'] = [];
    try {
      storeReport = { kind: store.kind, ok: true, headPosition: (await store.headPosition()).toString() };
      const all = await projectionStatus(readDb, store, readModelSchema);
      // Readiness is about the read models that queries use; reactors (job schedulers) are listed apart.
      const names = new Set(PROJECTIONS.map((p) => p.name));
      projections = all.filter((p) => names.has(p.name));
      reactors = all.filter((p) => !names.has(p.name));
      failing = (await projectionFailures(readDb, readModelSchema)).map((f) => ({
        ...f,
        detail: `la projection ${f.name} ne peut pas appliquer l’événement ${f.type} (${f.eventId}) à la position ${f.position} : ${f.error}`,
      }));
    } catch (error) {
      storeReport = { kind: store.kind, ok: false, detail: (error as Error).message };
    }
    let standby: HealthReport['readModels']['standby'];
    if (queryDb !== readDb) {
      try {
        const seen = (await projectionStatus(queryDb, store, readModelSchema)).filter((p) => PROJECTIONS.some((q) => q.name === p.name));
        standby = { ok: seen.length === PROJECTIONS.length, projections: seen };
      } catch (error) {
        standby = { ok: false, projections: [], detail: (error as Error).message };
      }
    }
    const redis = await probeRedis(config.redisUrl, 500);
    const readModelsOk = projections.length === PROJECTIONS.length;
    // The queries read the standby when there is one: ready when it has caught up too.
    const ready =
      storeReport.ok &&
      readModelsOk &&
      projections.every((p) => !p.behind) &&
      !failing.some((f) => projections.some((p) => p.name === f.name)) &&
      (!standby || (standby.ok && standby.projections.every((p) => !p.behind)));
    return {
      status: !storeReport.ok ? 'down' : ready && redis.ok && failing.length === 0 ? 'ok' : 'degraded',
      live: storeReport.ok,
      ready,
      now: clock.now().toISOString(),
      store: storeReport,
      readModels: { ok: readModelsOk, projections, reactors, failing, ...(standby ? { standby } : {}) },
      redis: { ok: redis.ok, jobs: redis.ok ? 'on' : 'off', url: redis.url, detail: redis.detail },
    };
  }
}
