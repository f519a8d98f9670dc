/**
 * Exact rational numbers on bigint. Points are fractional (22.5, 30.5, and INT-4's base × 318/278),
 * and the spec forbids summing floats: totals stay exact until the one rounding to cents.
 */
export class Rational {
  private constructor(
    readonly num: bigint,
    readonly den: bigint,
  ) {}

  static readonly ZERO = new Rational(0n, 1n);

  static of(num: bigint | number, den: bigint | number = 1n): Rational {
    let n = BigInt(num);
    let d = BigInt(den);
    if (d === 0n) throw new RangeError('denominator is zero');
    if (d < 0n) {
      n = -n;
      d = -d;
    }
    const g = gcd(n < 0n ? -n : n, d);
    return new Rational(n / g, d / g);
  }

  /** From a decimal number written with at most 6 decimals (30.5, 22.5, 0.125). */
  static fromDecimal(value: number): Rational {
    // Rationals are immutable and rulesets use a handful of decimals: each is parsed once.
    const known = DECIMALS.get(value);
    if (known) return known;
    const parsed = Rational.parseDecimal(value);
    if (DECIMALS.size < 10_000) DECIMALS.set(value, parsed);
    return parsed;
  }

  private static parseDecimal(value: number): Rational {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    const text = value.toFixed(6);
    const [whole, frac = ''] = text.split('.');
    const den = 10n ** BigInt(frac.length);
    const sign = whole!.startsWith('-') ? -1n : 1n;
    const n = BigInt(whole!.replace('-', '')) * den + BigInt(frac || '0');
    return Rational.of(sign * n, den);
  }

  add(o: Rational): Rational {
    return Rational.of(this.num * o.den + o.num * this.den, this.den * o.den);
  }
  sub(o: Rational): Rational {
    return Rational.of(this.num * o.den - o.num * this.den, this.den * o.den);
  }
  mul(o: Rational): Rational {
    return Rational.of(this.num * o.num, this.den * o.den);
  }
  div(o: Rational): Rational {
    return Rational.of(this.num * o.den, this.den * o.num);
  }
  compare(o: Rational): -1 | 0 | 1 {
    const l = this.num * o.den;
    const r = o.num * this.den;
    return l < r ? -1 : l > r ? 1 : 0;
  }
  gte(o: Rational): boolean {
    return this.compare(o) >= 0;
  }
  isZero(): boolean {
    return this.num === 0n;
  }

  /** Rounds half away from zero to an integer (half up for the non-negative amounts of this domain). */
  roundHalfUp(): bigint {
    const sign = this.num < 0n ? -1n : 1n;
    const abs = this.num < 0n ? -this.num : this.num;
    return sign * ((2n * abs + this.den) / (2n * this.den));
  }

  /** Decimal rounded half up to `digits` places, for display and JSON (points exact to 0.001). */
  toDecimal(digits = 3): number {
    const scale = 10n ** BigInt(digits);
    return Number(this.mul(Rational.of(scale)).roundHalfUp()) / Number(scale);
  }

  toString(): string {
    return this.den === 1n ? this.num.toString() : `${this.num}/${this.den}`;
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

export function sum(values: Rational[]): Rational {
  return values.reduce((acc, v) => acc.add(v), Rational.ZERO);
}

const DECIMALS = new Map<number, Rational>();
