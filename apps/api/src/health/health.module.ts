import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';

/** `GET /health` and readiness: the runtime alone. */
@Module({ controllers: [HealthController] })
export class HealthModule {}
