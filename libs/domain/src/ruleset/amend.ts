import type { Amendment } from '../campaign/campaign.state';
import type { Ruleset, Volet1Rule, Volet2Rule } from './ruleset';

/**
 * The ruleset in force once the known amendments apply (spec: "changes to it during a campaign are
 * amendment events", applied from the moment they are known). The base ruleset is not touched.
 */
export function amendRuleset(base: Ruleset, amendments: readonly Amendment[]): Ruleset {
  if (amendments.length === 0) return base;
  let volet1 = base.volet1.indicators;
  let volet2 = base.volet2.indicators;
  for (const a of amendments) {
    const provenance = { source: 'interpretation' as const, ref: `amendement ${a.eventId}`, note: a.reason + (a.reference ? ` (${a.reference})` : '') };
    volet1 = volet1.map((rule): Volet1Rule => {
      if (rule.code !== a.indicator) return rule;
      if (a.changes.neutralised === true) {
        return { code: rule.code, label: rule.label, kind: 'automated-neutralised', mode: 'deemed-met', provenance: [...rule.provenance, provenance] };
      }
      return rule;
    });
    volet2 = volet2.map((rule): Volet2Rule => {
      if (rule.code !== a.indicator) return rule;
      let next: Volet2Rule = { ...rule, provenance: [...rule.provenance, provenance] };
      if (a.changes.points !== undefined) next = { ...next, points: a.changes.points };
      if (a.changes.target !== undefined && next.kind === 'rate') next = { ...next, target: { num: a.changes.target, den: 1 } };
      if (a.changes.neutralised !== undefined && next.kind === 'rate') {
        if (a.changes.neutralised) {
          next = { ...next, neutralisedFor: { specialties: ['*'], mode: 'deemed-met', provenance } };
        } else {
          const { neutralisedFor: _dropped, ...rest } = next;
          next = rest;
        }
      }
      return next;
    });
  }
  return { ...base, volet1: { ...base.volet1, indicators: volet1 }, volet2: { indicators: volet2 } };
}

/** Which amendment fields an indicator's rule can take: the decider refuses the others. */
export function amendableFields(rule: Volet1Rule | Volet2Rule): ('target' | 'points' | 'neutralised')[] {
  if ('points' in rule) return rule.kind === 'rate' ? ['target', 'points', 'neutralised'] : ['points'];
  return ['neutralised'];
}
