import { Module } from '@nestjs/common';
import { CommandExecutor, DoctorProfileHandler } from '@forfait/application';
import { CoreModule } from '../core/core.module';
import { DoctorsController } from './doctors.controller';

/** Doctors' profiles and the commands on a doctor-year (declarations, transmission, payments). */
@Module({
  imports: [CoreModule],
  controllers: [DoctorsController],
  providers: [{ provide: DoctorProfileHandler, useFactory: (executor: CommandExecutor) => new DoctorProfileHandler(executor), inject: [CommandExecutor] }],
})
export class DoctorsModule {}
