import { Module } from '@nestjs/common';
import { CoreModule } from '../core/core.module';
import { WorklistsController } from './worklists.controller';

/** The controllers' and agents' worklists and the campaign dashboard (read models). */
@Module({ imports: [CoreModule], controllers: [WorklistsController] })
export class WorklistsModule {}
