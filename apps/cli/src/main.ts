import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { caisseLabel, isInstantWithOffset, isValidRpps, ROLES, type Role } from '@forfait/events';
import { formatParisInstant, formatPoints, specialtyLabel, toEntitlementView } from '@forfait/domain';
import { ConfigError, FULL_VERIFICATION_JOB, Jobs, QUEUES, loadConfig, probeRedis, signDevToken, withDevSecret, type AppConfig } from '@forfait/platform';
import { DoctorYearReader, EntitlementService, type CsvImportJob } from '@forfait/application';
import {
  PROJECTIONS,
  REBUILD_JOB,
  acceptJob,
  openRuntime,
  readAcceptedJob,
  readModelSchemaOf,
  setupAcceptedJobs,
  withdrawJob,
  type AcceptedJobRequest,
  type RebuildProgress,
  type Runtime,
} from '@forfait/read-models';
import { readFileSync, writeFileSync } from 'node:fs';
import { COSIGNATURE_V1, PgDatabase, generateSignerKey, parseSignerKey, runWitness, verifyFully, vkeyOf, type FullVerificationReport } from '@forfait/store';

const out = (line = '') => process.stdout.write(`${line}\n`);
/** "01/02/2024 00:00": an instant as French users read it, in Paris time (the caller says so). */
const paris = formatParisInstant;

class UsageError extends Error {}
/** No worker listens on the queue: the job was taken back. */
class NoWorkerError extends UsageError {}

interface Command {
  summary: string;
  usage: string;
  help: string;
  /** The exit code; commands that need no I/O answer at once. */
  run(args: string[], config: AppConfig): Promise<number> | number;
}

const euros = (cents: number) => `${(cents / 100).toLocaleString('fr-FR', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} €`;

/** Opens the stores of the configuration, without projector, seed or HTTP. */
async function withRuntime<T>(config: AppConfig, fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(config, { runProjector: false, projections: [] });
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

/** Opens the job queues of the configuration; jobs need Redis. */
async function withJobs<T>(config: AppConfig, fn: (jobs: Jobs) => Promise<T>): Promise<T> {
  const redis = await probeRedis(config.redisUrl);
  if (!redis.ok) throw new UsageError(`Redis is unreachable at ${redis.url} (${redis.detail}): jobs are unavailable`);
  const jobs = new Jobs(config.redisUrl, Jobs.prefixFor(config, { create: false }));
  try {
    return await fn(jobs);
  } finally {
    await jobs.close();
  }
}

/** The journal of accepted work (accepted_jobs) in the read-model database of a PostgreSQL deployment. */
async function openAcceptedJobs(config: AppConfig) {
  if (!config.databaseUrl) throw new UsageError('DATABASE_URL is required for this STORE');
  const db = new PgDatabase(config.databaseUrl);
  const schema = readModelSchemaOf(config);
  try {
    await setupAcceptedJobs(db, schema);
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    read: (jobId: string) => readAcceptedJob(db, schema, jobId),
    accept: (request: AcceptedJobRequest & { kind: 'job' }) =>
      acceptJob(db, schema, {
        jobId: request.opts.jobId,
        request,
        acceptedAt: new Date().toISOString(),
        acceptedBy: 'cli',
        correlationId: String(request.data.correlationId),
      }),
    withdraw: (jobId: string) => withdrawJob(db, schema, jobId),
    close: () => db.close(),
  };
}

const bar = (percent: number, width = 30) => {
  const filled = Math.max(0, Math.min(width, Math.round((percent / 100) * width)));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}%`;
};

/** Follows a job until it ends (bounded), drawing its progress on stderr; returns its result. */
async function follow(
  jobs: Jobs,
  queue: (typeof QUEUES)[keyof typeof QUEUES],
  id: string,
  render: (progress: unknown) => string,
  timeoutMs: number,
): Promise<unknown> {
  // No worker listens on this store's queues (no `npm start` on this DATA_DIR): say so now, take the job back.
  if ((await jobs.queue(queue).getWorkers()).length === 0) {
    await (await jobs.queue(queue).getJob(id))?.remove();
    throw new NoWorkerError(
      `no worker is running for this store's jobs (queue ${queue}): start the system first (npm start, or the projector and the API) with the same DATA_DIR/DATABASE_SCHEMA (or CLOCK); the job was taken back, nothing is left queued`,
    );
  }
  const deadline = Date.now() + timeoutMs;
  let warned = false;
  const started = Date.now();
  for (;;) {
    const job = await jobs.queue(queue).getJob(id);
    if (!job) throw new UsageError(`job ${id} disappeared`);
    const state = await job.getState();
    process.stderr.write(`\r${render(job.progress)} ${state.padEnd(10)}`);
    if (state === 'completed') {
      process.stderr.write('\n');
      return job.returnvalue;
    }
    if (state === 'failed') {
      process.stderr.write('\n');
      throw new Error(`job ${id} failed: ${job.failedReason}`);
    }
    if (!warned && state === 'waiting' && Date.now() - started > 10_000) {
      process.stderr.write('\n(waiting for a worker: npm start, or the projector and the API, must be running)\n');
      warned = true;
    }
    if (Date.now() > deadline) throw new Error(`job ${id} still ${state} after ${timeoutMs} ms (it goes on; see GET /v1/jobs/${id})`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const COMMANDS: Record<string, Command> = {
  generate: {
    summary: 'write a deterministic national-scale dataset (doctors, campaigns, controls) into an empty store',
    usage: 'generate --doctors <N> --seed <S> [--years 2023[,2024]] [--chunk <events per transaction>]',
    help: 'About 30 events per doctor-year: profile, pre-fills, the SNDS measures, declarations and corrections,\njustificatifs (validated, rejected, pending), late paper forms, calculation, payment, ~2 % controls and\ncontestations. The same seed and size give the same events (ids included). Events are recorded at the\ninstant they happened, so "as known at" works on them. The store must be empty (STORE, DATA_DIR,\nDATABASE_URL, DATABASE_SCHEMA say which).',
    async run(args, config) {
      const { values } = parseArgs({
        args,
        options: {
          doctors: { type: 'string' },
          seed: { type: 'string' },
          years: { type: 'string', default: '2023' },
          chunk: { type: 'string', default: '2000' },
        },
      });
      const doctors = Number(values.doctors);
      if (!Number.isInteger(doctors) || doctors < 1 || doctors > 1_000_000) throw new UsageError('--doctors is a whole number from 1 to 1 000 000');
      if (!values.seed || !/^[A-Za-z0-9_.-]{1,40}$/.test(values.seed)) throw new UsageError('--seed is 1 to 40 letters, digits, _ . -');
      const years = values.years.split(',').map(Number);
      if (years.some((y) => !Number.isInteger(y) || y < 2023 || y > 2030) || new Set(years).size !== years.length)
        throw new UsageError('--years lists distinct campaign years from 2023 to 2030, e.g. 2023,2024');
      const chunk = Number(values.chunk);
      if (!Number.isInteger(chunk) || chunk < 1 || chunk > 20_000) throw new UsageError('--chunk is a whole number from 1 to 20 000');
      const { ManualClock } = await import('@forfait/platform');
      const { openStores } = await import('@forfait/store');
      const { writeGenerated } = await import('@forfait/generator');
      const clock = new ManualClock('2023-01-01T00:00:00Z');
      const { store, readDb } = await openStores({ ...config, clock });
      try {
        const result = await writeGenerated(store, clock, { doctors, seed: values.seed, years: years.sort(), chunk }, (p) =>
          process.stderr.write(`\r${bar(Math.floor((p.window / p.windows) * 100))} ${p.events} events`),
        );
        process.stderr.write('\n');
        out(
          `${result.events} events in ${result.streams} streams for ${doctors} doctors x ${years.length} year(s) in ${(result.ms / 1000).toFixed(1)} s (${Math.round(result.events / (result.ms / 1000))} events/s)`,
        );
        out(`recorded from ${result.firstRecordedAt} to ${result.lastRecordedAt}; rebuild the read models with: npm run cli -- rebuild`);
        return 0;
      } catch (error) {
        if ((error as { code?: string }).code === 'STORE_NOT_EMPTY') throw new UsageError((error as Error).message);
        throw error;
      } finally {
        await store.close();
        await readDb.close();
      }
    },
  },
  rebuild: {
    summary: 'rebuild projections from zero beside the live ones, swap when caught up (a job, with progress)',
    usage: `rebuild [projection ...] [--timeout <seconds>]`,
    help: `Projections: ${PROJECTIONS.map((p) => p.name).join(', ')} (none named: all). The live ones keep serving meanwhile.\nNeeds Redis and a running projector (npm start, or npm run start:projector).`,
    async run(args, config) {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { timeout: { type: 'string', default: '600' } } });
      const known = PROJECTIONS.map((p) => p.name);
      const unknown = positionals.filter((n) => !known.includes(n));
      if (unknown.length > 0) throw new UsageError(`unknown projection(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
      return withJobs(config, async (jobs) => {
        const id = `rebuild-${positionals.join('+') || 'all'}-${Date.now()}`;
        await jobs.queue(QUEUES.rebuilds).add(REBUILD_JOB, { projections: positionals }, { jobId: id, attempts: 1 });
        out(`job ${id} queued`);
        const result = (await follow(
          jobs,
          QUEUES.rebuilds,
          id,
          (p) => {
            const r = p as Partial<RebuildProgress>;
            return `${bar(r.percent ?? 0)} ${r.position ?? 0}/${r.head ?? '?'} ${r.phase ?? 'queued'} ${(r.projections ?? positionals).join(', ')}`;
          },
          Number(values.timeout) * 1000,
        )) as { projections: string[]; position: string; ms: number };
        out(`rebuilt ${result.projections.join(', ')} up to position ${result.position} in ${(result.ms / 1000).toFixed(1)} s, swapped in`);
        return 0;
      });
    },
  },
  import: {
    summary: 'import a CSV extract of measures (a job: streamed, line-numbered errors, idempotent)',
    usage: 'import <file.csv> [--source <name>] [--timeout <seconds>]',
    help: 'Columns: rpps, year, indicator, numerator, denominator, participates, teletransmittedPreviousYear, firstFseOn,\nmonths ("2023-01:80/100;2023-02:70/100"). The same file sent twice imports nothing twice.\nNeeds Redis and a running API (npm start) sharing DATA_DIR.',
    async run(args, config) {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { source: { type: 'string', default: 'CSV' }, timeout: { type: 'string', default: '3600' } },
      });
      const file = positionals[0];
      if (!file) throw new UsageError('<file.csv> is required');
      if (!/^[A-Za-z0-9_.-]{1,40}$/.test(values.source)) throw new UsageError('--source is 1 to 40 letters, digits, _ . -');
      const { createHash } = await import('node:crypto');
      const { createReadStream } = await import('node:fs');
      const { copyFile, mkdir, rm } = await import('node:fs/promises');
      const paths = await import('node:path');
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      const sha256 = hash.digest('hex');
      const dir = paths.resolve(config.dataDir, 'imports');
      await mkdir(dir, { recursive: true });
      const path = paths.join(dir, `${sha256}.csv`);
      const id = `import-${values.source}-${sha256}`;
      const data: CsvImportJob = { path, source: values.source, sha256, correlationId: `cli-${id}` };
      const opts = { jobId: id, attempts: 3 };
      return withJobs(config, async (jobs) => {
        // Recorded in the journal of accepted work before the enqueue, as the API does: a Redis lost
        // from here on loses no import (the reconciler re-enqueues it) and the file stays until done.
        // The embedded store belongs to the running API: there its worker records it on pickup.
        const journal = config.store === 'embedded' ? undefined : await openAcceptedJobs(config);
        try {
          const previous = await journal?.read(id);
          if (previous?.doneAt) {
            out(`job ${id} done already (${previous.doneAt}): nothing imported again`);
            return 0;
          }
          await copyFile(file, path);
          const accepted = await journal?.accept({ kind: 'job', queue: QUEUES.imports, name: 'measures-csv', data: { ...data }, opts });
          let result: {
            received: number;
            appended: number;
            duplicates: number;
            rejectedCount: number;
            rejected: { line?: number; code: string; message: string }[];
          };
          let enqueued = false;
          try {
            await jobs.queue(QUEUES.imports).add('measures-csv', data, opts);
            enqueued = true;
            out(`job ${id} queued`);
            result = (await follow(
              jobs,
              QUEUES.imports,
              id,
              (p) => {
                const r = (p ?? {}) as { lines?: number; appended?: number; duplicates?: number; rejected?: number };
                return `${r.lines ?? 0} data lines: ${r.appended ?? 0} appended, ${r.duplicates ?? 0} already there, ${r.rejected ?? 0} rejected`;
              },
              Number(values.timeout) * 1000,
            )) as typeof result;
          } catch (error) {
            // Not enqueued, or taken back for want of a worker: as if never asked (an earlier acceptance stays).
            if (accepted && (!enqueued || error instanceof NoWorkerError)) {
              await journal?.withdraw(id);
              await rm(path, { force: true });
            }
            throw error;
          }
          out(`${result.received} data lines: ${result.appended} appended, ${result.duplicates} already imported, ${result.rejectedCount} rejected`);
          for (const r of result.rejected.slice(0, 20)) out(`  line ${r.line}: ${r.code} ${r.message}`);
          return result.rejectedCount > 0 ? 3 : 0;
        } finally {
          await journal?.close();
        }
      });
    },
  },
  token: {
    summary: 'print a development token (HS256, AUTH_JWT_SECRET or the development secret of DATA_DIR)',
    usage: 'token --role <role> [--rpps <rpps>] [--caisse <code>] [--sub <subject>] [--expires 1h]',
    help: `Roles: ${ROLES.join(', ')}. A doctor needs --rpps, an agent or a controller --caisse.\n--expires (30m, 1h, 3600...) is at most AUTH_MAX_TOKEN_SECONDS (default 3600 s), which the API enforces.\nRefused with NODE_ENV=production or when only a JWKS is configured.`,
    async run(args, given) {
      const { values } = parseArgs({
        args,
        options: {
          role: { type: 'string' },
          rpps: { type: 'string' },
          caisse: { type: 'string' },
          sub: { type: 'string' },
          expires: { type: 'string', default: '1h' },
        },
      });
      if (given.nodeEnv === 'production') throw new UsageError('development tokens are refused in production');
      const seconds = lifetimeSeconds(values.expires);
      if (seconds === undefined || seconds <= 0) throw new UsageError('--expires is a duration such as 30m, 1h or 3600 (seconds)');
      if (seconds > given.auth.maxTokenSeconds)
        throw new UsageError(
          `--expires ${values.expires} is longer than the longest lifetime the API accepts (AUTH_MAX_TOKEN_SECONDS=${given.auth.maxTokenSeconds} s)`,
        );
      const role = values.role as Role | undefined;
      if (!role || !(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role is one of ${ROLES.join(', ')}`);
      if (role === 'doctor' && !isValidRpps(values.rpps)) throw new UsageError('a doctor token needs --rpps <11 digits with a Luhn check digit>');
      if ((role === 'agent' || role === 'controller') && !/^\d{3}$/.test(values.caisse ?? ''))
        throw new UsageError(`an ${role} token needs --caisse <3 digits>`);
      // The same per-data-dir secret as `npm start` on this DATA_DIR (created here when it is not yet).
      const config = withDevSecret(given);
      if (!config.auth.jwtSecret) throw new UsageError('no AUTH_JWT_SECRET configured (a JWKS issues production tokens)');
      out(
        await signDevToken(
          config.auth.jwtSecret,
          {
            role,
            ...(values.sub ? { sub: values.sub } : {}),
            ...(role === 'doctor' ? { rpps: values.rpps } : {}),
            ...(role === 'agent' || role === 'controller' ? { caisse: values.caisse } : {}),
          },
          `${seconds}s`,
        ),
      );
      return 0;
    },
  },
  witness: {
    summary: 'check the log’s latest checkpoint against the last one verified, cosign it and post the cosignature',
    usage: 'witness --url <api> --key <witness key file> --state <file> [--token <jwt>] [--json]',
    help: 'The key file holds a cosignature/v1 key (witness-key <name> writes one). Exit status 0 when consistent and cosigned, 2 when the log is inconsistent.\nEach failure is printed as `INCOHÉRENT (<reason>) : <detail>`; --json prints { ok, size, report, failures: [{ reason, detail }] }.',
    async run(args) {
      const { values } = parseArgs({
        args,
        options: {
          url: { type: 'string' },
          key: { type: 'string' },
          state: { type: 'string' },
          token: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
      });
      if (!values.url || !values.key || !values.state) throw new UsageError('--url, --key and --state are required');
      const result = await runWitness({
        url: values.url.replace(/\/$/, ''),
        keyText: readFileSync(values.key, 'utf8'),
        statePath: values.state,
        ...(values.token ? { token: values.token } : {}),
      });
      if (values.json) out(JSON.stringify(result, null, 2));
      else for (const line of result.report) out(line);
      return result.ok ? 0 : 2;
    },
  },
  'log-key': {
    summary: 'write a new signing key of the verifiable log (signed note, Ed25519) for LOG_SIGNING_KEY and print its verifier key',
    usage: 'log-key <name> <file>',
    help: "The name is the key's name in the checkpoints' signatures (e.g. the log's origin, forfait-structure.cpam441.fr/log).\nThe file is written with 0600 permissions (never over an existing one); start the API with LOG_SIGNING_KEY=\"$(cat <file>)\".\nPublish the printed verifier key: it is the --vkey of scripts/verify-bundle.mjs and what witnesses check.",
    run(args) {
      const [name, file] = args;
      if (!name || !file) throw new UsageError('<name> and <file> are required');
      const key = generateSignerKey(name);
      writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
      out(vkeyOf(parseSignerKey(key)));
      return 0;
    },
  },
  'witness-key': {
    summary: 'write a new witness key (cosignature/v1, Ed25519) and print its verifier key',
    usage: 'witness-key <name> <file>',
    help: 'The file is written with 0600 permissions; give the printed verifier key to the caisse (LOG_WITNESS_KEYS).',
    run(args) {
      const [name, file] = args;
      if (!name || !file) throw new UsageError('<name> and <file> are required');
      const key = generateSignerKey(name, COSIGNATURE_V1);
      writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
      out(vkeyOf(parseSignerKey(key)));
      return 0;
    },
  },
  verify: {
    summary: 'recompute every hash chain and the log’s tree from the events, and name what is broken',
    usage: 'verify [--full] [--job] [--json] [--timeout <seconds>]',
    help: "Every chain from revision 0, stream heads, positions and recorded times, the stored tree, and the tree rebuilt from the events against the latest signed checkpoint;\n--full: against every signed checkpoint (each root and signature), not the latest only;\n--job: run it as a job (BullMQ, queue integrity-checks) on the running API, with progress (needs Redis and `npm start`).\nExit status 0 when everything verifies, 2 when something is broken. The result is GET /v1/integrity's lastFullCheck.\nIn embedded mode without --job, stop `npm start` first (PGlite is one process's database).",
    async run(args, config) {
      const { values } = parseArgs({
        args,
        options: {
          json: { type: 'boolean', default: false },
          full: { type: 'boolean', default: false },
          job: { type: 'boolean', default: false },
          timeout: { type: 'string', default: '3600' },
        },
      });
      const print = (report: FullVerificationReport): number => {
        if (values.json) out(JSON.stringify(report, null, 2));
        else if (report.ok)
          out(
            `OK: ${report.events} events in ${report.streams} streams, every hash chain verifies, heads, positions and the tree check${report.everyCheckpoint ? ' (every signed checkpoint)' : ''}`,
          );
        else {
          const b = report.firstBroken;
          if (b) {
            out(`BROKEN: ${b.reason} at ${b.streamId} revision ${b.revision} (event ${b.eventId}, position ${b.position})`);
            out(`  expected ${b.expected}`);
            out(`  found    ${b.actual}`);
          }
          for (const p of report.problems)
            out(`BROKEN: ${p.kind}${p.streamId ? ` at ${p.streamId}` : ''}${p.position ? ` position ${p.position}` : ''}: ${p.detail}`);
        }
        return report.ok ? 0 : 2;
      };
      if (values.job) {
        return withJobs(config, async (jobs) => {
          const id = `full-verification-${Date.now()}`;
          await jobs.queue(QUEUES.integrity).add(FULL_VERIFICATION_JOB, { everyCheckpoint: values.full }, { jobId: id, attempts: 1 });
          if (!values.json) out(`job ${id} queued`);
          const report = (await follow(
            jobs,
            QUEUES.integrity,
            id,
            (p) => {
              const r = p as { phase?: string; done?: number } | undefined;
              return `${r?.phase ?? 'queued'} ${r?.done ?? 0}`;
            },
            Number(values.timeout) * 1000,
          )) as FullVerificationReport;
          return print(report);
        });
      }
      return withRuntime(config, async (runtime) => {
        const report = await verifyFully(
          { store: runtime.store, db: runtime.readDb, schema: runtime.readModelSchema, log: runtime.log },
          { everyCheckpoint: values.full, now: () => new Date(), onProgress: (phase, n) => !values.json && process.stderr.write(`\r${phase}: ${n} checked`) },
        );
        if (!values.json) process.stderr.write('\n');
        return print(report);
      });
    },
  },
  replay: {
    summary: "replay a doctor-year's entitlement with its reasons, now or as known at an instant",
    usage: 'replay <rpps> <year> [--known-at <instant>] [--json]',
    help: 'The same pure function as the API and the projector (libs/domain computeEntitlement).',
    async run(args, config) {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { 'known-at': { type: 'string' }, json: { type: 'boolean', default: false } },
      });
      const [rpps, yearText] = positionals;
      if (!isValidRpps(rpps)) throw new UsageError('<rpps> is 11 digits with a Luhn check digit');
      const year = Number(yearText);
      if (!/^\d{4}$/.test(yearText ?? '')) throw new UsageError('<year> is a campaign year, e.g. 2023');
      const knownAt = values['known-at'];
      if (knownAt !== undefined && !isInstantWithOffset(knownAt)) throw new UsageError('--known-at is an ISO-8601 instant with an offset');
      return withRuntime(config, async (runtime) => {
        const service = new EntitlementService(runtime, new DoctorYearReader(runtime));
        const { entitlement: e } = await service.compute(rpps, year, knownAt ? new Date(knownAt).toISOString() : undefined);
        if (values.json) {
          out(JSON.stringify(toEntitlementView(e), null, 2));
          return 0;
        }
        out(`Médecin ${e.rpps}, campagne ${e.year} (${e.ruleset} v${e.rulesetVersion}), connu au ${paris(e.knownAt)} (heure de Paris)`);
        if (e.profile) out(`Profil : ${specialtyLabel(e.profile.specialty)}, ${caisseLabel(e.profile.caisse)}, département ${e.profile.department}`);
        if (e.campaign) out(`Fenêtre de déclaration : du ${paris(e.campaign.opensAt)} au ${paris(e.campaign.closesAt)} (heure de Paris)`);
        out();
        out(`Volet 1 (prérequis) : ${e.volet1.met ? 'atteint' : 'NON atteint'}, ${formatPoints(e.volet1.points)} points`);
        for (const i of e.volet1.indicators) out(`  ${i.met ? '✔' : '✘'} ${i.code.padEnd(24)} ${i.reason}`);
        out(`Volet 2 : ${formatPoints(e.volet2.points)} points`);
        for (const i of e.volet2.indicators) out(`  ${i.met ? '✔' : '✘'} ${i.code.padEnd(24)} ${formatPoints(i.points).padStart(8)}  ${i.reason}`);
        out();
        out(`Total : ${formatPoints(e.totalPoints)} points (${e.totalPoints.toString()} exact) = ${euros(e.amountCents)}`);
        out(
          `Payé : ${euros(e.paidCents)}   Solde : ${euros(e.balanceCents)}${e.balanceCents < 0 ? ' (indu à recouvrer)' : e.balanceCents > 0 ? ' (complément à payer)' : ''}`,
        );
        if (e.amendments.length > 0) out(`Amendements appliqués : ${e.amendments.join(', ')}`);
        return 0;
      });
    },
  },
};

/** 90, 90s, 30m, 1h, 2d: seconds; undefined for anything else. */
function lifetimeSeconds(text: string): number | undefined {
  const m = /^(\d{1,7})\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}

function usage(): string {
  return [
    'Usage: npm run cli -- <command> [options]   (after npm run build, or npm start once)',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`),
    '',
    'Each command takes --help. Configuration comes from the environment (README, "Configuration").',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}\n`);
    return 1;
  }
  if (args.includes('--help') || args.includes('-h')) {
    out(`Usage: npm run cli -- ${command.usage}\n\n${command.summary}.\n${command.help}`);
    return 0;
  }
  try {
    return await command.run(args, loadConfig(process.env));
  } catch (error) {
    if (error instanceof NoWorkerError) {
      // Not a usage mistake: the command was right, the system is not running.
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError || error instanceof ConfigError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`${(error as Error).message}\n\nUsage: npm run cli -- ${command.usage}\n`);
      return 1;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
