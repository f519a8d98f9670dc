import { Module } from '@nestjs/common';
import { CoreModule } from '../core/core.module';
import { QueriesController } from './queries.controller';

/** A doctor's entitlement and history (read models, or a replay at knownAt). */
@Module({ imports: [CoreModule], controllers: [QueriesController] })
export class QueriesModule {}
