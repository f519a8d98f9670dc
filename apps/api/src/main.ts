import 'reflect-metadata';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@forfait/platform';
import { startSystem } from './bootstrap';
import { DEMO_DOCTORS } from './seed/demo-seed';

async function main(): Promise<void> {
  const logger = new Logger('forfait');
  const config = loadConfig(process.env);
  const system = await startSystem(config);
  const { runtime, url } = system;

  const lines = [
    `API            ${url}  (OpenAPI: ${url}/docs, health: ${url}/health)`,
    `store          ${config.store}${config.store === 'embedded' ? ` (PGlite files under ${resolve(config.dataDir, 'pglite')})` : ''}`,
    `projector      ${runtime.projector ? 'running in this process' : 'not in this process (run npm run start:projector)'}`,
    `clock          ${config.clock ? `started at ${config.clock}, now ${runtime.clock.now().toISOString()}` : 'system clock'}`,
    runtime.redis.ok
      ? `jobs           on (Redis at ${runtime.redis.url})`
      : `jobs           OFF: Redis unreachable at ${runtime.redis.url} (${runtime.redis.detail}); commands and queries work, deadline closing, rebuilds and CSV imports do not`,
  ];
  if (system.seeded > 0) {
    lines.push(`demo           seeded ${system.seeded} events: campaign 2023 (extended to 11 Feb 2024), doctors ${DEMO_DOCTORS.map((d) => d.rpps).join(', ')}`);
  }
  if (config.auth.usingDevSecret) {
    lines.push(`auth           DEVELOPMENT secret (HS256): ${config.auth.jwtSecret}  (refused when NODE_ENV=production)`);
  }
  for (const line of lines) logger.log(line);
  if (!runtime.redis.ok) logger.warn('Redis is not reachable: jobs are off');

  const stop = async (signal: string) => {
    logger.log(`${signal}: stopping`);
    await system.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
