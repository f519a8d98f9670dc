import { StoreUnavailableError, isConnectionError, translateStoreError } from './errors';

describe('connection-class errors become StoreUnavailableError', () => {
  const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it.each([
    ['refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['admin shutdown', pgError('57P01', 'terminating connection due to administrator command')],
    ['cannot connect now', pgError('57P03', 'the database system is starting up')],
    ['connection exception', pgError('08006')],
    ['terminated', new Error('Connection terminated unexpectedly')],
    ['pool timeout', new Error('timeout exceeded when trying to connect')],
    ['both addresses refused', Object.assign(new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')]), { code: 'ECONNREFUSED' })],
  ])('%s', (_name, error) => {
    expect(isConnectionError(error)).toBe(true);
    expect(translateStoreError(error)).toBeInstanceOf(StoreUnavailableError);
  });

  it('leaves the other errors alone (a wrong query, a unique violation)', () => {
    for (const error of [pgError('42P01', 'relation "x" does not exist'), pgError('23505', 'duplicate key'), new Error('boom')]) {
      expect(isConnectionError(error)).toBe(false);
      expect(translateStoreError(error)).toBe(error);
    }
  });

  it('says in French whether the outcome is unknown', () => {
    const cause = new Error('Connection terminated unexpectedly');
    expect(new StoreUnavailableError(cause, 'connect')).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      outcomeUnknown: false,
      cause,
      message: expect.stringMatching(/indisponible/),
    });
    expect(new StoreUnavailableError(cause, 'commit')).toMatchObject({
      outcomeUnknown: true,
      details: { outcomeUnknown: true },
      message: expect.stringMatching(/pas certain/),
    });
  });
});
