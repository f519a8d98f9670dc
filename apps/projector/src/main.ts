import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig } from '@forfait/platform';
import { PROJECTIONS, openRuntime } from '@forfait/read-models';
import { ProjectorModule } from './projector.module';

/** The projector on its own (postgres or eventstore deployments); embedded mode runs it inside the API. */
async function main(): Promise<void> {
  const logger = new Logger('projector');
  const config = loadConfig(process.env);
  if (config.store === 'embedded') {
    throw new ConfigError([
      { variable: 'STORE', message: 'the embedded store lives in the API process (npm start); run this worker with postgres or eventstore' },
    ]);
  }
  const runtime = await openRuntime(config, {
    runProjector: true,
    projections: PROJECTIONS,
    onProjectorError: (name, error) => {
      logger.error(`projection ${name} stopped: ${error.message}; exiting so that the supervisor restarts it`);
      process.exit(1);
    },
    onProjectorApplyRetry: (_name, error, delay) => {
      logger.error(`${error.message}; applied again from its checkpoint in ${delay} ms (no restart needed once the cause is gone)`);
    },
    onProjectorStoreUnavailable: (name, error, delay) => {
      const cause = error.cause as { message?: string; code?: string } | undefined;
      logger.warn(`projection ${name}: store unavailable (${cause?.message || cause?.code || error.message}); resuming from its checkpoint in ${delay} ms`);
    },
  });
  // Nest declares its options as a class (NestApplicationContextOptions) and documents object literals for them.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  const app = await NestFactory.createApplicationContext(ProjectorModule.register(runtime), { logger: ['log', 'warn', 'error'] });
  logger.log(`projecting ${PROJECTIONS.map((p) => p.name).join(', ')} from the ${config.store} store`);
  if (!runtime.redis.ok) logger.warn(`Redis unreachable at ${runtime.redis.url} (${runtime.redis.detail}): jobs are off until it answers`);
  const stop = async (signal: string) => {
    logger.log(`${signal}: stopping after the current batch`);
    setTimeout(() => {
      logger.error(`not stopped ${config.shutdownGraceMs} ms after ${signal}: exiting`);
      process.exit(1);
    }, config.shutdownGraceMs).unref();
    await app.close();
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
