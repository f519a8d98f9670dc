import { Module } from '@nestjs/common';
import { DoctorYearReader, ImportsService } from '@forfait/application';
import type { Runtime } from '@forfait/read-models';
import { CoreModule } from '../core/core.module';
import { RUNTIME } from '../runtime.token';
import { ImportsController } from './imports.controller';

/** Pre-fills and measures (JSON batches, CSV extracts as jobs), and the jobs' status. */
@Module({
  imports: [CoreModule],
  controllers: [ImportsController],
  providers: [
    {
      provide: ImportsService,
      useFactory: (runtime: Runtime, reader: DoctorYearReader) => new ImportsService(runtime, reader),
      inject: [RUNTIME, DoctorYearReader],
    },
  ],
  exports: [ImportsService],
})
export class ImportsModule {}
