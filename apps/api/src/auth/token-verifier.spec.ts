import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { UnauthenticatedError } from './auth.errors';
import { signDevToken, TokenVerifier } from './token-verifier';

const SECRET = 'unit-secret-unit-secret-unit-secret-0123';

describe('token verification', () => {
  it('HS256: accepts the secret’s tokens with their claims, refuses other secrets, expired tokens and bad claims', async () => {
    const verifier = new TokenVerifier({ jwtSecret: SECRET });
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'doctor', rpps: '10000000017' })}`)).resolves.toEqual({
      sub: 'doctor-10000000017',
      role: 'doctor',
      rpps: '10000000017',
    });
    await expect(verifier.verify(`Bearer ${await signDevToken('x'.repeat(40), { role: 'admin' })}`)).rejects.toThrow(
      /jeton invalide \(signature non vérifiée\).*même CLOCK/,
    );
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'admin' }, '-1s')}`)).rejects.toThrow('jeton expiré');
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'doctor' })}`)).rejects.toThrow(/jeton de médecin doit porter un RPPS valide/);
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'agent' })}`)).rejects.toThrow(/jeton d’agent doit porter le code à 3 chiffres/);
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'patient' as never })}`)).rejects.toThrow(/rôle du jeton inconnu/);
    await expect(verifier.verify(undefined)).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(verifier.verify('Token abc')).rejects.toThrow(/Bearer/);
    await expect(verifier.verify('Bearer abc')).rejects.toThrow(/jeton illisible : ce n’est pas un JWT/);
    await expect(verifier.verify('Bearer abc')).rejects.toMatchObject({ details: { reason: 'MALFORMED' } });
  });

  it('requires exp, bounds the lifetime, and checks iss and aud when configured', async () => {
    const key = new TextEncoder().encode(SECRET);
    const base = () => new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('admin-1');
    const verifier = new TokenVerifier({ jwtSecret: SECRET });
    await expect(verifier.verify(`Bearer ${await base().setIssuedAt().sign(key)}`)).rejects.toThrow(/sans date d’expiration/);
    await expect(verifier.verify(`Bearer ${await base().setIssuedAt().setExpirationTime('2h').sign(key)}`)).rejects.toThrow(
      /durée de vie du jeton trop longue/,
    );
    // Without iat, the lifetime left is what counts.
    await expect(verifier.verify(`Bearer ${await base().setExpirationTime('2h').sign(key)}`)).rejects.toThrow(/trop longue/);
    await expect(verifier.verify(`Bearer ${await base().setExpirationTime('50m').sign(key)}`)).resolves.toMatchObject({ sub: 'admin-1' });
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'admin' })}`)).resolves.toMatchObject({ role: 'admin' });
    const short = new TokenVerifier({ jwtSecret: SECRET, maxTokenSeconds: 600 });
    await expect(short.verify(`Bearer ${await signDevToken(SECRET, { role: 'admin' })}`)).rejects.toThrow(/au plus 600 s/);
    await expect(short.verify(`Bearer ${await signDevToken(SECRET, { role: 'admin' }, '10m')}`)).resolves.toMatchObject({ role: 'admin' });

    // Issued in the future: beyond 60 s of skew refused (it would outlive its exp - iat), within it accepted.
    const now = Math.floor(Date.now() / 1000);
    const issuedAt = (iat: number) =>
      base()
        .setIssuedAt(iat)
        .setExpirationTime(iat + 1800)
        .sign(key);
    await expect(verifier.verify(`Bearer ${await issuedAt(now + 3600)}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      details: { reason: 'IAT_IN_FUTURE' },
    });
    await expect(verifier.verify(`Bearer ${await issuedAt(now + 120)}`)).rejects.toThrow(/émis dans le futur/);
    await expect(verifier.verify(`Bearer ${await issuedAt(now + 30)}`)).resolves.toMatchObject({ sub: 'admin-1' });

    const strict = new TokenVerifier({ jwtSecret: SECRET, issuer: 'https://idp.caisse', audience: 'forfait-api' });
    const signed = (iss?: string, aud?: string) => {
      const jwt = base().setIssuedAt().setExpirationTime('10m');
      if (iss) jwt.setIssuer(iss);
      if (aud) jwt.setAudience(aud);
      return jwt.sign(key);
    };
    await expect(strict.verify(`Bearer ${await signed('https://idp.caisse', 'forfait-api')}`)).resolves.toMatchObject({ sub: 'admin-1' });
    await expect(strict.verify(`Bearer ${await signed('https://other', 'forfait-api')}`)).rejects.toThrow(/émetteur \(iss\)/);
    await expect(strict.verify(`Bearer ${await signed('https://idp.caisse', 'other')}`)).rejects.toThrow(/audience \(aud\)/);
    await expect(strict.verify(`Bearer ${await signed()}`)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  describe('JWKS (production)', () => {
    let server: Server;
    let url: string;
    let privateKey: KeyLike;
    beforeAll(async () => {
      const pair = await generateKeyPair('RS256');
      privateKey = pair.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      server = createServer((req, res) => {
        res.setHeader('content-type', 'application/json');
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks.json` }));
        else res.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('verifies a token signed by a key of the JWKS, and refuses an HS256 token', async () => {
      const verifier = new TokenVerifier({ jwksUrl: url });
      const token = await new SignJWT({ role: 'controller', caisse: '693' })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('ctl-1')
        .setExpirationTime('5m')
        .sign(privateKey);
      await expect(verifier.verify(`Bearer ${token}`)).resolves.toEqual({ sub: 'ctl-1', role: 'controller', caisse: '693' });
      await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'admin' })}`)).rejects.toThrow(
        /jeton invalide : algorithme de signature refusé/,
      );
      const otherKid = await new SignJWT({ role: 'auditor' })
        .setProtectedHeader({ alg: 'RS256', kid: 'k2' })
        .setSubject('a')
        .setExpirationTime('5m')
        .sign(privateKey);
      await expect(verifier.verify(`Bearer ${otherKid}`)).rejects.toMatchObject({ details: { reason: 'KEY_NOT_FOUND' } });
    });

    it('OIDC_ISSUER: the keys its discovery names, iss and aud checked, claims mapped by name; an unreachable provider is 503 IDP_UNAVAILABLE', async () => {
      const issuer = url.replace('/jwks.json', '');
      const verifier = new TokenVerifier({ oidcIssuer: issuer, audience: 'urn:api', claims: { role: 'forfait_role', caisse: 'cpam', rpps: 'rpps' } });
      const sign = (claims: Record<string, unknown>, iss = issuer, aud = 'urn:api') =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('ctl-2')
          .setIssuer(iss)
          .setAudience(aud)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
      await expect(verifier.verify(`Bearer ${await sign({ forfait_role: 'controller', cpam: '441' })}`)).resolves.toEqual({
        sub: 'ctl-2',
        role: 'controller',
        caisse: '441',
      });
      await expect(verifier.verify(`Bearer ${await sign({ role: 'controller', caisse: '441' })}`)).rejects.toThrow(/rôle du jeton inconnu/);
      await expect(verifier.verify(`Bearer ${await sign({ forfait_role: 'auditor' }, 'https://other.example')}`)).rejects.toMatchObject({
        details: { reason: 'ISS_MISMATCH' },
      });
      await expect(verifier.verify(`Bearer ${await sign({ forfait_role: 'auditor' }, issuer, 'forfait-console')}`)).rejects.toMatchObject({
        details: { reason: 'AUD_MISMATCH' },
      });
      const down = new TokenVerifier({ oidcIssuer: 'http://127.0.0.1:9' });
      await expect(down.verify(`Bearer ${await sign({ role: 'auditor' })}`)).rejects.toMatchObject({ code: 'IDP_UNAVAILABLE' });
    });
  });
});
