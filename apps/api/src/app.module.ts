import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import type { Runtime } from '@forfait/read-models';
import { AuditModule } from './audit/audit.module';
import { CampaignsModule } from './campaigns/campaigns.module';
import { ConsoleModule } from './console/console.module';
import { ControlsModule } from './controls/controls.module';
import { CoreModule } from './core/core.module';
import { correlationMiddleware } from './core/request-context';
import { DevModule } from './dev/dev.module';
import { DoctorsModule } from './doctors/doctors.module';
import { HealthModule } from './health/health.module';
import { ImportsModule } from './imports/imports.module';
import { JobsModule } from './jobs/jobs.module';
import { JustificatifsModule } from './justificatifs/justificatifs.module';
import { LogModule } from './log/log.module';
import { QueriesModule } from './queries/queries.module';
import type { TokenVerifier } from './auth/token-verifier';
import { RuntimeModule } from './runtime.module';
import { SasAttestationsModule } from './sas-attestations/sas-attestations.module';
import { WorklistsModule } from './worklists/worklists.module';

/** The API: the process's runtime, the core (shared providers, guards, filter), and one module per feature. */
@Module({})
export class AppModule implements NestModule {
  static register(runtime: Runtime, verifier: TokenVerifier): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RuntimeModule.forRoot(runtime, verifier),
        CoreModule,
        HealthModule,
        CampaignsModule,
        DoctorsModule,
        ImportsModule,
        JustificatifsModule,
        SasAttestationsModule,
        QueriesModule,
        WorklistsModule,
        ControlsModule,
        AuditModule,
        LogModule,
        DevModule,
        ConsoleModule,
        JobsModule,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(correlationMiddleware).forRoutes('*');
  }
}
