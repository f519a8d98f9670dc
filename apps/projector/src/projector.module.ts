import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Runtime } from '@forfait/read-models';

export const PROJECTOR_RUNTIME = Symbol('PROJECTOR_RUNTIME');

/** Stops the projections cleanly with the app; their checkpoints are already committed batch by batch. */
@Injectable()
export class ProjectorLifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('projector');
  constructor(@Inject(PROJECTOR_RUNTIME) private readonly runtime: Runtime) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.runtime.projector) {
      await this.runtime.projector.stop();
      this.logger.log('projections stopped at their last committed checkpoint');
    }
  }
}

@Module({})
export class ProjectorModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: ProjectorModule,
      providers: [{ provide: PROJECTOR_RUNTIME, useValue: runtime }, ProjectorLifecycle],
    };
  }
}
