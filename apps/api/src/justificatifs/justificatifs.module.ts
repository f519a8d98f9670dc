import { Module } from '@nestjs/common';
import { CoreModule } from '../core/core.module';
import { SasAttestationsModule } from '../sas-attestations/sas-attestations.module';
import { JustificatifsController } from './justificatifs.controller';

/** Justificatifs: upload, decision (a SAS attestation's too), worklist, file. */
@Module({ imports: [CoreModule, SasAttestationsModule], controllers: [JustificatifsController] })
export class JustificatifsModule {}
