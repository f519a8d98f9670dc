import { FS_2023 } from './fs-2023';
import { FS_2024 } from './fs-2024';
import type { Ruleset } from './ruleset';

/** Rulesets are immutable data; a campaign references exactly one (id and version). */
export const RULESETS: readonly Ruleset[] = [FS_2023, FS_2024];

export function findRuleset(id: string, version?: string): Ruleset | undefined {
  return RULESETS.find((r) => r.id === id && (version === undefined || r.version === version));
}
