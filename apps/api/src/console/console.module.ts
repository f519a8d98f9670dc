import { Module } from '@nestjs/common';
import { ConsoleSessionController } from './console-session.controller';

/** The console's session (sign-in settings). */
@Module({ controllers: [ConsoleSessionController] })
export class ConsoleModule {}
