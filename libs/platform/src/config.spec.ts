import { ConfigError, DEV_JWT_SECRET, loadConfig } from './config';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable);
    throw error;
  }
  return [];
};

describe('configuration validated at boot', () => {
  it('runs embedded with no setting at all, with the development secret and the demo seed', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      store: 'embedded',
      port: 3000,
      dataDir: './var',
      redisUrl: 'redis://127.0.0.1:6379',
      seedDemo: true,
      runProjectorInProcess: true,
      auth: { jwtSecret: DEV_JWT_SECRET, usingDevSecret: true },
    });
  });

  it('names the variable of every bad value', () => {
    expect(problemsOf({ PORT: 'eighty' })).toEqual(['PORT']);
    expect(problemsOf({ STORE: 'mongo' })).toEqual(['STORE']);
    expect(problemsOf({ CLOCK: '2024-01-15' })).toEqual(['CLOCK']);
    expect(problemsOf({ SEED_DEMO: 'perhaps' })).toEqual(['SEED_DEMO']);
    expect(problemsOf({ REDIS_URL: 'localhost:6379' })).toEqual(['REDIS_URL']);
    expect(problemsOf({ AUTH_JWT_SECRET: 'short' })).toEqual(['AUTH_JWT_SECRET']);
    expect(problemsOf({ PORT: '70000', STORE: 'x' }).sort()).toEqual(['PORT', 'STORE']);
  });

  it('says which variable is missing for the server stores', () => {
    expect(problemsOf({ STORE: 'postgres' })).toEqual(['DATABASE_URL']);
    expect(problemsOf({ STORE: 'eventstore', DATABASE_URL: 'postgres://h/db' })).toEqual(['EVENTSTORE_CONNECTION_STRING']);
    expect(problemsOf({ STORE: 'postgres', DATABASE_URL: 'postgres://h/db' })).toEqual(['AUTH_JWT_SECRET']);
    const message = (() => {
      try {
        loadConfig({ STORE: 'postgres' });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toMatch(/DATABASE_URL: must be a postgres:\/\/ URL/);
  });

  it('refuses the development secret and a fixed clock in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(['AUTH_JWT_SECRET']);
    expect(problemsOf({ NODE_ENV: 'production', AUTH_JWT_SECRET: DEV_JWT_SECRET })).toEqual(['AUTH_JWT_SECRET']);
    expect(
      problemsOf({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(40), CLOCK: '2024-01-15T00:00:00+01:00' }),
    ).toEqual(['CLOCK']);
  });

  it('reads booleans and numbers from their usual spellings', () => {
    expect(loadConfig({ SEED_DEMO: 'false', PORT: '8080' })).toMatchObject({ seedDemo: false, port: 8080 });
    expect(loadConfig({ SEED_DEMO: '1' }).seedDemo).toBe(true);
  });
});
