import { formatDateTime, formatEuros, formatPoints, parisLocalToIso, toParisIso } from './format';

describe('the console shows the API’s values the French way', () => {
  it('dates in Paris time, as 20/01/2024 10:00 (winter and summer offsets)', () => {
    expect(formatDateTime('2024-01-20T09:00:00Z')).toBe('20/01/2024 10:00');
    expect(formatDateTime('2024-07-14T08:30:05Z', { seconds: true })).toBe('14/07/2024 10:30:05');
    expect(formatDateTime(null)).toBe('—');
  });

  it('amounts from integer cents, as 4 979,01 €', () => {
    expect(formatEuros(497901)).toBe('4\u202f979,01\u00a0€');
    expect(formatEuros(5)).toBe('0,05\u00a0€');
    expect(formatEuros(-123456789)).toBe('−1\u202f234\u202f567,89\u00a0€');
  });

  it('points with a decimal comma', () => {
    expect(formatPoints(1115)).toBe('1\u202f115');
    expect(formatPoints(12.5)).toBe('12,5');
    expect(formatPoints(0.33333)).toBe('0,333');
  });

  it('instants sent back to the API carry the Paris offset and name the same instant', () => {
    expect(toParisIso('2024-01-20T09:00:00.250Z')).toBe('2024-01-20T10:00:00.250+01:00');
    expect(toParisIso('2024-07-14T08:30:05Z')).toBe('2024-07-14T10:30:05.000+02:00');
    expect(Date.parse(toParisIso('2024-03-31T01:30:00Z'))).toBe(Date.parse('2024-03-31T01:30:00Z'));
  });

  it('a date and time typed in Paris become the instant the API expects', () => {
    expect(parisLocalToIso('2024-01-18', '09:30')).toBe('2024-01-18T09:30:00.000+01:00');
    expect(parisLocalToIso('2024-07-14', '10:30')).toBe('2024-07-14T10:30:00.000+02:00');
    expect(parisLocalToIso('2024-01-18', '9h30')).toBeNull();
  });
});
