import { DomainRefusal } from '../errors';
import { assertChannel, sendingChannel } from './channels';

/** The refusal a sending meets: its code and details, or the channel it is on. */
const outcome = (fn: () => string): string | { code: string; details: Record<string, unknown> } => {
  try {
    return fn();
  } catch (error) {
    if (error instanceof DomainRefusal) return { code: error.code, details: error.details };
    throw error;
  }
};

describe('who sends on which channel (api.md, "Declarations", "Justificatifs")', () => {
  it('a doctor sends on amelipro, now: another channel is CHANNEL_NOT_ALLOWED, an effectiveAt or a postmark EFFECTIVE_AT_NOT_ALLOWED', () => {
    expect(outcome(() => sendingChannel({ role: 'doctor' }, 'paper'))).toBe('amelipro');
    expect(outcome(() => sendingChannel({ role: 'doctor', channel: 'amelipro' }, 'paper'))).toBe('amelipro');
    expect(outcome(() => sendingChannel({ role: 'doctor', channel: 'paper' }, 'paper'))).toMatchObject({
      code: 'CHANNEL_NOT_ALLOWED',
      details: { reason: 'CHANNEL_NOT_ALLOWED', allowed: ['amelipro'] },
    });
    expect(outcome(() => sendingChannel({ role: 'doctor', effectiveAt: '2024-01-10T10:00:00+01:00' }, 'paper'))).toEqual({
      code: 'EFFECTIVE_AT_NOT_ALLOWED',
      details: { reason: 'EFFECTIVE_AT_NOT_ALLOWED' },
    });
    // Both wrong: the channel is judged first, as the API always did.
    expect(outcome(() => sendingChannel({ role: 'doctor', channel: 'back-office', effectiveAt: '2024-01-10T10:00:00+01:00' }, 'paper'))).toMatchObject({
      code: 'CHANNEL_NOT_ALLOWED',
    });
    expect(outcome(() => sendingChannel({ role: 'doctor', postmarkedAt: '2024-01-09T10:00:00+01:00' }, 'paper'))).toEqual({
      code: 'EFFECTIVE_AT_NOT_ALLOWED',
      details: { reason: 'EFFECTIVE_AT_NOT_ALLOWED' },
    });
  });

  it('an agent keys paper or back-office, by default the one the route names, never amelipro', () => {
    expect(outcome(() => sendingChannel({ role: 'agent' }, 'paper'))).toBe('paper');
    expect(outcome(() => sendingChannel({ role: 'agent' }, 'back-office'))).toBe('back-office');
    expect(
      outcome(() =>
        sendingChannel({ role: 'agent', channel: 'back-office', effectiveAt: '2024-01-10T10:00:00+01:00', postmarkedAt: '2024-01-09T10:00:00+01:00' }, 'paper'),
      ),
    ).toBe('back-office');
    expect(outcome(() => sendingChannel({ role: 'agent', channel: 'amelipro' }, 'paper'))).toMatchObject({
      code: 'CHANNEL_NOT_ALLOWED',
      details: { allowed: ['paper', 'back-office'] },
    });
  });

  it('the system imports; other roles have no channel', () => {
    expect(outcome(() => assertChannel('system', 'import'))).toBe('import');
    expect(outcome(() => assertChannel('system', 'paper'))).toMatchObject({ code: 'CHANNEL_NOT_ALLOWED' });
    expect(outcome(() => assertChannel('auditor', 'back-office'))).toMatchObject({ code: 'CHANNEL_NOT_ALLOWED', details: { allowed: [] } });
  });
});
