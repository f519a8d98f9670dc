import { Module } from '@nestjs/common';
import { CommandExecutor, ControlHandler, DoctorYearReader } from '@forfait/application';
import { CoreModule } from '../core/core.module';
import { ControlsController } from './controls.controller';

/** Contrôle a posteriori and contestation. */
@Module({
  imports: [CoreModule],
  controllers: [ControlsController],
  providers: [
    {
      provide: ControlHandler,
      useFactory: (reader: DoctorYearReader, executor: CommandExecutor) => new ControlHandler(reader, executor),
      inject: [DoctorYearReader, CommandExecutor],
    },
  ],
})
export class ControlsModule {}
