// French display of the API's values: instants in Europe/Paris ("heure de Paris" said next to them),
// amounts from integer cents, points with a comma.

const PARIS = 'Europe/Paris';

// Made once: a formatter per call costs more than the rest of a 500-event timeline's rendering.
const FORMATTERS = new Map<boolean, Intl.DateTimeFormat>();

function formatter(withSeconds: boolean): Intl.DateTimeFormat {
  let f = FORMATTERS.get(withSeconds);
  if (!f) {
    f = newFormatter(withSeconds);
    FORMATTERS.set(withSeconds, f);
  }
  return f;
}

function parts(iso: string, withSeconds: boolean): Record<string, string> {
  const f = formatter(withSeconds);
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(iso))) out[p.type] = p.value;
  return out;
}

function newFormatter(withSeconds: boolean): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('fr-FR', {
    timeZone: PARIS,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    ...(withSeconds ? { second: '2-digit' } : {}),
    hourCycle: 'h23',
  });
}

/** `20/01/2024 10:00` in Paris time (the caller says "heure de Paris" once, near it). */
export function formatDateTime(iso: string | null | undefined, options: { seconds?: boolean } = {}): string {
  if (!iso) return '—';
  const p = parts(iso, options.seconds === true);
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}${options.seconds ? `:${p.second}` : ''}`;
}

/** `4 979,01 €` from 497901 (narrow no-break spaces as French typography wants, shown as spaces). */
export function formatEuros(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return '—';
  const negative = cents < 0;
  const abs = Math.abs(cents);
  const euros = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  const rest = (abs % 100).toString().padStart(2, '0');
  return `${negative ? '−' : ''}${euros},${rest}\u00a0€`;
}

/** `1 115` or `12,5` points (the API gives points within 0.0005 of the exact value). */
export function formatPoints(points: number | null | undefined): string {
  if (points === null || points === undefined) return '—';
  const rounded = Math.round(points * 1000) / 1000;
  const [int, dec] = Math.abs(rounded).toString().split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  return `${rounded < 0 ? '−' : ''}${grouped}${dec ? `,${dec}` : ''}`;
}

/** The instant as an ISO string with the Paris offset, as the API's `knownAt`/`from`/`to` expect. */
export function toParisIso(iso: string): string {
  const d = new Date(iso);
  const p = parts(iso, true);
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  const offsetMin = Math.round((asUtc - Math.floor(d.getTime() / 1000) * 1000) / 60000);
  const sign = offsetMin >= 0 ? '+' : '-';
  const hh = String(Math.floor(Math.abs(offsetMin) / 60)).padStart(2, '0');
  const mm = String(Math.abs(offsetMin) % 60).padStart(2, '0');
  const ms = String(d.getUTCMilliseconds()).padStart(3, '0');
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}.${ms}${sign}${hh}:${mm}`;
}

/** A Paris wall-clock date and time (`2024-01-18`, `09:30`) as an ISO instant with its offset. */
export function parisLocalToIso(date: string, time: string): string | null {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})$/.exec(time);
  if (!d || !t) return null;
  const wall = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]));
  // The offset in force at that wall time: try the guess, then correct once (DST changes).
  let instant = wall;
  for (let i = 0; i < 2; i++) {
    const p = parts(new Date(instant).toISOString(), true);
    const shown = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
    instant -= shown - wall;
  }
  return toParisIso(new Date(instant).toISOString());
}
