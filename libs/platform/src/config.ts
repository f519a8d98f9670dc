import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, validateSync, ValidateIf } from 'class-validator';

/**
 * The development secret once published in this repository: never a default any more (a secret is
 * generated per data dir, see dev-secret.ts), and refused in production.
 */
export const DEV_JWT_SECRET = 'forfait-structure-development-secret-do-not-use-in-production';

/** The file of `DATA_DIR` that holds the development secret generated for that data dir. */
export const DEV_SECRET_FILE = 'dev-jwt-secret';
/** The development signing key of the verifiable log, generated per data dir (dev-secret.ts). */
export const DEV_LOG_KEY_FILE = 'dev-log-signing-key';

const INSTANT_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === '') return undefined;
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};
const toInt = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value);
const emptyToUndefined = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && value.trim() === '' ? undefined : value);

/** The environment as architecture.md's table describes it, validated once at boot. */
class Environment {
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer port number between 0 and 65535' })
  @Min(0, { message: 'must be an integer port number between 0 and 65535' })
  @Max(65535, { message: 'must be an integer port number between 0 and 65535' })
  PORT?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^([A-Za-z0-9.-]{1,253}|[0-9A-Fa-f:.]{2,45})$/, { message: 'must be an IP address or a host name, e.g. 127.0.0.1 or 0.0.0.0' })
  HOST?: string;

  @IsOptional()
  @IsIn(['embedded', 'postgres', 'eventstore'], { message: 'must be one of embedded, postgres, eventstore' })
  STORE?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  DATA_DIR?: string;

  @Transform(emptyToUndefined)
  @ValidateIf((o: Environment) => o.STORE === 'postgres' || o.STORE === 'eventstore' || o.DATABASE_URL !== undefined)
  @Matches(/^postgres(ql)?:\/\/\S+$/, {
    message: 'must be a postgres:// URL (required when STORE is postgres or eventstore: read models live there)',
  })
  DATABASE_URL?: string;

  @Transform(emptyToUndefined)
  @ValidateIf((o: Environment) => o.STORE === 'eventstore' || o.EVENTSTORE_CONNECTION_STRING !== undefined)
  @Matches(/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover):\/\/\S+$/, {
    message: 'must be an esdb:// connection string (required when STORE is eventstore)',
  })
  EVENTSTORE_CONNECTION_STRING?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// URL (a streaming standby of DATABASE_URL that serves queries)' })
  READ_DATABASE_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters (an HS256 secret)' })
  @MaxLength(512)
  AUTH_JWT_SECRET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL of a JWKS document' })
  AUTH_JWKS_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MaxLength(512)
  AUTH_JWT_ISSUER?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MaxLength(512)
  AUTH_JWT_AUDIENCE?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be a whole number of seconds between 60 and 86400' })
  @Min(60, { message: 'must be a whole number of seconds between 60 and 86400' })
  @Max(86400, { message: 'must be a whole number of seconds between 60 and 86400' })
  AUTH_MAX_TOKEN_SECONDS?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^\s?#]+$/, { message: 'must be the http(s) URL of an OpenID Connect issuer (its /.well-known/openid-configuration is read)' })
  OIDC_ISSUER?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,200}$/, { message: 'must be the console’s client id at the identity provider (printable, no space)' })
  OIDC_CLIENT_ID?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,100}( [\x21-\x7e]{1,100}){0,20}$/, { message: 'must be scopes separated by single spaces, e.g. "openid profile"' })
  OIDC_SCOPES?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\S{1,500}$/, {
    message: 'must be the resource indicator (RFC 8707) the console asks its access token for, e.g. https://forfait.caisse.example/v1',
  })
  OIDC_RESOURCE?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9_:./-]{1,200}$/, { message: 'must be a claim name' })
  OIDC_ROLE_CLAIM?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9_:./-]{1,200}$/, { message: 'must be a claim name' })
  OIDC_CAISSE_CLAIM?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9_:./-]{1,200}$/, { message: 'must be a claim name' })
  OIDC_RPPS_CLAIM?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be a whole number of seconds between 1 and 600' })
  @Min(1, { message: 'must be a whole number of seconds between 1 and 600' })
  @Max(600, { message: 'must be a whole number of seconds between 1 and 600' })
  HTTP_HEADERS_TIMEOUT_SECONDS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be a whole number of seconds between 1 and 86400' })
  @Min(1, { message: 'must be a whole number of seconds between 1 and 86400' })
  @Max(86400, { message: 'must be a whole number of seconds between 1 and 86400' })
  HTTP_REQUEST_TIMEOUT_SECONDS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be a whole number of seconds between 1 and 3600' })
  @Min(1, { message: 'must be a whole number of seconds between 1 and 3600' })
  @Max(3600, { message: 'must be a whole number of seconds between 1 and 3600' })
  HTTP_BODY_IDLE_TIMEOUT_SECONDS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be a whole number of seconds between 1 and 3600' })
  @Min(1, { message: 'must be a whole number of seconds between 1 and 3600' })
  @Max(3600, { message: 'must be a whole number of seconds between 1 and 3600' })
  HTTP_KEEP_ALIVE_TIMEOUT_SECONDS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be a whole number between 0 (off) and 100000' })
  @Min(0, { message: 'must be a whole number between 0 (off) and 100000' })
  @Max(100000, { message: 'must be a whole number between 0 (off) and 100000' })
  RATE_LIMIT_BURST?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be a whole number between 1 and 100000' })
  @Min(1, { message: 'must be a whole number between 1 and 100000' })
  @Max(100000, { message: 'must be a whole number between 1 and 100000' })
  RATE_LIMIT_PER_MINUTE?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be a whole number between 1 and 1000000' })
  @Min(1, { message: 'must be a whole number between 1 and 1000000' })
  @Max(1_000_000, { message: 'must be a whole number between 1 and 1000000' })
  INTEGRITY_SWEEP?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(INSTANT_WITH_OFFSET, { message: 'must be an ISO-8601 instant with an offset, e.g. 2024-01-15T09:00:00+01:00' })
  CLOCK?: string;

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'must be true or false' })
  SEED_DEMO?: boolean;

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'must be true or false' })
  RUN_PROJECTOR?: boolean;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'must be a lower-case SQL identifier' })
  DATABASE_SCHEMA?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(1)
  JUSTIFICATIF_DIR?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer between 1 and 10000' })
  @Min(1, { message: 'must be an integer between 1 and 10000' })
  @Max(10000, { message: 'must be an integer between 1 and 10000' })
  PROJECTOR_BATCH_SIZE?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer number of milliseconds between 0 and 60000' })
  @Min(0, { message: 'must be an integer number of milliseconds between 0 and 60000' })
  @Max(60000, { message: 'must be an integer number of milliseconds between 0 and 60000' })
  READ_MODELS_WAIT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer number of milliseconds between 0 and 600000' })
  @Min(0, { message: 'must be an integer number of milliseconds between 0 and 600000' })
  @Max(600000, { message: 'must be an integer number of milliseconds between 0 and 600000' })
  SHUTDOWN_GRACE_MS?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^PRIVATE\+KEY\+[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/, {
    message: 'must be a signed-note private key, PRIVATE+KEY+<name>+<key id>+<base64> (npm run cli -- log-key <name> <file>)',
  })
  LOG_SIGNING_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[^\s+]{1,200}$/, { message: 'must be a schema-less URL without spaces nor "+", e.g. caisse.example/forfait-structure/log' })
  LOG_ORIGIN?: string;

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'must be true or false' })
  LOG_PUBLIC?: boolean;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer between 1 and 1000000' })
  @Min(1, { message: 'must be an integer between 1 and 1000000' })
  @Max(1000000, { message: 'must be an integer between 1 and 1000000' })
  LOG_CHECKPOINT_EVERY_EVENTS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'must be an integer number of seconds between 1 and 86400' })
  @Min(1, { message: 'must be an integer number of seconds between 1 and 86400' })
  @Max(86400, { message: 'must be an integer number of seconds between 1 and 86400' })
  LOG_CHECKPOINT_INTERVAL_SECONDS?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[^\s+,]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*(,[^\s+,]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*)*$/, {
    message: 'must be witness verifier keys <name>+<key id>+<base64>, separated by commas',
  })
  LOG_WITNESS_KEYS?: string;

  /** Issue 15.3: every signed checkpoint also written there, one file per tree size, never rewritten. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  LOG_CHECKPOINT_DIR?: string;
}

export type StoreKind = 'embedded' | 'postgres' | 'eventstore';

export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  /** Address the API listens on: 127.0.0.1 unless HOST says otherwise (0.0.0.0 in a container). */
  host: string;
  store: StoreKind;
  dataDir: string;
  /** Where justificatif files are stored by SHA-256 (default `<DATA_DIR>/justificatifs`). */
  justificatifDir: string;
  databaseUrl?: string;
  databaseSchema: string;
  eventstoreConnectionString?: string;
  /** A streaming standby of the read models' database that serves the queries; absent: the read models' database itself. */
  readDatabaseUrl?: string;
  /** How long a query waits for the read models (on the standby, if any) to reach the position it asks for. */
  readModelsWaitMs: number;
  redisUrl: string;
  auth: {
    jwtSecret?: string;
    jwksUrl?: string;
    /** No secret nor JWKS configured in embedded mode: one is generated in this file (withDevSecret). */
    usingDevSecret: boolean;
    devSecretFile?: string;
    issuer?: string;
    audience?: string;
    /** The longest lifetime accepted, `exp - iat` (or `exp - now` without `iat`). */
    maxTokenSeconds: number;
    /** The claims read for role, caisse and RPPS (`role`, `caisse`, `rpps` unless OIDC_*_CLAIM says otherwise). */
    claims: { role: string; caisse: string; rpps: string };
  };
  /**
   * The console's sign-in through the caisse's identity provider (OpenID Connect, authorization code
   * with PKCE). With an issuer the API verifies its tokens by the keys its discovery document names.
   */
  oidc?: { issuer: string; clientId: string; scopes: string; resource?: string };
  http: {
    headersTimeoutMs: number;
    /** The whole request, headers and body, must arrive within it. */
    requestTimeoutMs: number;
    /** A body that stops arriving for this long: the connection is dropped. */
    bodyIdleTimeoutMs: number;
    /**
     * How long an idle keep-alive connection is kept. Above the clients' and load balancers' own
     * (60 s is common): a server that closes first races a request being sent on the same socket,
     * which the client sees as a reset (Node's default, 5 s, was seen to lose that race).
     */
    keepAliveTimeoutMs: number;
  };
  /** Token bucket per principal on the expensive endpoints (rate-limit.ts); burst 0: off. */
  rateLimit: { burst: number; perMinute: number };
  /** How many events, leaves and stream heads each GET /v1/integrity re-checks of what was verified before (issue 11, point 8). */
  integritySweep: number;
  clock?: string;
  seedDemo: boolean;
  /** Run the projector inside the API process (always so in embedded mode: PGlite is one process). */
  runProjectorInProcess: boolean;
  /** Events per read-model transaction. */
  projectorBatchSize: number;
  /** On SIGTERM, how long requests in flight (the projector's batch) may take before the pools close. */
  shutdownGraceMs: number;
  /** The verifiable log (architecture.md, "Tamper evidence"; api.md, "Verifiable log"). */
  log: {
    origin: string;
    /** Signed-note private key; absent outside production: one is generated in `devKeyFile` (withDevLogKey). */
    signingKey?: string;
    devKeyFile?: string;
    /** The log's endpoints answer without a token. */
    public: boolean;
    checkpointEveryEvents: number;
    checkpointIntervalMs: number;
    /** Cosignature/v1 verifier keys configured by the admin. */
    witnessKeys: string[];
    /** The append-only publication directory of signed checkpoints (LOG_CHECKPOINT_DIR), when set. */
    checkpointDir?: string;
  };
}

/** A configuration the app must not start with; the message names every offending variable. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIGURATION';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super('invalid configuration:\n' + problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

const KNOWN = [
  'NODE_ENV',
  'PORT',
  'STORE',
  'DATA_DIR',
  'DATABASE_URL',
  'DATABASE_SCHEMA',
  'JUSTIFICATIF_DIR',
  'EVENTSTORE_CONNECTION_STRING',
  'READ_DATABASE_URL',
  'READ_MODELS_WAIT_MS',
  'REDIS_URL',
  'AUTH_JWT_SECRET',
  'AUTH_JWKS_URL',
  'AUTH_JWT_ISSUER',
  'AUTH_JWT_AUDIENCE',
  'AUTH_MAX_TOKEN_SECONDS',
  'OIDC_ISSUER',
  'OIDC_CLIENT_ID',
  'OIDC_SCOPES',
  'OIDC_RESOURCE',
  'OIDC_ROLE_CLAIM',
  'OIDC_CAISSE_CLAIM',
  'OIDC_RPPS_CLAIM',
  'HOST',
  'HTTP_HEADERS_TIMEOUT_SECONDS',
  'HTTP_REQUEST_TIMEOUT_SECONDS',
  'HTTP_BODY_IDLE_TIMEOUT_SECONDS',
  'HTTP_KEEP_ALIVE_TIMEOUT_SECONDS',
  'RATE_LIMIT_BURST',
  'RATE_LIMIT_PER_MINUTE',
  'INTEGRITY_SWEEP',
  'CLOCK',
  'SEED_DEMO',
  'RUN_PROJECTOR',
  'PROJECTOR_BATCH_SIZE',
  'SHUTDOWN_GRACE_MS',
  'LOG_SIGNING_KEY',
  'LOG_ORIGIN',
  'LOG_PUBLIC',
  'LOG_CHECKPOINT_EVERY_EVENTS',
  'LOG_CHECKPOINT_INTERVAL_SECONDS',
  'LOG_WITNESS_KEYS',
  'LOG_CHECKPOINT_DIR',
] as const;

/**
 * Without DATA_DIR, the embedded store of a clock: `./var` on the system clock, and a data dir of its
 * own per `CLOCK` (`./var/demo-2024-01-20T100000+0100`), so that a demo seeded for one clock is never
 * reused under another (issue 18.1). The CLI, given the same CLOCK, finds the same data dir.
 */
export function defaultDataDir(store: StoreKind, clock: string | undefined): string {
  if (store !== 'embedded' || !clock) return './var';
  return `./var/demo-${clock.replace(/:/g, '')}`;
}

export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const raw: Record<string, string> = {};
  for (const key of KNOWN) {
    const value = env[key];
    if (value !== undefined) raw[key] = value;
  }
  const parsed = plainToInstance(Environment, raw);
  const errors = validateSync(parsed, { whitelist: true, forbidUnknownValues: true });
  const problems = errors.map((e) => ({
    variable: e.property,
    message: `${[...new Set(Object.values(e.constraints ?? {}))].join('; ')} (got "${raw[e.property] ?? ''}")`,
  }));

  const nodeEnv = (parsed.NODE_ENV ?? 'development') as AppConfig['nodeEnv'];
  const store = (parsed.STORE ?? 'embedded') as StoreKind;
  const usingDevSecret = !parsed.AUTH_JWT_SECRET && !parsed.AUTH_JWKS_URL && !parsed.OIDC_ISSUER && store === 'embedded';
  const jwtSecret = parsed.AUTH_JWT_SECRET;
  const dataDir = parsed.DATA_DIR ?? defaultDataDir(store, parsed.CLOCK);

  if (problems.length === 0) {
    if (!jwtSecret && !parsed.AUTH_JWKS_URL && !parsed.OIDC_ISSUER && !(usingDevSecret && nodeEnv !== 'production')) {
      problems.push({
        variable: 'AUTH_JWT_SECRET',
        message:
          nodeEnv === 'production'
            ? 'set OIDC_ISSUER, AUTH_JWKS_URL or AUTH_JWT_SECRET (HS256): the development secret is refused in production'
            : `set AUTH_JWT_SECRET (HS256), AUTH_JWKS_URL or OIDC_ISSUER: outside embedded mode there is no development secret`,
      });
    }
    if (parsed.READ_DATABASE_URL && store === 'embedded') {
      problems.push({
        variable: 'READ_DATABASE_URL',
        message: 'a standby serves the read models of PostgreSQL (STORE postgres or eventstore), not of the embedded store',
      });
    }
    if (Boolean(parsed.OIDC_ISSUER) !== Boolean(parsed.OIDC_CLIENT_ID)) {
      problems.push({
        variable: parsed.OIDC_ISSUER ? 'OIDC_CLIENT_ID' : 'OIDC_ISSUER',
        message: 'OIDC_ISSUER and OIDC_CLIENT_ID go together (the console signs in as that client of that issuer)',
      });
    }
    if ((parsed.HTTP_HEADERS_TIMEOUT_SECONDS ?? 10) > (parsed.HTTP_REQUEST_TIMEOUT_SECONDS ?? 60)) {
      problems.push({ variable: 'HTTP_HEADERS_TIMEOUT_SECONDS', message: 'must not exceed HTTP_REQUEST_TIMEOUT_SECONDS (Node refuses it)' });
    }
    if (nodeEnv === 'production') {
      if (jwtSecret === DEV_JWT_SECRET) {
        problems.push({ variable: 'AUTH_JWT_SECRET', message: 'the development secret is refused in production' });
      }
      if (!parsed.LOG_SIGNING_KEY) {
        problems.push({
          variable: 'LOG_SIGNING_KEY',
          message: 'set LOG_SIGNING_KEY: the log’s development key (generated per data dir) is refused in production',
        });
      }
      if (parsed.CLOCK) {
        problems.push({ variable: 'CLOCK', message: 'a fixed clock is refused in production' });
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv,
    port: parsed.PORT ?? 3000,
    host: parsed.HOST ?? '127.0.0.1',
    store,
    dataDir,
    justificatifDir: parsed.JUSTIFICATIF_DIR ?? `${dataDir}/justificatifs`,
    databaseUrl: parsed.DATABASE_URL,
    databaseSchema: parsed.DATABASE_SCHEMA ?? 'public',
    eventstoreConnectionString: parsed.EVENTSTORE_CONNECTION_STRING,
    ...(parsed.READ_DATABASE_URL ? { readDatabaseUrl: parsed.READ_DATABASE_URL } : {}),
    readModelsWaitMs: parsed.READ_MODELS_WAIT_MS ?? 5000,
    redisUrl: parsed.REDIS_URL ?? 'redis://127.0.0.1:6379',
    auth: {
      jwtSecret,
      jwksUrl: parsed.AUTH_JWKS_URL,
      usingDevSecret,
      ...(usingDevSecret ? { devSecretFile: `${dataDir}/${DEV_SECRET_FILE}` } : {}),
      ...(parsed.AUTH_JWT_ISSUER ? { issuer: parsed.AUTH_JWT_ISSUER } : {}),
      ...(parsed.AUTH_JWT_AUDIENCE ? { audience: parsed.AUTH_JWT_AUDIENCE } : {}),
      maxTokenSeconds: parsed.AUTH_MAX_TOKEN_SECONDS ?? 3600,
      claims: { role: parsed.OIDC_ROLE_CLAIM ?? 'role', caisse: parsed.OIDC_CAISSE_CLAIM ?? 'caisse', rpps: parsed.OIDC_RPPS_CLAIM ?? 'rpps' },
    },
    ...(parsed.OIDC_ISSUER && parsed.OIDC_CLIENT_ID
      ? {
          oidc: {
            issuer: parsed.OIDC_ISSUER.replace(/\/+$/, ''),
            clientId: parsed.OIDC_CLIENT_ID,
            scopes: parsed.OIDC_SCOPES ?? 'openid profile',
            ...(parsed.OIDC_RESOURCE ? { resource: parsed.OIDC_RESOURCE } : {}),
          },
        }
      : {}),
    http: {
      headersTimeoutMs: (parsed.HTTP_HEADERS_TIMEOUT_SECONDS ?? 10) * 1000,
      requestTimeoutMs: (parsed.HTTP_REQUEST_TIMEOUT_SECONDS ?? 60) * 1000,
      bodyIdleTimeoutMs: (parsed.HTTP_BODY_IDLE_TIMEOUT_SECONDS ?? 15) * 1000,
      keepAliveTimeoutMs: (parsed.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS ?? 65) * 1000,
    },
    rateLimit: { burst: parsed.RATE_LIMIT_BURST ?? 30, perMinute: parsed.RATE_LIMIT_PER_MINUTE ?? 60 },
    integritySweep: parsed.INTEGRITY_SWEEP ?? 10_000,
    clock: parsed.CLOCK,
    seedDemo: parsed.SEED_DEMO ?? store === 'embedded',
    runProjectorInProcess: store === 'embedded' ? true : (parsed.RUN_PROJECTOR ?? true),
    projectorBatchSize: parsed.PROJECTOR_BATCH_SIZE ?? 500,
    shutdownGraceMs: parsed.SHUTDOWN_GRACE_MS ?? 10_000,
    log: {
      origin: parsed.LOG_ORIGIN ?? 'forfait-structure.localhost/log',
      ...(parsed.LOG_SIGNING_KEY ? { signingKey: parsed.LOG_SIGNING_KEY } : { devKeyFile: `${dataDir}/${DEV_LOG_KEY_FILE}` }),
      public: parsed.LOG_PUBLIC ?? false,
      checkpointEveryEvents: parsed.LOG_CHECKPOINT_EVERY_EVENTS ?? 1000,
      checkpointIntervalMs: (parsed.LOG_CHECKPOINT_INTERVAL_SECONDS ?? 10) * 1000,
      witnessKeys: parsed.LOG_WITNESS_KEYS ? parsed.LOG_WITNESS_KEYS.split(',') : [],
      ...(parsed.LOG_CHECKPOINT_DIR ? { checkpointDir: parsed.LOG_CHECKPOINT_DIR } : {}),
    },
  };
}
