import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Page } from 'playwright-core';
import { loadConfig } from '@forfait/platform';
import { generateSignerKey } from '@forfait/store';
import { startSystem, type StartedSystem } from '../apps/api/src/bootstrap';
import { SHOTS, blockingViolations, describeWithBrowser, openChromium, type Browser } from './support/e2e';

// Production sign-in (docs/oidc.md): the console, in Debian's chromium, signs in through a real
// OpenID Connect provider (the `oidc-provider` package, run by this test in its own process) with
// the authorization code and PKCE; the API, with NODE_ENV=production, verifies the provider's
// tokens by the JWKS its discovery names, maps their claims, and refuses the development endpoint.

const RESOURCE = 'urn:forfait-structure:api';
// The provider's access tokens live 75 s and the console renews them 60 s before they expire: a
// renewal every 15 s or so while the test runs.
const ACCESS_TOKEN_TTL = 75;

const describeIfBrowser = describeWithBrowser('console OIDC browser tests');

/** A port free now, for the API: the provider must know the console's redirect URI before the API starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describeIfBrowser('the console signs in through the caisse’s OpenID Connect provider (production)', () => {
  let dataDir: string;
  let provider: ChildProcess;
  let issuer: string;
  let system: StartedSystem;
  let browser: Browser;
  let page: Page;
  const authorizeRequests: string[] = [];
  /** The form bodies the console posted to the provider's token and revocation endpoints. */
  const tokenRequests: string[] = [];
  const revocations: string[] = [];

  /** The console's session as this tab keeps it, with its access token's claims. */
  async function session(): Promise<{ token: string; exp: number }> {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- page.evaluate of a string: the cast names what sessionStorage held
    const s = JSON.parse((await page.evaluate(`sessionStorage.getItem('forfait-console-session')`)) as string) as { token: string };
    const claims = JSON.parse(Buffer.from(s.token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number };
    return { token: s.token, exp: claims.exp };
  }

  async function expectAccessible(screen: string): Promise<void> {
    expect({ screen, blocking: await blockingViolations(page) }).toEqual({ screen, blocking: [] });
  }

  beforeAll(async () => {
    const port = await freePort();
    const origin = `http://localhost:${port}`; // as startSystem names its URL
    provider = spawn(process.execPath, [join(__dirname, 'support', 'oidc-test-provider.mjs')], {
      env: { ...process.env, CONSOLE_ORIGIN: origin, RESOURCE, ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    issuer = await new Promise<string>((resolve, reject) => {
      provider.once('exit', (code) => reject(new Error(`the OIDC provider exited (${code})`)));
      createInterface({ input: provider.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { issuer: string }).issuer));
    });
    dataDir = mkdtempSync(join(tmpdir(), 'forfait-oidc-'));
    system = await startSystem(
      loadConfig({
        NODE_ENV: 'production',
        DATA_DIR: dataDir,
        PORT: String(port),
        SEED_DEMO: 'true',
        LOG_SIGNING_KEY: generateSignerKey('caisse.test/log'),
        OIDC_ISSUER: issuer,
        OIDC_CLIENT_ID: 'forfait-console',
        OIDC_SCOPES: 'openid profile forfait',
        OIDC_RESOURCE: RESOURCE,
      }),
      { logger: false },
    );
    expect(system.url).toBe(origin);
    // The console's origin and the identity provider's: nothing else is fetched.
    browser = await openChromium(() => [system.url, issuer]);
    page = browser.page;
    page.on('request', (r) => {
      if (r.url().startsWith(`${issuer}/auth?`)) authorizeRequests.push(r.url());
      if (r.method() === 'POST' && r.url() === `${issuer}/token`) tokenRequests.push(r.postData() ?? '');
      if (r.method() === 'POST' && r.url() === `${issuer}/token/revocation`) revocations.push(r.postData() ?? '');
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await system?.close();
    provider?.kill('SIGTERM');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('the development endpoint is refused and the console offers the caisse’s provider', async () => {
    const dev = await fetch(`${system.url}/v1/dev/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'admin' }),
    });
    expect(dev.status).toBe(404);
    expect(await fetch(`${system.url}/v1/console/sign-in`).then((r) => r.json())).toEqual({
      method: 'oidc',
      oidc: { issuer, clientId: 'forfait-console', scopes: 'openid profile forfait', resource: RESOURCE },
    });
    expect((await fetch(`${system.url}/v1/console/me`)).status).toBe(401);

    await page.goto(`${system.url}/console/`);
    await page.getByRole('heading', { level: 1, name: 'Connexion à la console' }).waitFor();
    await page.getByTestId('issuer').filter({ hasText: issuer }).waitFor();
    await expect(page.getByRole('radio').count()).resolves.toBe(0); // no role picker in production
    await expectAccessible('connexion-oidc');
    await page.screenshot({ path: join(SHOTS, '14-connexion-oidc.png'), animations: 'disabled' });
  });

  it('a controller signs in at the provider (code + PKCE), lands on the search of caisse 441, and the API answers with the provider’s token', async () => {
    await page.getByRole('button', { name: 'Se connecter avec le compte de la caisse' }).click();
    await page.getByRole('heading', { level: 1, name: 'Fournisseur d’identité de test' }).waitFor();
    expect(new URL(page.url()).origin).toBe(issuer);
    // The authorization request the console made: the code flow with a PKCE challenge (S256) and the API's resource.
    const request = new URL(authorizeRequests[0]!);
    expect(
      Object.fromEntries(['response_type', 'client_id', 'code_challenge_method', 'resource', 'scope'].map((k) => [k, request.searchParams.get(k)])),
    ).toEqual({
      response_type: 'code',
      client_id: 'forfait-console',
      code_challenge_method: 'S256',
      resource: RESOURCE,
      scope: 'openid profile forfait',
    });
    expect(request.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.getByLabel('Camille Contrôle (controleur-441)').check();
    await page.getByLabel('Mot de passe').fill('faux');
    await page.getByRole('button', { name: 'S’identifier' }).click();
    await page.getByRole('alert').filter({ hasText: 'Identifiant ou mot de passe incorrect.' }).waitFor();
    await page.getByLabel('Camille Contrôle (controleur-441)').check();
    await page.getByLabel('Mot de passe').fill('test');
    await page.getByRole('button', { name: 'S’identifier' }).click();

    await page.getByRole('heading', { level: 1, name: 'Rechercher un médecin' }).waitFor();
    await expect(page.getByTestId('who').textContent()).resolves.toBe('Contrôleur de la caisse — caisse 441');
    await page.getByText('1 médecin trouvé').waitFor();
    await expectAccessible('medecins-oidc');
    await page.screenshot({ path: join(SHOTS, '15-connecte-oidc.png'), animations: 'disabled' });

    // The token the console holds is the provider's: RS256, for the API's resource, with the mapped claims.
    const session = JSON.parse(await page.evaluate<string>(`sessionStorage.getItem('forfait-console-session')`)) as { token: string };
    const [header, payload] = session.token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: issuer, aud: RESOURCE, sub: 'controleur-441', role: 'controller', caisse: '441' });
    const me = await fetch(`${system.url}/v1/console/me`, { headers: { authorization: `Bearer ${session.token}` } });
    expect([me.status, await me.json()]).toEqual([200, { sub: 'controleur-441', role: 'controller', caisse: '441' }]);
    // Its scope holds: another caisse's doctors are refused.
    expect((await fetch(`${system.url}/v1/doctors?caisse=751`, { headers: { authorization: `Bearer ${session.token}` } })).status).toBe(403);
    // A token whose signature is not the provider's is refused.
    const forged = `${session.token.split('.').slice(0, 2).join('.')}.${Buffer.from('not the signature').toString('base64url')}`;
    expect((await fetch(`${system.url}/v1/console/me`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    expect(browser.outside).toEqual([]);
  });

  it('the console renews its access token with the refresh token before it expires, across a reload too', async () => {
    const first = await session();
    // Renewed before it expires (60 s ahead of its 75 s), by the refresh token grant, without leaving the page.
    await page.waitForFunction(`JSON.parse(sessionStorage.getItem('forfait-console-session')).token !== ${JSON.stringify(first.token)}`, undefined, {
      timeout: 45_000,
    });
    const second = await session();
    expect(second.exp).toBeGreaterThan(first.exp);
    expect(second.exp * 1000).toBeGreaterThan(Date.now() + 30_000);
    expect(tokenRequests.filter((body) => new URLSearchParams(body).get('grant_type') === 'refresh_token').length).toBeGreaterThanOrEqual(1);
    expect(new URL(page.url()).pathname).toBe('/console/medecins');
    // The API takes the renewed token: the next screen's calls carry it.
    const sent: string[] = [];
    const onRequest = (r: { url(): string; headers(): Record<string, string> }) => {
      if (r.url().startsWith(`${system.url}/v1/doctors`)) sent.push(r.headers().authorization ?? '');
    };
    page.on('request', onRequest);
    await page.reload();
    await page.getByText('1 médecin trouvé').waitFor();
    page.off('request', onRequest);
    expect(sent.at(-1)).toBe(`Bearer ${(await session()).token}`);
    // After the reload the renewal goes on.
    const third = await session();
    await page.waitForFunction(`JSON.parse(sessionStorage.getItem('forfait-console-session')).token !== ${JSON.stringify(third.token)}`, undefined, {
      timeout: 45_000,
    });
    expect((await session()).exp).toBeGreaterThan(third.exp);
    await expect(page.getByTestId('who').textContent()).resolves.toBe('Contrôleur de la caisse — caisse 441');
    expect(browser.outside).toEqual([]);
  }, 120_000);

  it('signing out revokes the refresh token and ends the session at the provider (its end_session_endpoint)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- page.evaluate of a string: the cast names what sessionStorage held
    const kept = JSON.parse((await page.evaluate(`sessionStorage.getItem('oidc.user:${issuer}:forfait-console')`)) as string) as {
      refresh_token: string;
      id_token: string;
    };
    expect(kept.refresh_token).toEqual(expect.any(String));
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    // The provider asks (its RP-initiated logout page), then sends the browser back to the sign-in page.
    await page.getByRole('heading', { level: 1, name: 'Se déconnecter du fournisseur d’identité ?' }).waitFor();
    expect(new URL(page.url()).origin).toBe(issuer);
    await expect(page.evaluate(`sessionStorage.getItem('forfait-console-session')`)).resolves.toBeNull();
    await page.getByRole('button', { name: 'Oui, me déconnecter' }).click();
    await page.getByRole('heading', { level: 1, name: 'Connexion à la console' }).waitFor();
    expect(page.url()).toBe(`${system.url}/console/connexion`);
    await expect(page.evaluate(`Object.keys(sessionStorage).filter((k) => k.startsWith('oidc.user'))`)).resolves.toEqual([]);
    // The refresh token was revoked: the provider refuses it now.
    expect(revocations.map((body) => new URLSearchParams(body).get('token_type_hint'))).toEqual(['refresh_token']);
    const reuse = await fetch(`${issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: kept.refresh_token, client_id: 'forfait-console' }),
    });
    expect([reuse.status, ((await reuse.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
    await expectAccessible('deconnexion-oidc');
  });

  it('an account the directory gives no role is refused with the reason, and no session is kept', async () => {
    // The provider's session ended with the sign-out: its sign-in page is shown again (no cookie cleared by the test).
    await page.getByRole('button', { name: 'Se connecter avec le compte de la caisse' }).click();
    await page.getByRole('heading', { level: 1, name: 'Fournisseur d’identité de test' }).waitFor();
    await page.getByLabel('Sans Rôle (sans-role)').check();
    await page.getByLabel('Mot de passe').fill('test');
    await page.getByRole('button', { name: 'S’identifier' }).click();
    await page
      .getByTestId('sign-in-error')
      .filter({ hasText: /rôle du jeton inconnu .*\(UNAUTHENTICATED\)/ })
      .waitFor();
    await expect(page.evaluate(`sessionStorage.getItem('forfait-console-session')`)).resolves.toBeNull();
    await expectAccessible('connexion-refusee');
    await page.screenshot({ path: join(SHOTS, '23-connexion-oidc-refusee.png'), animations: 'disabled' });
  });

  it('a provider without end_session_endpoint: signing out revokes the refresh token and ends the session in the console only', async () => {
    // The discovery the browser reads has no end_session_endpoint (the API's own reading is untouched).
    await page.route(`${issuer}/.well-known/openid-configuration`, async (route) => {
      const res = await route.fetch();
      const { end_session_endpoint: _dropped, ...discovery } = (await res.json()) as Record<string, unknown>;
      await route.fulfill({ response: res, json: discovery });
    });
    await browser.context.clearCookies(); // the account without a role leaves the provider
    await page.goto(`${system.url}/console/connexion`);
    await page.getByRole('button', { name: 'Se connecter avec le compte de la caisse' }).click();
    await page.getByRole('heading', { level: 1, name: 'Fournisseur d’identité de test' }).waitFor();
    await page.getByLabel('Camille Contrôle (controleur-441)').check();
    await page.getByLabel('Mot de passe').fill('test');
    await page.getByRole('button', { name: 'S’identifier' }).click();
    await page.getByRole('heading', { level: 1, name: 'Rechercher un médecin' }).waitFor();
    const revoked = revocations.length;
    const visited: string[] = [];
    page.on('framenavigated', (frame) => visited.push(frame.url()));
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.getByRole('heading', { level: 1, name: 'Connexion à la console' }).waitFor();
    expect(visited.filter((url) => url.startsWith(issuer))).toEqual([]); // never left for the provider
    await expect(
      page.evaluate(`[sessionStorage.getItem('forfait-console-session'), Object.keys(sessionStorage).filter((k) => k.startsWith('oidc.user'))]`),
    ).resolves.toEqual([null, []]);
    expect(revocations.length).toBe(revoked + 1);
    // Nothing left to call the API with: a screen behind the sign-in leads back to it.
    await page.goto(`${system.url}/console/medecins`);
    await page.getByRole('heading', { level: 1, name: 'Connexion à la console' }).waitFor();
    await page.unroute(`${issuer}/.well-known/openid-configuration`);
  });
});
