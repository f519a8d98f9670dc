import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startApi } from './api-process';
import { withSection } from './page-sections';
import { machine, stat, type Stat } from './stats';

/**
 * The console's figure of `npm run bench` (issue 21.7): a doctor-year of 500 events rendered in
 * Debian's chromium (playwright-core), from navigation to the entitlement and the whole timeline
 * on screen, beside two peers of the same run: the same API answers fetched by Node alone, and the
 * console's sign-in screen (the bundle without data). Its own section of docs/benchmarks.md,
 * between markers, so that `--only console` rewrites that section only.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const GP = '10000000017';
const TARGET_EVENTS = 500;

export const CONSOLE_START = '<!-- console:start -->';
export const CONSOLE_END = '<!-- console:end -->';
const log = (line: string) => process.stderr.write(`[bench console] ${line}\n`);

export interface ConsoleRenderResult {
  at: string;
  events: number;
  runs: number;
  renderMs: Stat;
  apiOnlyMs: Stat;
  signInPageMs: Stat;
}

export async function benchConsoleRender(runs = 7): Promise<ConsoleRenderResult> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH): the console figure needs it`);
  const dataDir = mkdtempSync(join(tmpdir(), 'forfait-bench-console-'));
  const profile = mkdtempSync(join(tmpdir(), 'forfait-bench-chromium-'));
  // The built API in a process of its own, as `npm start` runs it, with the demo at its clock.
  const system = await startApi(
    { DATA_DIR: dataDir, SEED_DEMO: 'true', CLOCK: '2024-01-20T10:00:00+01:00', NODE_ENV: 'development', RUN_PROJECTOR: 'true' },
    Number(process.env.BENCH_CONSOLE_PORT ?? 3996),
  );
  try {
    const token = async (claims: Record<string, string>) => {
      const res = await fetch(`${system.url}/v1/dev/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(claims) });
      if (res.status !== 201) throw new Error(`dev token: ${res.status}`);
      return (await res.json()) as { token: string; expiresIn: number; role: string; caisse?: string };
    };
    const doctor = (await token({ role: 'doctor', rpps: GP })).token;
    const controller = await token({ role: 'controller', caisse: '441' });
    const auth = { authorization: `Bearer ${controller.token}` };
    const historyUrl = `${system.url}/v1/doctors/${GP}/history?year=2023`;
    const count = async () => ((await (await fetch(historyUrl, { headers: auth })).json()) as { events: unknown[] }).events.length;
    // The doctor answers again and again (each a correction, kept in the history) up to 500 events.
    let events = await count();
    log(`demo doctor-year: ${events} events; declaring up to ${TARGET_EVENTS}`);
    const codes = ['V2_VIDEO', 'V2_CODAGE', 'V2_MAITRE_STAGE'];
    for (let i = 0; events < TARGET_EVENTS; i += 1) {
      const res = await fetch(`${system.url}/v1/doctors/${GP}/campaigns/2023/declarations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${doctor}`, 'content-type': 'application/json' },
        body: JSON.stringify({ indicator: codes[i % codes.length], value: { answer: i % 2 === 0 }, attestation: true }),
      });
      if (res.status !== 201) throw new Error(`declaration ${i}: ${res.status} ${await res.text()}`);
      events += 1;
    }
    events = await count();
    log(`doctor-year of ${events} events`);

    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--lang=fr-FR',
      ],
      viewport: { width: 1280, height: 860 },
      locale: 'fr-FR',
      timezoneId: 'Europe/Paris',
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const session = JSON.stringify({
        token: controller.token,
        role: controller.role,
        caisse: controller.caisse,
        expiresAt: Date.now() + (controller.expiresIn - 30) * 1000,
      });
      await context.addInitScript(`sessionStorage.setItem('forfait-console-session', ${JSON.stringify(session)})`);
      const render: number[] = [];
      const signIn: number[] = [];
      const apiOnly: number[] = [];
      // One warm-up of each (the browser's cache of the bundle, the server's first queries), then the runs.
      for (let run = -1; run < runs; run += 1) {
        await page.goto('about:blank');
        await page.goto(`${system.url}/console/medecins/${GP}/2023`);
        await page.waitForFunction(
          `document.querySelectorAll('[data-testid="timeline"] > li').length >= ${events} && /€/.test(document.querySelector('[data-testid="amount"]')?.textContent ?? '')`,
          undefined,
          { timeout: 60_000, polling: 'raf' },
        );
        const ms = await page.evaluate<number>('performance.now()');
        await page.goto('about:blank');
        await page.goto(`${system.url}/console/connexion`);
        await page.waitForFunction(`document.querySelector('#main h1')?.textContent?.includes('Connexion')`, undefined, { timeout: 60_000, polling: 'raf' });
        const blank = await page.evaluate<number>('performance.now()');
        const t0 = performance.now();
        await Promise.all([
          fetch(historyUrl, { headers: auth }).then((r) => r.json()),
          fetch(`${system.url}/v1/doctors/${GP}/campaigns/2023/entitlement`, { headers: auth }).then((r) => r.json()),
        ]);
        const api = performance.now() - t0;
        if (run >= 0) {
          render.push(ms);
          signIn.push(blank);
          apiOnly.push(api);
          log(`run ${run + 1}/${runs}: page ${ms.toFixed(0)} ms, sign-in screen ${blank.toFixed(0)} ms, API alone ${api.toFixed(0)} ms`);
        }
      }
      return { at: new Date().toISOString(), events, runs, renderMs: stat(render), apiOnlyMs: stat(apiOnly), signInPageMs: stat(signIn) };
    } finally {
      await context.close();
    }
  } finally {
    await system.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

const fmt = (n: number) => n.toLocaleString('fr-FR', { maximumFractionDigits: 0 }).replace(/\u202f/g, ' ');
const f = (s: Stat) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;

export function consoleMarkdown(r: ConsoleRenderResult, commit: string): string {
  return [
    CONSOLE_START,
    '## Console: a doctor-year of 500 events in the browser',
    '',
    `- Date: ${r.at}; commit ${commit}`,
    `- Machine: ${machine()}; Debian chromium (headless, playwright-core)`,
    `- Median of ${r.runs} runs after one warm-up, (min–max) beside it; the embedded store with the demo, the demo doctor's doctor-year brought to ${r.events} events by repeated declarations.`,
    '- Measured from the navigation start (`performance.now()` in the page) to the entitlement amount and every event of the timeline in the DOM.',
    '',
    '| Figure | Measured | Peer (same run) | Target |',
    '|---|---|---|---|',
    `| Doctor-year page of ${r.events} events, navigation to rendered (ms) | ${f(r.renderMs)} | the console's sign-in screen (bundle, no data): ${f(r.signInPageMs)}; the page's two API answers fetched by Node alone: ${f(r.apiOnlyMs)} | under 1 000 ms: ${r.renderMs.median < 1000 ? 'met' : 'NOT met'} (median) |`,
    CONSOLE_END,
  ].join('\n');
}

/** Writes the console's section of docs/benchmarks.md in place (added at the end when absent). */
export function writeConsoleSection(path: string, section: string): void {
  const page = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  writeFileSync(path, withSection(page, section, CONSOLE_START, CONSOLE_END));
}
