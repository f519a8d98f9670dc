import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { Runtime } from '@forfait/read-models';
import { AuthGuard } from './auth/auth.guard';
import { TokenVerifier } from './auth/token-verifier';
import { CalculationService } from './campaigns/calculation.service';
import { CampaignsController } from './campaigns/campaigns.controller';
import { CampaignContext } from './core/campaign-context';
import { CommandExecutor } from './core/command-executor';
import { EntitlementService } from './core/entitlement.service';
import { correlationMiddleware } from './core/request-context';
import { Scope } from './core/scope';
import { StreamReader } from './core/stream-reader';
import { DoctorsController } from './doctors/doctors.controller';
import { AppErrorFilter } from './errors/app-error.filter';
import { HealthController } from './health/health.controller';
import { ImportsController } from './imports/imports.controller';
import { ImportsService } from './imports/imports.service';
import { JustificatifsController } from './justificatifs/justificatifs.controller';
import { QueriesController } from './queries/queries.controller';
import { RUNTIME } from './runtime.token';
import { WorklistsController } from './worklists/worklists.controller';
import { ControlsController } from './controls/controls.controller';
import { AuditController } from './audit/audit.controller';
import { AccessJournal } from './audit/access-journal';
import { AuditBundleService } from './audit/audit-bundle.service';

@Module({})
export class AppModule implements NestModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: AppModule,
      global: true,
      controllers: [HealthController, CampaignsController, DoctorsController, ImportsController, JustificatifsController, QueriesController, WorklistsController, ControlsController, AuditController],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: TokenVerifier, useValue: new TokenVerifier(runtime.config.auth) },
        { provide: APP_FILTER, useClass: AppErrorFilter },
        { provide: APP_GUARD, useClass: AuthGuard },
        StreamReader,
        CampaignContext,
        CommandExecutor,
        Scope,
        EntitlementService,
        CalculationService,
        ImportsService,
        AccessJournal,
        AuditBundleService,
      ],
      exports: [RUNTIME],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(correlationMiddleware).forRoutes('*');
  }
}
