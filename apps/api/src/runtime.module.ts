import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Runtime } from '@forfait/read-models';
import { TokenVerifier } from './auth/token-verifier';
import { RUNTIME } from './runtime.token';

/**
 * What bootstrap makes before Nest starts and every module receives from outside, hence global:
 * the process's Runtime (store, read-model database, clock, Redis state) and the token verifier,
 * which the Express middleware that runs before Nest's (the unauthenticated body limit) uses too.
 */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(runtime: Runtime, verifier: TokenVerifier): DynamicModule {
    return {
      module: RuntimeModule,
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: TokenVerifier, useValue: verifier },
      ],
      exports: [RUNTIME, TokenVerifier],
    };
  }
}
