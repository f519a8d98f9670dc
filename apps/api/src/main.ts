import 'reflect-metadata';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, withDevSecret } from '@forfait/platform';
import { startSystem } from './bootstrap';
import { DEMO_DOCTORS, readDemoMarker } from './seed/demo-seed';

async function main(): Promise<void> {
  const logger = new Logger('forfait');
  const config = withDevSecret(loadConfig(process.env));
  const system = await startSystem(config);
  const { runtime, url } = system;

  const lines = [
    system.consoleServed
      ? `console        ${url}/console/  (sign in with a role of the demo: controller, agent, auditor, doctor)`
      : `console        not built (dist/console/index.html missing): npm run build:console, then restart`,
    `API            ${url}  (OpenAPI: ${url}/docs, health: ${url}/health)`,
    `store          ${config.store}${config.store === 'embedded' ? ` (data dir ${resolve(config.dataDir)}${process.env.DATA_DIR ? '' : config.clock ? ', the demo data dir of this CLOCK' : ''}; PGlite files under ${resolve(config.dataDir, 'pglite')})` : ''}`,
    `projector      ${runtime.projector ? 'running in this process' : 'not in this process (run npm run start:projector)'}`,
    `clock          ${config.clock ? `started at ${config.clock}${system.clockResumedFrom ? `, resumed from ${system.clockResumedFrom} (the last instant this demo store recorded)` : ''}, now ${runtime.clock.now().toISOString()}` : 'system clock'}`,
    runtime.redis.ok
      ? `jobs           on (Redis at ${runtime.redis.url})`
      : `jobs           OFF: Redis unreachable at ${runtime.redis.url} (${runtime.redis.detail}); commands and queries work; deadline closing, rebuilds and CSV imports start when Redis answers, without a restart`,
  ];
  const seededFor = (clock: string | undefined) => (clock ? `CLOCK=${clock}` : 'the system clock');
  if (system.seeded.events > 0) {
    const extended = !system.seeded.notYet.some((l) => l.type === 'CampaignDeadlineExtended');
    lines.push(
      `demo           seeded ${system.seeded.events} events for ${seededFor(config.clock)} (what had happened by ${system.seeded.seededAt}): campaign 2023 (deadline ${extended ? '11 Feb 2024, extended on 31 Jan' : '4 Feb 2024; its extension to 11 Feb comes on 31 Jan'}), reference lists segurSolutions, hasLap, sasDepartements, sasSoftware, doctors ${DEMO_DOCTORS.map((d) => d.rpps).join(', ')}` +
        (system.seeded.notYet.length > 0 ? `; not yet known: ${system.seeded.notYet.map((l) => `${l.type} of ${l.effectiveAt}`).join(', ')}` : ''),
    );
  } else if (config.store === 'embedded') {
    const marker = readDemoMarker(config.dataDir);
    if (marker)
      lines.push(`demo           the demo store seeded for ${seededFor(marker.clock)} at ${marker.seededAt} (${marker.events} events), as it was left`);
  }
  if (config.store === 'embedded' && !process.env.DATA_DIR && config.clock) {
    lines.push(`cli            in another terminal: export CLOCK=${config.clock}   (npm run cli then finds this data dir)`);
  }
  if (config.auth.usingDevSecret) {
    lines.push(
      `auth           DEVELOPMENT secret (HS256) of this data dir, kept in ${resolve(config.auth.devSecretFile!)}: ${config.auth.jwtSecret}  (refused when NODE_ENV=production; tokens: npm run cli -- token --role admin)`,
    );
  }
  for (const line of lines) logger.log(line);
  if (!runtime.redis.ok) logger.warn('Redis is not reachable: jobs are off until it answers');

  const stop = async (signal: string) => {
    logger.log(`${signal}: stopping (no new connections; requests in flight get up to ${config.shutdownGraceMs} ms)`);
    // Should closing the pools or the projector hang, the process still ends.
    setTimeout(() => {
      logger.error(`not stopped ${config.shutdownGraceMs + 5_000} ms after ${signal}: exiting`);
      process.exit(1);
    }, config.shutdownGraceMs + 5_000).unref();
    await system.close({ graceMs: config.shutdownGraceMs });
    logger.log('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** Refusals a user fixes by reading one sentence: no stack trace (issue 18.3). */
const PLAIN_REFUSALS = new Set(['EMBEDDED_STORE_BUSY', 'DEMO_CLOCK_MISMATCH']);

main().catch((error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof ConfigError) console.error(error.message);
  else if (typeof code === 'string' && PLAIN_REFUSALS.has(code)) console.error(`not started: ${(error as Error).message}`);
  else if (code === 'EADDRINUSE') {
    const { address, port } = error as { address?: string; port?: number };
    console.error(`not started: port ${port} on ${address} is in use (another npm start? stop it with Ctrl-C, or choose another PORT)`);
  } else console.error(error);
  process.exit(1);
});
