import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Runtime } from '@forfait/read-models';
import { RUNTIME } from './runtime.token';

/**
 * The process's Runtime (store, read-model database, clock, Redis state), opened by bootstrap
 * before Nest starts: the one value every module receives from outside, hence global.
 */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(runtime: Runtime): DynamicModule {
    return { module: RuntimeModule, providers: [{ provide: RUNTIME, useValue: runtime }], exports: [RUNTIME] };
  }
}
