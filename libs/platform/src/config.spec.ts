import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from './config';
import { withDevSecret } from './dev-secret';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable);
    throw error;
  }
  return [];
};

// A signed-note private key (format only: this key signs nothing).
const LOG_KEY = 'PRIVATE+KEY+caisse.test/log+0a1b2c3d+AUxhp0jKAdOd1o1Qcd1hbXgNxgBkN3Wk5AFqPDRk2ISC';

describe('configuration validated at boot', () => {
  it('runs embedded with no setting at all, on 127.0.0.1, with a development secret of the data dir and the demo seed', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      store: 'embedded',
      port: 3000,
      host: '127.0.0.1',
      dataDir: './var',
      redisUrl: 'redis://127.0.0.1:6379',
      seedDemo: true,
      runProjectorInProcess: true,
      auth: { usingDevSecret: true, devSecretFile: './var/dev-jwt-secret', maxTokenSeconds: 3600 },
      http: { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, bodyIdleTimeoutMs: 15_000, keepAliveTimeoutMs: 65_000 },
      rateLimit: { burst: 30, perMinute: 60 },
    });
    expect(c.auth.jwtSecret).toBeUndefined();
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it('generates the development secret once per data dir, 0600, never the published one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forfait-secret-'));
    try {
      const a = withDevSecret(loadConfig({ DATA_DIR: join(dir, 'a') }));
      const again = withDevSecret(loadConfig({ DATA_DIR: join(dir, 'a') }));
      const b = withDevSecret(loadConfig({ DATA_DIR: join(dir, 'b') }));
      expect(a.auth.jwtSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(again.auth.jwtSecret).toBe(a.auth.jwtSecret);
      expect(b.auth.jwtSecret).not.toBe(a.auth.jwtSecret);
      expect(a.auth.jwtSecret).not.toBe(DEV_JWT_SECRET);
      expect(readFileSync(join(dir, 'a', 'dev-jwt-secret'), 'utf8').trim()).toBe(a.auth.jwtSecret);
      expect(statSync(join(dir, 'a', 'dev-jwt-secret')).mode & 0o777).toBe(0o600);
      // A configured secret is kept as it is, and no file is written for it.
      const configured = withDevSecret(loadConfig({ DATA_DIR: join(dir, 'c'), AUTH_JWT_SECRET: 'y'.repeat(40) }));
      expect(configured.auth.jwtSecret).toBe('y'.repeat(40));
      expect(() => statSync(join(dir, 'c', 'dev-jwt-secret'))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the token and HTTP limits, and refuses nonsense', () => {
    expect(loadConfig({ AUTH_MAX_TOKEN_SECONDS: '600', AUTH_JWT_ISSUER: 'https://idp', AUTH_JWT_AUDIENCE: 'forfait' }).auth).toMatchObject({
      maxTokenSeconds: 600,
      issuer: 'https://idp',
      audience: 'forfait',
    });
    expect(
      loadConfig({
        HTTP_HEADERS_TIMEOUT_SECONDS: '2',
        HTTP_REQUEST_TIMEOUT_SECONDS: '5',
        HTTP_BODY_IDLE_TIMEOUT_SECONDS: '3',
        HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '30',
      }).http,
    ).toEqual({ headersTimeoutMs: 2000, requestTimeoutMs: 5000, bodyIdleTimeoutMs: 3000, keepAliveTimeoutMs: 30_000 });
    expect(problemsOf({ HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '0' })).toEqual(['HTTP_KEEP_ALIVE_TIMEOUT_SECONDS']);
    expect(problemsOf({ AUTH_MAX_TOKEN_SECONDS: '0' })).toEqual(['AUTH_MAX_TOKEN_SECONDS']);
    // The console's identity provider: issuer and client together; it verifies tokens in production without a secret.
    expect(problemsOf({ OIDC_ISSUER: 'https://idp.caisse.example/realms/cpam' })).toEqual(['OIDC_CLIENT_ID']);
    expect(problemsOf({ OIDC_CLIENT_ID: 'forfait-console' })).toEqual(['OIDC_ISSUER']);
    expect(problemsOf({ OIDC_ISSUER: 'idp.example', OIDC_CLIENT_ID: 'c' })).toEqual(['OIDC_ISSUER']);
    expect(problemsOf({ NODE_ENV: 'production', LOG_SIGNING_KEY: LOG_KEY, OIDC_ISSUER: 'https://idp.example/', OIDC_CLIENT_ID: 'c' })).toEqual([]);
    const oidc = loadConfig({
      NODE_ENV: 'production',
      LOG_SIGNING_KEY: LOG_KEY,
      OIDC_ISSUER: 'https://idp.example/',
      OIDC_CLIENT_ID: 'c',
      OIDC_RESOURCE: 'urn:api',
      OIDC_ROLE_CLAIM: 'forfait_role',
    });
    expect([oidc.oidc, oidc.auth.claims, oidc.auth.usingDevSecret]).toEqual([
      { issuer: 'https://idp.example', clientId: 'c', scopes: 'openid profile', resource: 'urn:api' },
      { role: 'forfait_role', caisse: 'caisse', rpps: 'rpps' },
      false,
    ]);
    expect(problemsOf({ HTTP_HEADERS_TIMEOUT_SECONDS: '20', HTTP_REQUEST_TIMEOUT_SECONDS: '10' })).toEqual(['HTTP_HEADERS_TIMEOUT_SECONDS']);
    expect(problemsOf({ RATE_LIMIT_BURST: '-1' })).toEqual(['RATE_LIMIT_BURST']);
    expect(problemsOf({ HOST: 'not a host' })).toEqual(['HOST']);
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

  it('takes a standby for the queries only beside PostgreSQL read models, and a bounded wait', () => {
    const secret = { AUTH_JWT_SECRET: 'a-long-enough-secret-a-long-enough-secret' };
    expect(problemsOf({ READ_DATABASE_URL: 'postgres://h/db' })).toEqual(['READ_DATABASE_URL']);
    expect(problemsOf({ STORE: 'postgres', DATABASE_URL: 'postgres://h/db', READ_DATABASE_URL: 'mysql://h/db', ...secret })).toEqual(['READ_DATABASE_URL']);
    expect(problemsOf({ READ_MODELS_WAIT_MS: '-1' })).toEqual(['READ_MODELS_WAIT_MS']);
    const config = loadConfig({ STORE: 'postgres', DATABASE_URL: 'postgres://h/db', READ_DATABASE_URL: 'postgres://standby/db', ...secret });
    expect(config.readDatabaseUrl).toBe('postgres://standby/db');
    expect(config.readModelsWaitMs).toBe(5000);
    expect(loadConfig({}).readDatabaseUrl).toBeUndefined();
  });

  it('refuses the development secret and a fixed clock in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(['AUTH_JWT_SECRET', 'LOG_SIGNING_KEY']);
    expect(problemsOf({ NODE_ENV: 'production', AUTH_JWT_SECRET: DEV_JWT_SECRET, LOG_SIGNING_KEY: LOG_KEY })).toEqual(['AUTH_JWT_SECRET']);
    expect(problemsOf({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(40), LOG_SIGNING_KEY: LOG_KEY, CLOCK: '2024-01-15T00:00:00+01:00' })).toEqual([
      'CLOCK',
    ]);
  });

  it('refuses a production without the log’s signing key, and keys that are not signed-note keys', () => {
    expect(problemsOf({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(40) })).toEqual(['LOG_SIGNING_KEY']);
    expect(problemsOf({ LOG_SIGNING_KEY: 'secret' })).toEqual(['LOG_SIGNING_KEY']);
    expect(problemsOf({ LOG_WITNESS_KEYS: 'w.example+1234abcd' })).toEqual(['LOG_WITNESS_KEYS']);
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(40), LOG_SIGNING_KEY: LOG_KEY, LOG_PUBLIC: 'true' }).log).toMatchObject({
      signingKey: LOG_KEY,
      public: true,
      checkpointEveryEvents: 1000,
      checkpointIntervalMs: 10_000,
    });
    expect(loadConfig({ DATA_DIR: '/tmp/d' }).log).toMatchObject({ devKeyFile: '/tmp/d/dev-log-signing-key', public: false });
  });

  it('reads booleans and numbers from their usual spellings', () => {
    expect(loadConfig({ SEED_DEMO: 'false', PORT: '8080' })).toMatchObject({ seedDemo: false, port: 8080 });
    expect(loadConfig({ SEED_DEMO: '1' }).seedDemo).toBe(true);
    // Without DATA_DIR, a demo data dir of its own per CLOCK (issue 18.1); DATA_DIR always wins.
    expect(loadConfig({ CLOCK: '2024-01-20T10:00:00+01:00' }).dataDir).toBe('./var/demo-2024-01-20T100000+0100');
    expect(loadConfig({ CLOCK: '2024-01-20T10:00:00+01:00', DATA_DIR: '/tmp/x' }).dataDir).toBe('/tmp/x');
    expect(loadConfig({}).dataDir).toBe('./var');
  });
});
