// A real OpenID Connect provider (the `oidc-provider` package) for the console's sign-in test: the
// console is a public client (authorization code with PKCE, S256), its access tokens are JWTs for
// the API's resource (RFC 8707, RFC 9068) carrying the claims the API maps (docs/oidc.md).
// Refresh tokens renew the access token before it expires (ACCESS_TOKEN_TTL seconds, 600 by
// default; the test shortens it so that a renewal happens while it runs); revocation and
// RP-initiated logout end the session (its confirmation page in French, nothing fetched from outside).
// Usage: CONSOLE_ORIGIN=http://127.0.0.1:PORT RESOURCE=<uri> [ACCESS_TOKEN_TTL=s] node test/support/oidc-test-provider.mjs
// It prints one JSON line {"issuer": …} once it listens, and serves until killed.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const consoleOrigin = process.env.CONSOLE_ORIGIN;
const resource = process.env.RESOURCE;
if (!consoleOrigin || !resource) throw new Error('CONSOLE_ORIGIN and RESOURCE are required');
const accessTokenTtl = Number(process.env.ACCESS_TOKEN_TTL ?? 600);

// The test's people, by login: what the caisse's directory would say about them.
const ACCOUNTS = {
  'controleur-441': { name: 'Camille Contrôle', role: 'controller', caisse: '441' },
  'agent-751': { name: 'Alex Guichet', role: 'agent', caisse: '751' },
  enqueteur: { name: 'Dominique Enquête', role: 'auditor' },
  // A directory entry without the role claim: the API refuses its token (401).
  'sans-role': { name: 'Sans Rôle' },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-' + randomBytes(4).toString('hex'), use: 'sig', alg: 'RS256' };

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'forfait-console',
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [`${consoleOrigin}/console/connexion/retour`],
      post_logout_redirect_uris: [`${consoleOrigin}/console/connexion`],
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'profile'],
  claims: { openid: ['sub'], profile: ['name'] },
  ttl: { AccessToken: accessTokenTtl, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 3600 },
  // The console (a public client) gets a refresh token with its code, without asking offline_access:
  // it renews its access token while the tab is open; sign-out revokes it.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  pkce: { required: () => true },
  clientBasedCORS: (_ctx, origin) => origin === consoleOrigin,
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Fournisseur d’identité de test</title></head><body><main>
<h1>Se déconnecter du fournisseur d’identité ?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Oui, me déconnecter</button>
<button type="submit" form="op.logoutForm">Non, rester connecté</button></main></body></html>`;
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return { scope: 'forfait', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: accessTokenTtl, jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  async findAccount(_ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, claims: () => ({ sub: id, name: account.name }) };
  },
  // The access token for the API carries the directory's role, caisse and RPPS.
  extraTokenClaims(_ctx, token) {
    const { name: _name, ...claims } = ACCOUNTS[token.accountId] ?? {};
    return claims;
  },
  // The console is the caisse's own application: no consent screen.
  async loadExistingGrant(ctx) {
    const existing = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile');
    grant.addResourceScope(resource, 'forfait');
    await grant.save();
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, error) {
  const options = Object.entries(ACCOUNTS)
    .map(
      ([id, a], i) =>
        `<p><input type="radio" name="login" id="a${i}" value="${escape(id)}"${i === 0 ? ' checked' : ''}><label for="a${i}">${escape(a.name)} (${escape(id)})</label></p>`,
    )
    .join('');
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Fournisseur d’identité de test</title></head><body><main>
<h1>Fournisseur d’identité de test</h1><p>Identifiez-vous pour accéder à la console du forfait structure.</p>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login"><fieldset><legend>Compte</legend>${options}</fieldset>
<p><label for="password">Mot de passe</label> <input type="password" id="password" name="password" required></p>
<button type="submit">S’identifier</button></form></main></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec(req.url ?? '');
  if (!m) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(details.uid));
      return;
    }
    const form = await readForm(req);
    const login = form.get('login') ?? '';
    if (!ACCOUNTS[login] || form.get('password') !== 'test') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(details.uid, 'Identifiant ou mot de passe incorrect.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  } catch (error) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(String(error));
  }
});

process.stdout.write(JSON.stringify({ issuer }) + '\n');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
