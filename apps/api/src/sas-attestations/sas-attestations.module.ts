import { Module } from '@nestjs/common';
import { CommandExecutor, DoctorYearReader, SasAttestationHandler } from '@forfait/application';
import type { Runtime } from '@forfait/read-models';
import { CoreModule } from '../core/core.module';
import { JustificatifFiles } from '../core/justificatif-files';
import { RUNTIME } from '../runtime.token';
import { SasAttestationsController } from './sas-attestations.controller';

/** CPTS presidents' SAS attestations; their decision goes through the justificatifs' route, which imports this. */
@Module({
  imports: [CoreModule],
  controllers: [SasAttestationsController],
  providers: [
    {
      provide: SasAttestationHandler,
      useFactory: (runtime: Runtime, reader: DoctorYearReader, executor: CommandExecutor, files: JustificatifFiles) =>
        new SasAttestationHandler(runtime, reader, executor, files),
      inject: [RUNTIME, DoctorYearReader, CommandExecutor, JustificatifFiles],
    },
  ],
  exports: [SasAttestationHandler],
})
export class SasAttestationsModule {}
