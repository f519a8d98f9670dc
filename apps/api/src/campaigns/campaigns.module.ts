import { Module } from '@nestjs/common';
import { CalculationHandler, CampaignHandler, CommandExecutor, EntitlementService } from '@forfait/application';
import type { Runtime } from '@forfait/read-models';
import { CoreModule } from '../core/core.module';
import { RUNTIME } from '../runtime.token';
import { CalculationService } from './calculation.service';
import { CampaignsController } from './campaigns.controller';

/** Campaigns (open, extend, amend) and the yearly calculation; the jobs use its handlers too. */
@Module({
  imports: [CoreModule],
  controllers: [CampaignsController],
  providers: [
    { provide: CampaignHandler, useFactory: (executor: CommandExecutor) => new CampaignHandler(executor), inject: [CommandExecutor] },
    {
      provide: CalculationHandler,
      useFactory: (runtime: Runtime, executor: CommandExecutor, entitlements: EntitlementService) => new CalculationHandler(runtime, executor, entitlements),
      inject: [RUNTIME, CommandExecutor, EntitlementService],
    },
    CalculationService,
  ],
  exports: [CampaignHandler, CalculationHandler],
})
export class CampaignsModule {}
