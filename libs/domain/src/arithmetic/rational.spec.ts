import fc from 'fast-check';
import { Rational, sum } from './rational';

const rational = fc.tuple(fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n }), fc.bigInt({ min: 1n, max: 10n ** 6n })).map(([n, d]) => Rational.of(n, d));

describe('exact points (spec "Money and arithmetic": never sum floats)', () => {
  it('adds 30.5 + 22.5 + 18 exactly and keeps INT-4 fractions exact', () => {
    expect(sum([30.5, 22.5, 18].map((d) => Rational.fromDecimal(d))).toString()).toBe('71');
    const factor = Rational.of(318, 278);
    const pool = [30.5, 30.5, 30.5, 22.5, 18, 18, 48, 40, 40].map((d) => Rational.fromDecimal(d));
    expect(sum(pool.map((p) => p.mul(factor))).toString()).toBe('318');
  });

  it('rounds half up once: 0.5 → 1, 1.5 → 2, 2.4999 → 2', () => {
    expect(Rational.of(1, 2).roundHalfUp()).toBe(1n);
    expect(Rational.of(3, 2).roundHalfUp()).toBe(2n);
    expect(Rational.of(24999, 10000).roundHalfUp()).toBe(2n);
    expect(Rational.of(-3, 2).roundHalfUp()).toBe(-2n);
  });

  it('shows decimals exact to 0.001', () => {
    expect(Rational.of(318 * 305, 2780).toDecimal()).toBe(34.888); // 30.5 × 318 / 278 = 34.8884…
    expect(Rational.fromDecimal(22.5).toDecimal()).toBe(22.5);
  });

  it('is a field: (a + b) − b = a, (a × b) ÷ b = a, addition commutes', () => {
    fc.assert(
      fc.property(rational, rational, (a, b) => {
        expect(a.add(b).sub(b).compare(a)).toBe(0);
        expect(a.add(b).compare(b.add(a))).toBe(0);
        if (!b.isZero()) expect(a.mul(b).div(b).compare(a)).toBe(0);
      }),
    );
  });

  it('rounds to the nearest integer, halves up', () => {
    fc.assert(
      fc.property(rational, (a) => {
        const r = Rational.of(a.roundHalfUp());
        const distance = a.sub(r);
        expect(distance.compare(Rational.of(1, 2))).toBeLessThanOrEqual(0);
        expect(distance.compare(Rational.of(-1, 2))).toBeGreaterThanOrEqual(0);
        // halves go up: for a ≥ 0 the distance a − round(a) lies in [−½, ½)
        if (a.num >= 0n) expect(distance.compare(Rational.of(1, 2))).toBe(-1);
      }),
    );
  });
});
