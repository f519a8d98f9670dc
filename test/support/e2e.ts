import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig, signDevToken } from '@forfait/platform';
import { startSystem, type StartedSystem } from '../../apps/api/src/bootstrap';
import { dropSchemas } from './servers';

// What the end-to-end tests share: the system started on a store of the test's own, dev tokens,
// requests to the API, and Debian's chromium for the console.

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The shared PostgreSQL the tests make their schemas on (never its other schemas). */
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name of this run's own: `prefix`, the pid and random hex. */
export const schemaName = (prefix: string): string => `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;

export type Claims = Parameters<typeof signDevToken>[1];

/** Development tokens (HS256 with `secret`), one per name of `claims`. */
export async function mintTokens<K extends string>(secret: string, claims: Record<K, Claims>): Promise<Record<K, string>> {
  const entries = await Promise.all(Object.entries<Claims>(claims).map(async ([name, c]) => [name, await signDevToken(secret, c)] as const));
  return Object.fromEntries(entries) as Record<K, string>;
}

export interface Answer {
  status: number;
  /** The answer's JSON; `{}` when it has no body. */
  body: Json;
  headers: Headers;
  ms: number;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** The content type of a string body (a JSON body says application/json, FormData its own). */
  contentType?: string;
  /** Abort after this long: a hang fails at the request, not at the test's timeout. */
  timeoutMs?: number;
}

/**
 * One request to the API at `base`: `body` sent as JSON, or as it is when FormData or a string;
 * `bearer` in the authorization header when there is one.
 */
export async function request(
  base: string,
  method: string,
  path: string,
  bearer: string | null | undefined,
  body?: unknown,
  options: CallOptions = {},
): Promise<Answer> {
  const started = Date.now();
  const raw = body === undefined || body instanceof FormData || typeof body === 'string';
  const contentType =
    body === undefined || body instanceof FormData ? undefined : typeof body === 'string' ? (options.contentType ?? 'text/plain') : 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(contentType ? { 'content-type': contentType } : {}), ...options.headers },
    body: raw ? body : JSON.stringify(body),
    ...(options.timeoutMs ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json, headers: res.headers, ms: Date.now() - started };
}

/**
 * A refused request: the status and stable code expected, the error's body as api.md gives it, and
 * not one event written (the store's head where it was).
 */
export async function expectRefused(
  head: () => Promise<bigint>,
  status: number,
  code: string,
  send: () => Promise<{ status: number; body: Json }>,
): Promise<Json> {
  const before = await head();
  const res = await send();
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.body).toMatchObject({ statusCode: status, code, message: expect.any(String), error: expect.any(String) });
  expect(await head()).toBe(before);
  return res.body;
}

/** Waits (20 s at most) until the log served at `url` has a signed checkpoint of at least `size` entries (LOG_PUBLIC: no token). */
export async function sealed(url: string, size: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${url}/v1/log/checkpoint`);
    if (res.status === 200 && Number((await res.text()).split('\n')[1]) >= size) return;
    if (Date.now() > deadline) throw new Error(`log not sealed up to ${size} within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The system under test, as the tests start it: its own port, no demo, no log output, `env` over that. */
export const startTestSystem = (env: Record<string, string>): Promise<StartedSystem> =>
  startSystem(loadConfig({ PORT: '0', SEED_DEMO: 'false', ...env }), { logger: false });

/**
 * The system on a schema of its own on the shared PostgreSQL and a data dir of its own, (re)started
 * by `at(clock)` as often as a test moves its clock on; `close()` stops it and drops both.
 */
export class PgTestSystem {
  readonly schema: string;
  readonly dataDir: string;
  system: StartedSystem | undefined;
  constructor(
    prefix: string,
    private readonly env: Record<string, string>,
  ) {
    this.schema = schemaName(prefix);
    this.dataDir = mkdtempSync(join(tmpdir(), `forfait-${prefix}-`));
  }
  get url(): string {
    if (!this.system) throw new Error('the system is not started');
    return this.system.url;
  }
  get running(): StartedSystem {
    if (!this.system) throw new Error('the system is not started');
    return this.system;
  }
  /** Starts the system (stopping the one running) with CLOCK at `clock` when given. */
  async at(clock?: string): Promise<StartedSystem> {
    await this.system?.close();
    this.system = await startTestSystem({
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: this.schema,
      DATA_DIR: this.dataDir,
      ...this.env,
      ...(clock ? { CLOCK: clock } : {}),
    });
    return this.system;
  }
  async close(): Promise<void> {
    await this.system?.close();
    this.system = undefined;
    await dropSchemas(DATABASE_URL, this.schema, `${this.schema}_rm`);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

// The console in Debian's chromium, driven by playwright-core.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The README's screenshots are refreshed with UPDATE_SCREENSHOTS=1; an ordinary run writes its own under the OS temp dir (a clean tree after npm test). */
export const SHOTS =
  process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'screenshots') : join(tmpdir(), 'forfait-console-screenshots');

/**
 * `describe` when chromium is installed. Without it the tests are skipped said out loud, never a
 * silent pass, and REQUIRE_BROWSER=1 (CI) makes that a failure.
 */
export function describeWithBrowser(what: string): jest.Describe {
  if (existsSync(CHROMIUM)) return describe;
  const message = `${what} SKIPPED: no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(`${message}; REQUIRE_BROWSER=1 makes this a failure`);
  console.warn(message);
  return describe.skip;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested outside `allowed` origins (blob: and data: are the page's own). */
  outside: string[];
  close(): Promise<void>;
}

/**
 * Chromium, headless, at Paris time, on a profile of its own; requests outside `allowed()` are
 * recorded. In French unless `locale` says otherwise (the console test runs an English browser:
 * the console is French whatever the browser says).
 */
export async function openChromium(allowed: () => string[], { locale = 'fr-FR' }: { locale?: string } = {}): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  const profileDir = mkdtempSync(join(tmpdir(), 'forfait-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--lang=${locale}`,
    ],
    viewport: { width: 1280, height: 860 },
    locale,
    timezoneId: 'Europe/Paris',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const outside: string[] = [];
  page.on('request', (r) => {
    if (![...allowed(), 'blob:', 'data:'].some((p) => r.url().startsWith(p))) outside.push(r.url());
  });
  return {
    context,
    page,
    outside,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core on the page as it stands: its serious and critical violations (none is the expectation). */
export async function blockingViolations(page: Page): Promise<{ id: string; impact: string; targets: string[] }[]> {
  // The page at rest: a select's menu still closing (its fading overlay over the table below) made
  // axe measure the table's headers through it (color-contrast on a worklist, seen on CI). Waited
  // for, bounded: a page that never settles is checked as it stands.
  await page
    .waitForFunction(
      `document.getAnimations().every((a) => a.playState !== 'running') && document.querySelector('.v-menu > .v-overlay__content') === null`,
      undefined,
      { timeout: 5000 },
    )
    .catch(() => undefined);
  await page.addScriptTag({ content: AXE_SOURCE });
  // A string run in the page (this test's program has no DOM types).
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- page.evaluate of a string is typed by its type argument; the cast names what axe answers
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`)) as {
    id: string;
    impact: string;
    targets: string[];
  }[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
