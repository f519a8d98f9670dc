import { Module } from '@nestjs/common';
import { CoreModule } from '../core/core.module';
import { AuditBundleService } from './audit-bundle.service';
import { AuditController } from './audit.controller';

/** Disputes' tools: audit bundles, recaps, integrity, entitlement diffs, the access journal. */
@Module({ imports: [CoreModule], controllers: [AuditController], providers: [AuditBundleService] })
export class AuditModule {}
