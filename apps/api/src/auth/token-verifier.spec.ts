import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { UnauthenticatedError } from './auth.errors';
import { signDevToken, TokenVerifier } from './token-verifier';

const SECRET = 'unit-secret-unit-secret-unit-secret-0123';

describe('token verification', () => {
  it('HS256: accepts the secret’s tokens with their claims, refuses other secrets, expired tokens and bad claims', async () => {
    const verifier = new TokenVerifier({ jwtSecret: SECRET });
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'doctor', rpps: '10000000017' })}`)).resolves.toEqual({ sub: 'doctor-10000000017', role: 'doctor', rpps: '10000000017' });
    await expect(verifier.verify(`Bearer ${await signDevToken('x'.repeat(40), { role: 'admin' })}`)).rejects.toThrow(/invalid token/);
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'admin' }, '-1s')}`)).rejects.toThrow('token expired');
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'doctor' })}`)).rejects.toThrow(/valid rpps claim/);
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'agent' })}`)).rejects.toThrow(/3-digit caisse/);
    await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'patient' as never })}`)).rejects.toThrow(/role must be one of/);
    await expect(verifier.verify(undefined)).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(verifier.verify('Token abc')).rejects.toThrow(/Bearer/);
  });

  describe('JWKS (production)', () => {
    let server: Server;
    let url: string;
    let privateKey: KeyLike;
    beforeAll(async () => {
      const pair = await generateKeyPair('RS256');
      privateKey = pair.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      server = createServer((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('verifies a token signed by a key of the JWKS, and refuses an HS256 token', async () => {
      const verifier = new TokenVerifier({ jwksUrl: url });
      const token = await new SignJWT({ role: 'controller', caisse: '693' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('ctl-1').setExpirationTime('5m').sign(privateKey);
      await expect(verifier.verify(`Bearer ${token}`)).resolves.toEqual({ sub: 'ctl-1', role: 'controller', caisse: '693' });
      await expect(verifier.verify(`Bearer ${await signDevToken(SECRET, { role: 'admin' })}`)).rejects.toThrow(/invalid token/);
    });
  });
});
