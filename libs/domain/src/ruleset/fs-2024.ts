import { FS_2023 } from './fs-2023';
import type { Provenance, Ruleset, Volet2Rule } from './ruleset';

const secondary = (note: string): Provenance => ({ source: 'secondary', ref: 'spec forfait-structure-2023.md, « Other years »', note });

/**
 * FS-2024 from secondary sources only (the spec's "Other years"): 280 + 835 = 1 115 points. It
 * exists to prove the engine is data-driven; its deadlines repeat 2023's pattern one year later and
 * are assumptions, marked as such.
 */
const changes: Record<string, { points: number; target?: number }> = {
  V2_AAT: { points: 22.5, target: 90 },
  V2_CMATMP: { points: 22.5, target: 50 },
  V2_PSE: { points: 22.5, target: 90 },
  V2_DCMT: { points: 22.5, target: 90 },
  V2_SPE: { points: 10, target: 30 },
  V2_DSG: { points: 10, target: 50 },
  V2_DMP: { points: 40, target: 30 },
  V2_MSS: { points: 40, target: 10 },
  V2_ORDONNANCE_NUMERIQUE: { points: 40, target: 40 },
};

export const FS_2024: Ruleset = {
  ...FS_2023,
  id: 'FS-2024',
  version: '1',
  year: 2024,
  status: 'secondary',
  provenance: [secondary('2024 et 2025 : 1 115 points (280 + 835)')],
  assessedOn: '2024-12-31',
  volet1: {
    points: 280,
    indicators: FS_2023.volet1.indicators.map((rule) =>
      rule.code === 'V1_SESAM_VITALE'
        ? {
            code: rule.code,
            kind: 'automated-flag',
            label: rule.label,
            provenance: [secondary('addendum 8 et ses avenants exigés au 31/12/2024 (lettre 2023) : mesuré')],
          }
        : { ...rule, provenance: [secondary('inchangé par rapport à 2023')] },
    ),
  },
  volet2: {
    indicators: FS_2023.volet2.indicators.map((rule): Volet2Rule => {
      const change = changes[rule.code];
      const provenance = [secondary(change ? `points ${change.points}${change.target ? `, objectif ${change.target} %` : ''}` : 'inchangé')];
      if (rule.kind === 'rate') {
        const { neutralisedForSpecialties: _dropped, ...rest } = rule;
        return { ...rest, points: change!.points, target: { num: change!.target!, den: 1 }, provenance };
      }
      return { ...rule, points: change?.points ?? rule.points, provenance };
    }),
  },
  // FS-2024 keeps none of the 2023 reliefs (spec "Other years", assumed): Ségur by the assessment
  // date, no DCMT neutralisation, no MSS report; SESAM-Vitale measured (above).
  lists: { ...FS_2023.lists, dcmtNeutralisedSpecialties: [] },
  parameters: {
    ...FS_2023.parameters,
    segurDeadline: '2024-12-31T23:59:59.999+01:00',
    hoursServiceDeadline: '2024-12-31T23:59:59.999+01:00',
    hoursBackOfficeDeadline: '2025-01-31T23:59:59.999+01:00',
    mssReportOver: 'none',
  },
  dataProvenance: {
    ...FS_2023.dataProvenance,
    segurDeadline: [secondary('sans le délai exceptionnel de 2023 : la date d’appréciation, 31/12/2024 (hypothèse)')],
    dcmtNeutralisedSpecialties: [secondary('plus de neutralisation du DCMT (hypothèse)')],
    mssReportOver: [secondary('le report MSS était exceptionnel pour 2023')],
    hoursServiceDeadline: [secondary('hypothèse : mêmes échéances qu’en 2023, un an plus tard')],
    hoursBackOfficeDeadline: [secondary('hypothèse : mêmes échéances qu’en 2023, un an plus tard')],
  },
};
