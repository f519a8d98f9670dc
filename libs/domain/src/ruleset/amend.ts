import { isInstantWithOffset, type IndicatorRuleChanges, type ListChanges, type ParameterChanges } from '@forfait/events';
import type { Amendment } from '../campaign/campaign.state';
import {
  CAMPAIGN_LISTS,
  CAMPAIGN_PARAMETERS,
  type CampaignListName,
  type CampaignLists,
  type CampaignParameterName,
  type CampaignParameters,
  type NeutralisationMode,
  type Provenance,
  type ReferencedProduct,
  type Ruleset,
  type Volet1Rule,
  type Volet2Rule,
} from './ruleset';

/**
 * The ruleset in force once the known amendments apply (spec: "changes to it during a campaign are
 * amendment events", applied from the moment they are known). The base ruleset is not touched.
 */
export function amendRuleset(base: Ruleset, amendments: readonly Amendment[]): Ruleset {
  if (amendments.length === 0) return base;
  let volet1 = base.volet1.indicators;
  let volet2 = base.volet2.indicators;
  let lists: CampaignLists = base.lists;
  let parameters: CampaignParameters = base.parameters;
  let dataProvenance = base.dataProvenance;
  const unneutralised = new Map<string, Volet1Rule>();
  for (const a of amendments) {
    const provenance: Provenance = { source: 'interpretation', ref: `amendement ${a.eventId}`, note: a.reason + (a.reference ? ` (${a.reference})` : '') };
    const change = a.changes;
    if (isListChange(change)) {
      const name = change.list as CampaignListName;
      lists = { ...lists, [name]: applyListChange(lists[name], change) };
      dataProvenance = { ...dataProvenance, [name]: [...(dataProvenance[name] ?? []), provenance] };
      continue;
    }
    if (isParameterChange(change)) {
      const name = change.parameter as CampaignParameterName;
      parameters = { ...parameters, [name]: change.value };
      dataProvenance = { ...dataProvenance, [name]: [...(dataProvenance[name] ?? []), provenance] };
      continue;
    }
    const mode = neutralisationOf(change.neutralised);
    volet1 = volet1.map((rule): Volet1Rule => {
      if (rule.code !== a.indicator) return rule;
      // The rule as measured (its target amended), kept while it is neutralised, so that
      // `neutralised: false` measures it again (spec "Per indicator": neutralised is amendable).
      let measured: Volet1Rule = { ...(unneutralised.get(rule.code) ?? measuredForm(rule)), provenance: [...rule.provenance, provenance] };
      const target = typeof change.target === 'string' ? parseFraction(change.target) : undefined;
      if (target && measured.kind === 'teletransmission') measured = { ...measured, target: { fse: target.num, total: target.den } };
      unneutralised.set(rule.code, measured);
      if (mode === 'deemed-met') return { code: rule.code, label: rule.label, kind: 'automated-neutralised', mode, provenance: measured.provenance };
      if (change.neutralised === false) return measured;
      return rule.kind === 'automated-neutralised' ? { ...rule, provenance: measured.provenance } : measured;
    });
    volet2 = volet2.map((rule): Volet2Rule => {
      if (rule.code !== a.indicator) return rule;
      let next: Volet2Rule = { ...rule, provenance: [...rule.provenance, provenance] };
      if (change.points !== undefined) next = { ...next, points: change.points };
      if (typeof change.target === 'number' && next.kind === 'rate') next = { ...next, target: { num: change.target, den: 1 } };
      if (typeof change.target === 'number' && next.kind === 'count') next = { ...next, atLeast: change.target };
      if (change.neutralised !== undefined) {
        const { neutralised: _dropped, ...rest } = next;
        next = mode ? { ...rest, neutralised: { mode, provenance } } : rest;
      }
      return next;
    });
  }
  return { ...base, volet1: { ...base.volet1, indicators: volet1 }, volet2: { indicators: volet2 }, lists, parameters, dataProvenance };
}

/**
 * A volet-1 rule once no longer neutralised: itself, or, for an indicator the ruleset neutralises
 * (FS-2023's V1_SESAM_VITALE, INT-3), its automated measure (api.md: `{ indicator: "V1_SESAM_VITALE",
 * participates }`, as FS-2024 measures it).
 */
function measuredForm(rule: Volet1Rule): Volet1Rule {
  if (rule.kind !== 'automated-neutralised') return rule;
  return { code: rule.code, label: rule.label, kind: 'automated-flag', provenance: rule.provenance };
}

export const isListChange = (c: Amendment['changes']): c is ListChanges => typeof (c as ListChanges).list === 'string';
export const isParameterChange = (c: Amendment['changes']): c is ParameterChanges => typeof (c as ParameterChanges).parameter === 'string';

function neutralisationOf(value: IndicatorRuleChanges['neutralised']): NeutralisationMode | undefined {
  if (value === true) return 'deemed-met'; // stored before the modes existed
  if (value === false || value === undefined) return undefined;
  return value;
}

function parseFraction(text: string): { num: number; den: number } | undefined {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(text);
  if (!m) return undefined;
  const num = Number(m[1]);
  const den = Number(m[2]);
  return den > 0 && num <= den ? { num, den } : undefined;
}

const sameProduct = (a: ReferencedProduct, b: ReferencedProduct) => normalise(a.editor) === normalise(b.editor) && normalise(a.name) === normalise(b.name);
export const normalise = (s: string) => s.trim().toLowerCase();

function applyListChange<T extends CampaignLists[CampaignListName]>(current: T, change: ListChanges): T {
  const items = current as unknown[];
  const equal = (a: unknown, b: unknown) =>
    typeof a === 'string' || typeof b === 'string' ? a === b : sameProduct(a as ReferencedProduct, b as ReferencedProduct);
  const removed = items.filter((x) => !(change.remove ?? []).some((r) => equal(x, r)));
  const added = (change.add ?? []).filter((x) => !removed.some((y) => equal(x, y)));
  return [...removed, ...added] as T;
}

/** Which amendment fields an indicator's rule can take: the decider refuses the others. */
export function amendableFields(rule: Volet1Rule | Volet2Rule): ('target' | 'points' | 'neutralised')[] {
  if ('points' in rule) return rule.kind === 'rate' || rule.kind === 'count' ? ['target', 'points', 'neutralised'] : ['points', 'neutralised'];
  return rule.kind === 'teletransmission' ? ['target', 'neutralised'] : ['neutralised'];
}

const DEPARTEMENT = /^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$/;
/** An ISO instant with offset on a day that exists (Date.parse alone rolls 2024-02-30 over to 1 March). */
const isInstant = (v: unknown): boolean => typeof v === 'string' && isInstantWithOffset(v);

/**
 * Why a list or parameter change is not valid for this ruleset (spec "Parameters and lists a caisse
 * can amend": entry formats and values), or undefined when it is.
 */
export function invalidCampaignDataChange(ruleset: Ruleset, change: ListChanges | ParameterChanges): string | undefined {
  const keys = Object.keys(change);
  if (isListChange(change) && isParameterChange(change)) return 'un amendement change une liste ou un paramètre, pas les deux';
  if (isListChange(change)) {
    if (keys.some((k) => !['list', 'add', 'remove'].includes(k))) return 'une modification de liste s’écrit { list, add?, remove? }';
    if ((change.add !== undefined && !Array.isArray(change.add)) || (change.remove !== undefined && !Array.isArray(change.remove)))
      return 'add et remove sont des tableaux';
    if (!(CAMPAIGN_LISTS as readonly string[]).includes(change.list)) return `liste inconnue : ${change.list} (listes : ${CAMPAIGN_LISTS.join(', ')})`;
    const entries = [...(change.add ?? []), ...(change.remove ?? [])];
    if (entries.length === 0) return 'une modification de liste ajoute ou retire au moins une entrée';
    if (entries.length > 500) return 'au plus 500 entrées par amendement';
    const name = change.list as CampaignListName;
    for (const entry of entries) {
      const bad = invalidEntry(ruleset, name, entry);
      if (bad) return `${name} : ${bad}`;
    }
    return undefined;
  }
  if (keys.some((k) => !['parameter', 'value'].includes(k)) || !('value' in change)) return 'une modification de paramètre s’écrit { parameter, value }';
  if (!(CAMPAIGN_PARAMETERS as readonly string[]).includes(change.parameter))
    return `paramètre inconnu : ${change.parameter} (paramètres : ${CAMPAIGN_PARAMETERS.join(', ')})`;
  const name = change.parameter as CampaignParameterName;
  const v = change.value;
  const oneOf = (values: readonly unknown[]) => (values.includes(v) ? undefined : `${name} vaut l’une des valeurs ${values.join(', ')}`);
  switch (name) {
    case 'segurDeadline':
    case 'hoursServiceDeadline':
    case 'hoursBackOfficeDeadline':
      return isInstant(v) ? undefined : `${name} est un instant ISO avec fuseau (2024-01-31T23:59:59.999+01:00)`;
    case 'sasAttestationDeadline':
      return v === null || isInstant(v) ? undefined : `${name} est un instant ISO avec fuseau, ou null (la clôture en vigueur)`;
    case 'dcmtNeutralisation':
      return oneOf(['deemed-met', 'excluded']);
    case 'mssReportOver':
      return oneOf(['all-nine', 'six-teleservices', 'other-usages', 'none']);
    case 'firstYearWithoutHistory':
    case 'dpiRequiresLap':
      return typeof v === 'boolean' ? undefined : `${name} est un booléen`;
    case 'paperDatedBy':
      return oneOf(['receipt', 'postmark']);
    case 'eligibility':
      return oneOf(['any-day-of-year', 'at-assessment-date']);
    case 'recoveryLimitationYears':
      return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 30 ? undefined : `${name} est un nombre entier d’années entre 1 et 30`;
    case 'segurCarryOverFrom':
      // A campaign year the engine knows (2017, the first), up to the amended campaign's own.
      return Number.isInteger(v) && (v as number) >= 2017 && (v as number) <= ruleset.year
        ? undefined
        : `${name} est une année de campagne entre 2017 et ${ruleset.year}`;
    default: {
      const _exhaustive: never = name;
      return _exhaustive;
    }
  }
}

function invalidEntry(ruleset: Ruleset, list: CampaignListName, entry: unknown): string | undefined {
  const code = /^[A-Z][A-Z0-9_]{0,59}$/;
  switch (list) {
    case 'coordinationModalities':
    case 'servicesModalities':
    case 'connectedDevices':
      return typeof entry === 'string' && code.test(entry) ? undefined : `entrée ${JSON.stringify(entry)} : un code en majuscules (MSP, OXYMETRE…)`;
    case 'lapExemptSpecialties':
    case 'dcmtNeutralisedSpecialties':
      return typeof entry === 'string' && ruleset.specialties.catalogue.includes(entry)
        ? undefined
        : `entrée ${JSON.stringify(entry)} : une spécialité du catalogue`;
    case 'sasDepartements':
      return typeof entry === 'string' && DEPARTEMENT.test(entry)
        ? undefined
        : `entrée ${JSON.stringify(entry)} : un code INSEE de département en majuscules ("01", "2A", "971")`;
    case 'sasSoftware':
      return typeof entry === 'string' && entry.trim().length > 0 && entry.length <= 200
        ? undefined
        : `entrée ${JSON.stringify(entry)} : le nom d’un logiciel SAS`;
    case 'segurSolutions':
    case 'hasLap': {
      const p = entry as Partial<ReferencedProduct> | null;
      const ok =
        typeof p === 'object' &&
        p !== null &&
        Object.keys(p).every((k) => k === 'editor' || k === 'name') &&
        typeof p.editor === 'string' &&
        typeof p.name === 'string' &&
        p.editor.trim().length > 0 &&
        p.name.trim().length > 0 &&
        p.editor.length <= 200 &&
        p.name.length <= 200;
      return ok ? undefined : `entrée ${JSON.stringify(entry)} : { editor, name }`;
    }
    default: {
      const _exhaustive: never = list;
      return _exhaustive;
    }
  }
}
