import { Rational } from '../arithmetic/rational';

/** "69,99 %": truncated (never rounded up past a target) to two decimals, French notation. */
export function formatPercent(numerator: number, denominator: number): string {
  const hundredths = (BigInt(numerator) * 10000n) / BigInt(denominator);
  const whole = hundredths / 100n;
  const frac = (hundredths % 100n).toString().padStart(2, '0').replace(/0+$/, '');
  return `${whole}${frac ? `,${frac}` : ''} %`;
}

/** "30,5", "318", "34,888": points to 0.001, French notation. */
export function formatPoints(points: Rational): string {
  return points.toDecimal(3).toString().replace('.', ',');
}
