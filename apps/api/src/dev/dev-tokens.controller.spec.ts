import { decodeJwt } from 'jose';
import type { Runtime } from '@forfait/read-models';
import { DevTokensController } from './dev-tokens.controller';
import { TokenVerifier } from '../auth/token-verifier';

const SECRET = 'a-test-secret-a-test-secret-a-test-secret';
const controller = (config: { nodeEnv: string; auth: Record<string, unknown> }) => new DevTokensController({ config } as unknown as Runtime);

describe('development sign-in (POST /v1/dev/tokens)', () => {
  it('signs a 15-minute token for the role chosen, which the API verifies', async () => {
    const answer = await controller({ nodeEnv: 'development', auth: { jwtSecret: SECRET } }).token({ role: 'controller', caisse: '441' });
    expect(answer).toMatchObject({ role: 'controller', caisse: '441', expiresIn: 900 });
    const claims = decodeJwt(answer.token);
    expect(claims.exp! - claims.iat!).toBe(900);
    await expect(new TokenVerifier({ jwtSecret: SECRET }).verify(`Bearer ${answer.token}`)).resolves.toEqual({
      sub: 'controller-441',
      role: 'controller',
      caisse: '441',
    });
  });

  it('asks a doctor for a valid RPPS and staff of a caisse for its code; machines’ roles are not offered', async () => {
    const c = controller({ nodeEnv: 'test', auth: { jwtSecret: SECRET } });
    await expect(c.token({ role: 'doctor', rpps: '10000000018' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(c.token({ role: 'agent' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(c.token({ role: 'system' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(c.token({ role: 'doctor', rpps: '10000000017' })).resolves.toMatchObject({ role: 'doctor', rpps: '10000000017' });
  });

  it('does not exist in production, nor where tokens are verified with a JWKS', async () => {
    await expect(controller({ nodeEnv: 'production', auth: { jwtSecret: SECRET } }).token({ role: 'admin' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(controller({ nodeEnv: 'development', auth: { jwksUrl: 'https://idp.example/jwks' } }).token({ role: 'admin' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
