import 'reflect-metadata';
import { Logger, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from '@forfait/platform';
import { PROJECTIONS, openRuntime, type Runtime } from '@forfait/read-models';
import { ProjectorModule } from '../../projector/src/projector.module';
import { AppModule } from './app.module';
import { seedDemoIfEmpty } from './seed/demo-seed';
import { startApiWorkers } from './jobs/api-workers';

export interface StartedSystem {
  app: INestApplication;
  runtime: Runtime;
  url: string;
  seeded: number;
  close(): Promise<void>;
}

/**
 * Starts the API and, in embedded mode (or when RUN_PROJECTOR is on), the projector in the same
 * process: PGlite is one process's database, and a newcomer should not have to start two.
 */
export async function startSystem(config: AppConfig, options: { logger?: false } = {}): Promise<StartedSystem> {
  const logger = new Logger('bootstrap');
  const runtime = await openRuntime(config, {
    runProjector: config.runProjectorInProcess,
    projections: PROJECTIONS,
    onProjectorError: (name, error) => logger.error(`projection ${name} stopped: ${error.message}`),
  });
  try {
    const seeded = config.seedDemo ? await seedDemoIfEmpty(runtime.store) : 0;

    @Module({
      imports: [AppModule.register(runtime), ...(runtime.projector ? [ProjectorModule.register(runtime)] : [])],
    })
    class SystemModule {}

    const app = await NestFactory.create<NestExpressApplication>(SystemModule, {
      logger: options.logger === false ? false : ['log', 'warn', 'error'],
      bodyParser: false,
    });
    // JSON bodies are small; files go through multipart (10 Mo) and CSV extracts as text.
    app.useBodyParser('json', { limit: '5mb' });
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Forfait structure: declarations and audit')
        .setDescription('Event-sourced declarations, entitlements and audit trail of the forfait structure (api.md)')
        .setVersion('1')
        .addBearerAuth()
        .build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
    await app.init();
    startApiWorkers(app, runtime);
    await app.listen(config.port, '0.0.0.0');
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://localhost:${address.port}`;
    return {
      app,
      runtime,
      url,
      seeded,
      close: async () => {
        await app.close();
        await runtime.close();
      },
    };
  } catch (error) {
    await runtime.close().catch(() => undefined);
    throw error;
  }
}
