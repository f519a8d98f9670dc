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

/** Specialties as the caisse writes them, for reasons read by people (the slugs stay in the data). */
const SPECIALTY_LABELS: Record<string, string> = {
  'medecine-generale': 'médecine générale',
  cardiologie: 'cardiologie',
  dermatologie: 'dermatologie',
  'gastro-enterologie': 'gastro-entérologie',
  endocrinologie: 'endocrinologie',
  'gynecologie-obstetrique': 'gynécologie obstétrique',
  'gynecologie-medicale': 'gynécologie médicale',
  pediatrie: 'pédiatrie',
  psychiatrie: 'psychiatrie',
  pneumologie: 'pneumologie',
  rhumatologie: 'rhumatologie',
  neurologie: 'neurologie',
  orl: 'ORL',
  'medecine-interne': 'médecine interne',
  geriatrie: 'gériatrie',
  ophtalmologie: 'ophtalmologie',
  radiotherapie: 'radiothérapie',
  nephrologie: 'néphrologie',
  hematologie: 'hématologie',
};
export function specialtyLabel(slug: string): string {
  return SPECIALTY_LABELS[slug] ?? slug.replaceAll('-', ' ');
}

/** "31/12/2023": a YYYY-MM-DD date as the caisse writes it. */
export function formatDate(date: string): string {
  const [y, m, d] = date.slice(0, 10).split('-');
  return `${d}/${m}/${y}`;
}

const CERTIFICATIONS: Record<string, string> = { definitive: 'définitive', provisional: 'provisoire', 'older-referentiel': 'sur un ancien référentiel' };
/** The LAP's HAS certification in the guide's words (§I.1.c), not its code. */
export function certificationLabel(certification: string): string {
  return CERTIFICATIONS[certification] ?? certification;
}

const PARIS_DAY = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', day: '2-digit', month: '2-digit', year: 'numeric' });
/** "11/02/2024": the day of an instant in Europe/Paris (api.md: dates are read in Europe/Paris). */
export function formatParisDay(instant: string): string {
  return PARIS_DAY.format(new Date(instant));
}

const PARIS_MINUTE = new Intl.DateTimeFormat('fr-FR', {
  timeZone: 'Europe/Paris',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  // 00:00 at midnight, never 24:00 (some ICU versions' fr-FR default).
  hourCycle: 'h23',
});
/** "02/02/2024 10:00": an instant in Europe/Paris, as the user-facing messages write it. */
export function formatParisInstant(instant: string): string {
  return PARIS_MINUTE.format(new Date(instant)).replace(',', '');
}
