import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
  ValidateIf,
} from 'class-validator';

/** The development secret used when none is configured in embedded mode; refused in production. */
export const DEV_JWT_SECRET = 'forfait-structure-development-secret-do-not-use-in-production';

const INSTANT_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === '') return undefined;
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};
const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

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
}

export type StoreKind = 'embedded' | 'postgres' | 'eventstore';

export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  store: StoreKind;
  dataDir: string;
  /** Where justificatif files are stored by SHA-256 (default `<DATA_DIR>/justificatifs`). */
  justificatifDir: string;
  databaseUrl?: string;
  databaseSchema: string;
  eventstoreConnectionString?: string;
  redisUrl: string;
  auth: { jwtSecret?: string; jwksUrl?: string; usingDevSecret: boolean };
  clock?: string;
  seedDemo: boolean;
  /** Run the projector inside the API process (always so in embedded mode: PGlite is one process). */
  runProjectorInProcess: boolean;
  /** Events per read-model transaction. */
  projectorBatchSize: number;
}

/** A configuration the app must not start with; the message names every offending variable. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIGURATION';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      'invalid configuration:\n' + problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n'),
    );
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
  'REDIS_URL',
  'AUTH_JWT_SECRET',
  'AUTH_JWKS_URL',
  'CLOCK',
  'SEED_DEMO',
  'RUN_PROJECTOR',
  'PROJECTOR_BATCH_SIZE',
] as const;

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
    message: `${[...new Set(Object.values(e.constraints ?? {}))].join('; ')} (got "${String(raw[e.property] ?? '')}")`,
  }));

  const nodeEnv = (parsed.NODE_ENV ?? 'development') as AppConfig['nodeEnv'];
  const store = (parsed.STORE ?? 'embedded') as StoreKind;
  const usingDevSecret = !parsed.AUTH_JWT_SECRET && !parsed.AUTH_JWKS_URL && store === 'embedded';
  const jwtSecret = parsed.AUTH_JWT_SECRET ?? (usingDevSecret ? DEV_JWT_SECRET : undefined);

  if (problems.length === 0) {
    if (!jwtSecret && !parsed.AUTH_JWKS_URL) {
      problems.push({
        variable: 'AUTH_JWT_SECRET',
        message: `set AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL: outside embedded mode there is no development secret`,
      });
    }
    if (nodeEnv === 'production') {
      if (jwtSecret === DEV_JWT_SECRET) {
        problems.push({ variable: 'AUTH_JWT_SECRET', message: 'the development secret is refused in production' });
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
    store,
    dataDir: parsed.DATA_DIR ?? './var',
    justificatifDir: parsed.JUSTIFICATIF_DIR ?? `${parsed.DATA_DIR ?? './var'}/justificatifs`,
    databaseUrl: parsed.DATABASE_URL,
    databaseSchema: parsed.DATABASE_SCHEMA ?? 'public',
    eventstoreConnectionString: parsed.EVENTSTORE_CONNECTION_STRING,
    redisUrl: parsed.REDIS_URL ?? 'redis://127.0.0.1:6379',
    auth: { jwtSecret, jwksUrl: parsed.AUTH_JWKS_URL, usingDevSecret: jwtSecret === DEV_JWT_SECRET },
    clock: parsed.CLOCK,
    seedDemo: parsed.SEED_DEMO ?? store === 'embedded',
    runProjectorInProcess: store === 'embedded' ? true : (parsed.RUN_PROJECTOR ?? true),
    projectorBatchSize: parsed.PROJECTOR_BATCH_SIZE ?? 500,
  };
}
