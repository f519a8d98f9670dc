import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Logger, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ManualClock, withDevSecret, type AppConfig } from '@forfait/platform';
import { SqlEventStore } from '@forfait/store';
import { PROJECTIONS, openRuntime, type Runtime } from '@forfait/read-models';
import { StartupLogger } from './startup-logger';
import { AppModule } from './app.module';
import { API_DESCRIPTION, documentResponses } from './openapi';
import { TokenVerifier, tokenSettings } from './auth/token-verifier';
import {
  answerClientErrors,
  applyServerTimeouts,
  bodyIdleTimeout,
  bodyParserErrors,
  contentEncodingCheck,
  jsonBodyCheck,
  MAX_JSON_BYTES,
  unauthenticatedBodyLimit,
  urlCheck,
} from './common/request-limits';
import { checkDemoClock, seedDemoIfEmpty, type DemoSeedResult } from './seed/demo-seed';
import { drainable } from './shutdown';

export interface StartedSystem {
  app: INestApplication;
  runtime: Runtime;
  url: string;
  /** The console is served at `${url}/console/` (false: dist/console was not built). */
  consoleServed: boolean;
  /** What the demo seed wrote (events 0: the store was not empty, or SEED_DEMO is off). */
  seeded: DemoSeedResult;
  /** The demo store's clock went on from the last instant it had recorded (its own CLOCK, restarted). */
  clockResumedFrom?: string;
  /**
   * Stops accepting, drains the requests in flight (at most `graceMs`, default the configured
   * SHUTDOWN_GRACE_MS), then stops the projector and closes the pools.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Starts the API and, in embedded mode (or when RUN_PROJECTOR is on), the projector in the same
 * process: PGlite is one process's database, and a newcomer should not have to start two.
 */
export async function startSystem(given: AppConfig, options: { logger?: false } = {}): Promise<StartedSystem> {
  const logger = new Logger('bootstrap');
  const config = withDevSecret(given);
  const runtime = await openRuntime(config, {
    runProjector: config.runProjectorInProcess,
    projections: PROJECTIONS,
    onProjectorError: (name, error) => logger.error(`projection ${name} stopped: ${error.message}`),
    onProjectorStoreUnavailable: (name, error, delay) =>
      logger.warn(`projection ${name}: store unavailable (${describeCause(error)}); resuming from its checkpoint in ${delay} ms`),
    onProjectorApplyRetry: (_name, error, delay) =>
      logger.error(`${error.message}; applied again from its checkpoint in ${delay} ms (no restart needed once the cause is gone)`),
    reconcileJobs: true,
    onReconcileError: (error) => logger.warn(`unfinished jobs not re-enqueued yet (again at the next reconnection to Redis): ${error.message}`),
  });
  try {
    const { resumedFrom } = config.store === 'embedded' ? await checkDemoClock(runtime.store, config.dataDir, config.clock, runtime.clock) : {};
    const seeded: DemoSeedResult = config.seedDemo ? await seedDemo(config, runtime) : { events: 0, seededAt: runtime.clock.now().toISOString(), notYet: [] };

    // Made here, once: Nest's guard and the Express middleware before Nest's both use it.
    const verifier = new TokenVerifier(tokenSettings(config));
    @Module({ imports: [AppModule.register(runtime, verifier)] })
    class SystemModule {}

    // Nest declares its options as a class (NestApplicationOptions) and documents object literals for them.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    const app = await NestFactory.create<NestExpressApplication>(SystemModule, {
      logger: options.logger === false ? false : new StartupLogger({ logLevels: ['log', 'warn', 'error'] }),
      bodyParser: false,
    });
    // Before any body is read, in this order (request-limits.ts): the URL, the encoding, the size
    // allowed without a valid token, a body that stalls; then JSON (files go through multipart,
    // 10 Mo, and CSV extracts as text), its refusals in the envelope, and what jsonb cannot keep.
    app.use(urlCheck, contentEncodingCheck, unauthenticatedBodyLimit(verifier), bodyIdleTimeout(config.http.bodyIdleTimeoutMs));
    const consoleServed = serveConsole(app);
    app.useBodyParser('json', { limit: MAX_JSON_BYTES });
    app.use(bodyParserErrors, jsonBodyCheck);
    const document = documentResponses(
      SwaggerModule.createDocument(
        app,
        new DocumentBuilder().setTitle('Forfait structure: declarations and audit').setDescription(API_DESCRIPTION).setVersion('1').addBearerAuth().build(),
      ),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
    await app.init();
    const server = app.getHttpServer();
    applyServerTimeouts(server, config.http);
    answerClientErrors(server);
    const http = drainable(server);
    await app.listen(config.port, config.host);
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://${urlHost(config.host)}:${address.port}`;
    let closing: Promise<void> | undefined;
    return {
      app,
      runtime,
      url,
      consoleServed,
      seeded,
      ...(resumedFrom ? { clockResumedFrom: resumedFrom } : {}),
      close: async ({ graceMs = config.shutdownGraceMs } = {}) => {
        closing ??= (async () => {
          const { forced } = await http.drain(graceMs);
          if (forced > 0) logger.warn(`${forced} request(s) still running after ${graceMs} ms: connections closed`);
          await app.close();
          // The projections in this process stop first, at their last committed checkpoint (batch by batch).
          if (runtime.projector) {
            await runtime.projector.stop();
            new Logger('projector').log('projections stopped at their last committed checkpoint');
          }
          await runtime.close();
        })();
        await closing;
      },
    };
  } catch (error) {
    await runtime.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The console (api.md, "Console"): the static files Vite built into dist/console, served without
 * a token (they hold no data: every piece of it comes from the API with the user's token), and
 * `GET /` redirects there. Express middleware, so the auth guard, which guards Nest routes, never
 * sees these requests.
 */
function serveConsole(app: NestExpressApplication): boolean {
  const dir = consoleDir();
  app.use((req: { method: string; path: string }, res: { redirect(status: number, url: string): void }, next: () => void): void => {
    if ((req.method === 'GET' || req.method === 'HEAD') && req.path === '/') return res.redirect(302, '/console/');
    next();
  });
  if (!dir) {
    new Logger('bootstrap').warn('console not built (dist/console/index.html missing): run npm run build:console');
    return false;
  }
  app.useStaticAssets(dir, {
    prefix: '/console/',
    index: 'index.html',
    fallthrough: true,
    // Hashed file names are immutable; index.html is always revalidated so a new build shows at once.
    setHeaders: (res: ServerResponse, path: string) =>
      res.setHeader('Cache-Control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable'),
  });
  // The console's own paths (/console/medecins/…) are screens of the one page: index.html. A
  // missing asset stays a 404.
  const index = join(dir, 'index.html');
  app.use((req: { method: string; path: string }, res: { setHeader(n: string, v: string): void; sendFile(p: string): void }, next: () => void): void => {
    if ((req.method === 'GET' || req.method === 'HEAD') && req.path.startsWith('/console/') && !req.path.startsWith('/console/assets/')) {
      res.setHeader('Cache-Control', 'no-cache');
      return res.sendFile(index);
    }
    next();
  });
  return true;
}

/** dist/console, from the built API (dist/apps/api/src) or from its sources (apps/api/src, in tests). */
function consoleDir(): string | undefined {
  const candidates = [join(__dirname, '..', '..', '..', 'console'), join(__dirname, '..', '..', '..', 'dist', 'console')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

/**
 * The demo seed, each line recorded at the instant it happened where the events are in SQL (a
 * second store over the same database, with a clock the seed sets): "as known at" 15 January then
 * shows what was recorded by 15 January.
 */
async function seedDemo(config: AppConfig, runtime: Runtime): Promise<DemoSeedResult> {
  const common = {
    clock: runtime.clock,
    clockSetting: config.clock,
    justificatifDir: config.justificatifDir,
    ...(config.store === 'embedded' ? { dataDir: config.dataDir } : {}),
  };
  if (config.store === 'eventstore' || (await runtime.store.headPosition()) !== 0n) return seedDemoIfEmpty(runtime.store, common);
  const clock = new ManualClock(runtime.clock.now());
  const store = await SqlEventStore.open({ db: runtime.readDb, clock, schema: config.databaseSchema, ownsDatabase: false });
  try {
    return await seedDemoIfEmpty(runtime.store, { ...common, recordAt: { store, clock } });
  } finally {
    await store.close();
  }
}

/** Where a client on this machine reaches the API listening on `host` (clients try IPv4 after ::1). */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '127.0.0.1' || host === '::' || host === 'localhost') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** The underlying failure of a StoreUnavailableError, for the logs (its message is the users'). */
export function describeCause(error: Error): string {
  const cause = error.cause as { message?: string; code?: string } | undefined;
  return cause?.message || cause?.code || error.message;
}
