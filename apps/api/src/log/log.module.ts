import { Module } from '@nestjs/common';
import { LogController } from './log.controller';

/** The transparency log: checkpoints, proofs, cosignatures. */
@Module({ controllers: [LogController] })
export class LogModule {}
