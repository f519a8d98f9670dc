import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Runtime } from '@forfait/read-models';
import { AppErrorFilter } from './errors/app-error.filter';
import { HealthController } from './health/health.controller';
import { RUNTIME } from './runtime.token';

@Module({})
export class AppModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: AppModule,
      global: true,
      controllers: [HealthController],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: APP_FILTER, useClass: AppErrorFilter },
      ],
      exports: [RUNTIME],
    };
  }
}
