import type { DeclaredLap, JustificatifSubject, SegurLapValue, SegurPrefillValue, SegurSoftware, SegurSoftwareKind } from '@forfait/events';
import { ms } from '../events';
import { normalise } from '../ruleset/amend';
import type { ReferencedProduct, Ruleset } from '../ruleset/ruleset';

/**
 * What the rules of V1_SEGUR_LAP share between the declaration decider (refusals, what a
 * justificatif proves, its default subjects) and the entitlement (rules 1–5, INT-1, INT-7).
 */

/** "Differs" means another `{ editor, name }`, ignoring case and surrounding spaces: a new version alone is no modification (rule 4). */
export function sameProduct(a: ReferencedProduct, b: ReferencedProduct): boolean {
  return normalise(a.editor) === normalise(b.editor) && normalise(a.name) === normalise(b.name);
}

/** Reference lists (`segurSolutions`, `hasLap`): empty means not loaded, so not checked. */
export function onList(list: readonly ReferencedProduct[], product: ReferencedProduct): boolean {
  return list.length === 0 || list.some((entry) => sameProduct(entry, product));
}

const PARIS_DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });
const PARIS_DATES = new Map<string, string>();
/** The Paris calendar date (YYYY-MM-DD) of an instant; the same few deadlines are asked again and again, so each is computed once. */
export function parisDate(instant: string): string {
  let date = PARIS_DATES.get(instant);
  if (date === undefined) {
    date = PARIS_DAY.format(new Date(ms(instant)));
    if (PARIS_DATES.size >= 10_000) PARIS_DATES.clear();
    PARIS_DATES.set(instant, date);
  }
  return date;
}

/** A Ségur declaration or SONS pre-fill as the rules read it, whatever the event that carried it. */
export interface SegurFact {
  source: 'declared' | 'prefilled';
  value: SegurLapValue | SegurPrefillValue;
  effectiveAt: string;
  recordedAt: string;
  eventId?: string;
  /** A paper declaration's postmark (INT-8). */
  postmarkedAt?: string;
}

/** What the doctor-year holds for V1_SEGUR_LAP at an instant: the latest declaration, else the latest pre-fill. */
export interface SegurInForce {
  software: SegurSoftware & { kind: SegurSoftwareKind };
  /** Rule 2: only the doctor declares the LAP; a pre-fill's `lapCertified` is ignored. */
  lapDeclared: boolean;
  lap: DeclaredLap | null;
  /** Not pre-filled when the declared software is another than the pre-filled one, or a DPI (never pre-filled). */
  preFilled: boolean;
  declared?: SegurFact;
  prefilled?: SegurFact;
}

const latest = (facts: readonly SegurFact[]): SegurFact | undefined =>
  facts.reduce<SegurFact | undefined>((best, f) => {
    if (!best) return f;
    const d = ms(f.effectiveAt) - ms(best.effectiveAt);
    return d > 0 || (d === 0 && ms(f.recordedAt) >= ms(best.recordedAt)) ? f : best;
  }, undefined);

/**
 * The Ségur software and LAP in force at `at` (undefined: every fact counts), from the facts that
 * count: declarations the caller has already filtered (window, `segurDeadline`), pre-fills.
 */
export function segurInForce(facts: readonly SegurFact[], at?: string): SegurInForce | undefined {
  const known = at === undefined ? facts : facts.filter((f) => ms(f.effectiveAt) <= ms(at));
  const declared = latest(known.filter((f) => f.source === 'declared'));
  const prefilled = latest(known.filter((f) => f.source === 'prefilled'));
  if (declared) {
    const v = declared.value as SegurLapValue;
    const software = { ...v.segurSoftware }; // `kind` set on every version by the upcaster (declaration.events.v1.ts)
    const preFilled = !!prefilled && software.kind === 'cabinet' && sameProduct(software, prefilled.value.segurSoftware);
    return {
      software,
      lapDeclared: (v.lapCertified as unknown) === true,
      lap: v.lapCertified ? (v.lap ?? null) : null,
      preFilled,
      declared,
      ...(prefilled && preFilled ? { prefilled } : {}),
    };
  }
  if (prefilled) {
    const s = prefilled.value.segurSoftware;
    const software = { editor: s.editor, name: s.name, version: s.version, acquiredOn: s.acquiredOn, kind: 'cabinet' as const };
    return { software, lapDeclared: false, lap: null, preFilled: true, prefilled };
  }
  return undefined;
}

/** Whether the LAP part is required (rule 2, Annex 1; rule 5 with `dpiRequiresLap`). */
export function lapRequired(ruleset: Ruleset, specialty: string | undefined, kind: SegurSoftwareKind): boolean {
  if (specialty !== undefined && ruleset.lists.lapExemptSpecialties.includes(specialty)) return false;
  return kind !== 'DPI_ETABLISSEMENT' || ruleset.parameters.dpiRequiresLap;
}

/**
 * INT-7 (guide §I.1.c–d), when INT-1 says a justificatif is needed: pre-filled, `LAP`; not pre-filled,
 * `SEGUR` (`DPI_USAGE` for a DPI) and `LAP`; `LAP` dropped when the LAP part is not required;
 * `LAP_CERTIFICATION_EN_COURS` added for a provisional or older-référentiel certification.
 */
export function segurSubjects(o: { preFilled: boolean; kind: SegurSoftwareKind; lapRequired: boolean; lap: DeclaredLap | null }): JustificatifSubject[] {
  const subjects: JustificatifSubject[] = [];
  if (!o.preFilled) subjects.push(o.kind === 'DPI_ETABLISSEMENT' ? 'DPI_USAGE' : 'SEGUR');
  if (o.lapRequired) {
    subjects.push('LAP');
    if (o.lap && o.lap.certification !== 'definitive') subjects.push('LAP_CERTIFICATION_EN_COURS');
  }
  return subjects;
}

/** Rule 3: a justificatif of V1_SEGUR_LAP counts only when sent by `segurDeadline` (recorded anyway); other indicators are not bound by it. */
export function justificatifCounts(ruleset: Ruleset, indicator: string, sentAt: string, postmarkedAt?: string): boolean {
  return indicator !== 'V1_SEGUR_LAP' || ms(paperDated(ruleset, sentAt, postmarkedAt)) <= ms(ruleset.parameters.segurDeadline);
}

/**
 * INT-8: a paper form or a postal justificatif is dated by the caisse's receipt (`effectiveAt`), or
 * by its postmark when `paperDatedBy` is `postmark` and the agent keyed one; the deadlines (window,
 * `segurDeadline`) judge this date. Anything else is dated by its `effectiveAt`.
 */
export function paperDated(ruleset: Ruleset, receivedAt: string, postmarkedAt: string | undefined): string {
  return ruleset.parameters.paperDatedBy === 'postmark' && postmarkedAt !== undefined ? postmarkedAt : receivedAt;
}
