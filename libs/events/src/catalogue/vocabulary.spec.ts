import { isValidRpps, withRppsCheckDigit } from './vocabulary';

describe('RPPS numbers', () => {
  it('accepts 11 digits with a valid Luhn check digit and refuses the rest', () => {
    expect(isValidRpps('10000000009')).toBe(true);
    expect(isValidRpps('81000123451')).toBe(false);
    expect(isValidRpps('10000000008')).toBe(false);
    expect(isValidRpps('1000000000')).toBe(false);
    expect(isValidRpps('1000000000a')).toBe(false);
    expect(isValidRpps(10000000008)).toBe(false);
  });

  it('completes a stem with the one check digit that makes it valid', () => {
    for (const stem of ['1000000000', '1012345678', '8100012345']) {
      const rpps = withRppsCheckDigit(stem);
      expect(rpps.startsWith(stem)).toBe(true);
      expect(isValidRpps(rpps)).toBe(true);
    }
  });
});
