import { reactive } from 'vue';
import { UserManager, WebStorageStateStore, type User } from 'oidc-client-ts';
import type { Volet1IndicatorView } from '../../../libs/domain/src/entitlement/entitlement-view.type';
import type { JustificatifRow, SasAttestationRow } from '../../../libs/read-models/src/rows';

// The console reads and writes only through the public API (api.md), with the user's token.

export type Role = 'doctor' | 'agent' | 'controller' | 'auditor' | 'admin';

export interface Session {
  token: string;
  role: Role;
  rpps?: string;
  caisse?: string;
  expiresAt: number;
  /** Signed in at the caisse's identity provider (its tokens renewed before they expire), or by the development endpoint. */
  via?: 'oidc' | 'dev';
}

const KEY = 'forfait-console-session';

function load(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return s && s.expiresAt > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export const auth = reactive<{ session: Session | null }>({ session: load() });

/** Forgets the session in this tab (the identity provider's tokens kept by oidc-client-ts too). */
export function signOut(): void {
  sessionStorage.removeItem(KEY);
  auth.session = null;
  manager?.stopSilentRenew();
  manager = null;
  for (const k of Object.keys(sessionStorage)) if (k.startsWith('oidc.')) sessionStorage.removeItem(k);
}

/**
 * "Se déconnecter": signed in through OpenID Connect, the refresh token is revoked (when the
 * provider has a revocation endpoint) and the session ends at the provider too, by its
 * end_session_endpoint (RP-initiated logout; the browser goes there and comes back to the sign-in
 * page); a provider without one: the session ends here only. Answers whether the page is leaving.
 */
export async function signOutEverywhere(): Promise<'provider' | 'local'> {
  const m = auth.session?.via === 'oidc' ? await oidcManager().catch(() => null) : null;
  if (!m) {
    signOut();
    return 'local';
  }
  const endSession = await m.metadataService.getEndSessionEndpoint().catch(() => undefined);
  const revocation = await m.metadataService.getRevocationEndpoint(true).catch(() => undefined);
  if (revocation) await m.revokeTokens(['refresh_token']).catch(() => undefined);
  const user = await m.getUser();
  if (!endSession) {
    signOut();
    return 'local';
  }
  sessionStorage.removeItem(KEY);
  auth.session = null;
  await m.signoutRedirect(user?.id_token ? { id_token_hint: user.id_token } : {});
  return 'provider';
}

/** A refusal of the API, with its stable code and its message (api.md, "Errors"). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The envelope's `details` (a 412's `position`: what a reload must reach to show the newer state). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** A 412 STALE_REVISION's `details.position`, the minPosition of the reload that shows the newer state. */
  get position(): string | undefined {
    return typeof this.details.position === 'string' ? this.details.position : undefined;
  }
}

async function parse<T>(res: Response): Promise<T> {
  const type = res.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const b = (typeof body === 'object' && body !== null ? body : {}) as { code?: string; message?: string; details?: Record<string, unknown> };
    if (res.status === 401) signOut();
    throw new ApiError(res.status, b.code ?? `HTTP_${res.status}`, b.message ?? String(body), typeof b.details === 'object' ? b.details : {});
  }
  return body as T;
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (auth.session) headers.set('Authorization', `Bearer ${auth.session.token}`);
  // A FormData body (a file) lets fetch set its multipart boundary.
  if (init.body && !(init.body instanceof FormData) && !headers.has('content-type')) headers.set('content-type', 'application/json');
  // Every write carries an Idempotency-Key (a write sent through a WriteIntent carries the intent's).
  if (init.method && init.method !== 'GET' && !headers.has('Idempotency-Key')) headers.set('Idempotency-Key', crypto.randomUUID());
  return parse<T>(await fetch(path, { ...init, headers }));
}

/** How often a write whose answer was lost (the network failed) is sent again, with the same key, before the user is told. */
const LOST_ANSWER_RETRIES = 2;

/**
 * One write the user means to make (a form, a decision): every sending of the same request carries
 * the same Idempotency-Key, so a retry after a lost answer (a network failure, a 5xx) is answered
 * as the first sending and appends nothing twice (api.md, "Idempotency-Key"). Once the API has
 * answered (recorded, or refused: a 412 is decided again on the newer state), or when the request
 * changed (another body, another If-Match), the next sending is a new intent with a new key.
 */
export class WriteIntent {
  private current: { request: string; key: string } | null = null;

  /** The key the next sending of this request carries (the same as the last one's while it is unanswered). */
  keyFor(path: string, init: { method?: string; headers?: Record<string, string>; body?: string }): string {
    const request = JSON.stringify([init.method ?? 'POST', path, init.headers ?? {}, init.body ?? null]);
    if (this.current?.request !== request) this.current = { request, key: crypto.randomUUID() };
    return this.current.key;
  }

  async send<T>(path: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<T> {
    const key = this.keyFor(path, init);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const answer = await api<T>(path, {
          method: init.method ?? 'POST',
          headers: { ...init.headers, 'Idempotency-Key': key },
          ...(init.body !== undefined ? { body: init.body } : {}),
        });
        this.current = null;
        return answer;
      } catch (error) {
        // Answered (a refusal below 500): that intent is over. Unanswered: the key is kept for the retry.
        if (error instanceof ApiError && error.status < 500) this.current = null;
        const lost = !(error instanceof ApiError);
        if (!lost || attempt >= LOST_ANSWER_RETRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, 300 * (attempt + 1)));
      }
    }
  }
}

/** A file of the API (a justificatif) as a blob URL, fetched with the token, for the in-page preview. */
export async function apiBlobUrl(path: string, headers: Record<string, string> = {}): Promise<{ url: string; type: string }> {
  const res = await fetch(path, { headers: { ...headers, ...(auth.session ? { Authorization: `Bearer ${auth.session.token}` } : {}) } });
  if (!res.ok) await parse(res);
  const blob = await res.blob();
  return { url: URL.createObjectURL(blob), type: blob.type };
}

/** How this server signs the console in (GET /v1/console/sign-in). */
export interface SignInMethod {
  method: 'oidc' | 'dev' | 'none';
  oidc?: { issuer: string; clientId: string; scopes: string; resource?: string };
  message?: string;
}

export async function signInMethod(): Promise<SignInMethod> {
  return parse<SignInMethod>(await fetch('/v1/console/sign-in'));
}

/** The renewal lead: a token is renewed this long before it expires (oidc-client-ts' accessTokenExpiring). */
const RENEW_BEFORE_S = 60;

/**
 * The console as a public client of the caisse's identity provider: authorization code with PKCE
 * (S256); its access token renewed with the refresh token before it expires (automaticSilentRenew,
 * which uses the refresh token when the provider gave one).
 */
function oidcClient(oidc: NonNullable<SignInMethod['oidc']>): UserManager {
  return new UserManager({
    authority: oidc.issuer,
    client_id: oidc.clientId,
    redirect_uri: `${location.origin}/console/connexion/retour`,
    post_logout_redirect_uri: `${location.origin}/console/connexion`,
    response_type: 'code',
    scope: oidc.scopes,
    ...(oidc.resource ? { resource: oidc.resource } : {}),
    loadUserInfo: false,
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: RENEW_BEFORE_S,
    revokeTokenTypes: ['refresh_token'],
    userStore: new WebStorageStateStore({ store: sessionStorage }),
    stateStore: new WebStorageStateStore({ store: sessionStorage }),
  });
}

let manager: UserManager | null = null;

/** This tab's client of the identity provider, made once (its renewal timer runs while the tab is open). */
async function oidcManager(): Promise<UserManager> {
  if (manager) return manager;
  const m = await signInMethod();
  if (m.method !== 'oidc' || !m.oidc) throw new ApiError(404, 'OIDC_NOT_CONFIGURED', 'la connexion OpenID Connect n’est pas configurée sur ce serveur');
  const made = oidcClient(m.oidc);
  // A renewed token replaces the session's: the next API call carries it.
  made.events.addUserLoaded((user) => {
    if (auth.session?.via === 'oidc') keep({ ...auth.session, token: user.access_token, expiresAt: expiresAtOf(user) });
  });
  manager = made;
  return made;
}

const expiresAtOf = (user: User) => (user.expires_at ?? Math.floor(Date.now() / 1000) + 300) * 1000 - 30_000;

function keep(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
  auth.session = session;
}

/** On the console's start: a session signed in through the provider keeps being renewed after a reload. */
export async function resumeOidc(): Promise<void> {
  if (auth.session?.via === 'oidc') await oidcManager().catch(() => undefined);
}

/** Leaves for the identity provider's sign-in page (the code verifier stays in this tab's sessionStorage). */
export async function signInOidc(): Promise<void> {
  await (await oidcManager()).signinRedirect();
}

/** Back on the sign-in page from the provider's end of session: its state consumed. */
export async function completeOidcSignOut(): Promise<void> {
  if (!new URLSearchParams(location.search).has('state')) return;
  try {
    await (await oidcManager()).signoutRedirectCallback();
  } catch {
    // Nothing kept for it (another tab's, or the page reloaded): nothing to do.
  }
  history.replaceState(null, '', location.pathname);
}

/**
 * Back from the identity provider: the code exchanged for tokens (with the PKCE verifier), then the
 * API says who the access token is for (GET /v1/console/me, after its claim mapping).
 */
export async function completeOidcSignIn(): Promise<Session> {
  const user = await (await oidcManager()).signinRedirectCallback();
  const res = await fetch('/v1/console/me', { headers: { Authorization: `Bearer ${user.access_token}` } });
  const me = await parse<{ role: Role; rpps?: string; caisse?: string }>(res);
  const session: Session = {
    token: user.access_token,
    role: me.role,
    ...(me.rpps ? { rpps: me.rpps } : {}),
    ...(me.caisse ? { caisse: me.caisse } : {}),
    expiresAt: expiresAtOf(user),
    via: 'oidc',
  };
  keep(session);
  return session;
}

/** Where each role lands after signing in. */
export function homeOf(s: Session): string {
  if (s.role === 'agent') return '/justificatifs';
  if (s.role === 'doctor') return `/medecins/${s.rpps}/2023`;
  return '/medecins';
}

/** Development sign-in (POST /v1/dev/tokens); absent in production, where OpenID Connect is used. */
export async function signInDev(claims: { role: Role; rpps?: string; caisse?: string }): Promise<Session> {
  const res = await fetch('/v1/dev/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(claims) });
  const body = await parse<{ token: string; expiresIn: number; role: Role; rpps?: string; caisse?: string }>(res);
  const session: Session = {
    token: body.token,
    role: body.role,
    ...(body.rpps ? { rpps: body.rpps } : {}),
    ...(body.caisse ? { caisse: body.caisse } : {}),
    expiresAt: Date.now() + (body.expiresIn - 30) * 1000,
    via: 'dev',
  };
  keep(session);
  return session;
}

// The API's shapes the console reads (api.md, "Queries"); the read models' rows are theirs (type-only: nothing of libs is bundled).
export type { DoctorRow } from '../../../libs/read-models/src/rows';
/** One item of the worklist (GET /v1/justificatifs): a doctor's justificatif, or a CPTS SAS attestation listing every doctor it covers; its `revision` is the If-Match of its decision. */
export type JustificatifItem = (JustificatifRow & { kind: 'justificatif' }) | SasAttestationRow;
export type { EntitlementView as Entitlement } from '../../../libs/domain/src/entitlement/entitlement-view.type';
/** An indicator of either volet (volet 2's have points). */
export type IndicatorView = Volet1IndicatorView & { points?: number };
export interface HistoryEvent {
  eventId: string;
  streamId: string;
  revision: number;
  position: string;
  type: string;
  recordedAt: string;
  effectiveAt: string;
  actor: { sub: string; role: string; caisse?: string; rpps?: string };
  onBehalfOf: string | null;
  channel: string;
  data: Record<string, unknown>;
  hash: string;
}
export interface DiffChange {
  code: string;
  field: string;
  before: unknown;
  after: unknown;
  eventIds: string[];
}

/** GET …/entitlement/explanation: why each euro is due, per indicator (an extension of api.md). */
export interface Explanation {
  knownAt: string;
  ruleset: string;
  rulesetVersion: string;
  pointValueCents: number;
  volet1: { met: boolean; rule: string };
  indicators: {
    code: string;
    volet: 1 | 2;
    label: string;
    met: boolean;
    points: number;
    pointsExact: string;
    euroCents: number | null;
    reason: string;
    rule: { parameters: Record<string, unknown>; sources: { source: string; ref: string; note?: string }[] };
    evidence: { eventId: string; type: string | null; recordedAt: string | null; effectiveAt: string | null; channel: string | null }[];
  }[];
  totalPointsExact: string;
  amountCents: number;
}
