import { Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { AccessJournalHandler, CommandExecutor, DeclarationHandler, DoctorYearReader, EntitlementService } from '@forfait/application';
import type { Runtime } from '@forfait/read-models';
import { IncrementalIntegrity } from '@forfait/store';
import { AuthGuard } from '../auth/auth.guard';
import { RateLimitGuard } from '../common/rate-limit';
import { AppErrorFilter } from '../errors/app-error.filter';
import { JustificatifFiles } from './justificatif-files';
import { ReadYourWrites } from './read-your-writes';
import { RUNTIME } from '../runtime.token';
import { CommandInterceptor } from './command-sender';
import { IdempotencyInterceptor, IdempotencyStore } from './idempotency';
import { Scope } from './scope';

/** What several features share: the application layer's reader, executor and shared handlers (libs/application), one instance each. */
const SHARED: Provider[] = [
  { provide: DoctorYearReader, useFactory: (runtime: Runtime) => new DoctorYearReader(runtime), inject: [RUNTIME] },
  {
    provide: CommandExecutor,
    useFactory: (runtime: Runtime, reader: DoctorYearReader) => new CommandExecutor(runtime, reader),
    inject: [RUNTIME, DoctorYearReader],
  },
  {
    provide: EntitlementService,
    useFactory: (runtime: Runtime, reader: DoctorYearReader) => new EntitlementService(runtime, reader),
    inject: [RUNTIME, DoctorYearReader],
  },
  {
    provide: DeclarationHandler,
    useFactory: (reader: DoctorYearReader, executor: CommandExecutor) => new DeclarationHandler(reader, executor),
    inject: [DoctorYearReader, CommandExecutor],
  },
  {
    provide: AccessJournalHandler,
    useFactory: (runtime: Runtime, executor: CommandExecutor) => new AccessJournalHandler(runtime, executor),
    inject: [RUNTIME, CommandExecutor],
  },
  {
    provide: IncrementalIntegrity,
    useFactory: (runtime: Runtime) =>
      new IncrementalIntegrity(runtime.store, runtime.readDb, runtime.readModelSchema, runtime.log, {
        sweep: runtime.config.integritySweep,
        now: () => runtime.clock.now(),
      }),
    inject: [RUNTIME],
  },
  { provide: JustificatifFiles, useFactory: (runtime: Runtime) => new JustificatifFiles(runtime.config.justificatifDir), inject: [RUNTIME] },
  IdempotencyStore,
  IdempotencyInterceptor,
  Scope,
  ReadYourWrites,
  CommandInterceptor,
];

/**
 * The API's core: the shared providers above, exported to the feature modules that import it, and
 * what every request goes through (the error filter, authentication, rate limits, Idempotency-Key).
 */
@Module({
  providers: [
    ...SHARED,
    { provide: APP_FILTER, useClass: AppErrorFilter },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
  ],
  exports: SHARED.map((p) => (typeof p === 'function' ? p : p.provide)),
})
export class CoreModule {}
