import { Module } from '@nestjs/common';
import { CampaignsModule } from '../campaigns/campaigns.module';
import { ImportsModule } from '../imports/imports.module';
import { ApiWorkers } from './api-workers';

/** The workers that write through the command side (deadlines, calculations, CSV imports), started with the application. */
@Module({ imports: [CampaignsModule, ImportsModule], providers: [ApiWorkers] })
export class JobsModule {}
