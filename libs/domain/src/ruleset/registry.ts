import { FS_2023 } from './fs-2023';
import { FS_2024 } from './fs-2024';
import type { Ruleset } from './ruleset';

/** Rulesets are immutable data; a campaign references exactly one (id and version). */
export const RULESETS: readonly Ruleset[] = [FS_2023, FS_2024];

export function findRuleset(id: string, version?: string): Ruleset | undefined {
  return RULESETS.find((r) => r.id === id && (version === undefined || r.version === version));
}

/**
 * The first campaign year the engine knows a ruleset shape for (rules spec, "Other years": the
 * forfait structure begins with the 2017 campaign): no doctor-year stream can be older.
 */
export const FIRST_CAMPAIGN_YEAR = 2017;

/** The campaign years before `year`, oldest first (a doctor's first year, carried-over justificatifs). */
export function yearsBefore(year: number): number[] {
  return Array.from({ length: Math.max(0, year - FIRST_CAMPAIGN_YEAR) }, (_, i) => FIRST_CAMPAIGN_YEAR + i);
}
