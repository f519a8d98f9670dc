import type { Upcaster } from '../upcasting';

/**
 * Shapes stored before the second reading of the guide (schema version 1), and the steps to v2.
 * Upcast on read only: the stored bytes, and so the hash chain, never change.
 */
interface SegurLapValueV1 {
  segurSoftware: { editor: string; name: string; version: string; acquiredOn: string; kind?: string };
  lapCertified: boolean;
  lap?: unknown;
}
interface IndicatorDeclaredV1 {
  indicator: string;
  value: unknown;
  [k: string]: unknown;
}
interface JustificatifSubmittedV1 {
  indicator: string;
  [k: string]: unknown;
}

export const DECLARATION_UPCASTERS: readonly Upcaster[] = [
  {
    // Rule 2: a V1_SEGUR_LAP declaration names its LAP; one stored before `lap` existed counts as
    // the LAP declared unnamed (`lap: null`), its software a `cabinet` one.
    type: 'IndicatorDeclared',
    from: 1,
    upcast: (data) => {
      const d = data as IndicatorDeclaredV1;
      if (d.indicator !== 'V1_SEGUR_LAP') return d;
      const v = d.value as SegurLapValueV1;
      return { ...d, value: { ...v, segurSoftware: { ...v.segurSoftware, kind: v.segurSoftware.kind ?? 'cabinet' }, lap: v.lap ?? null } };
    },
  },
  {
    // INT-7: subjects and what it proves are unknown for a justificatif sent before they existed.
    type: 'JustificatifSubmitted',
    from: 1,
    upcast: (data) => {
      const d = data as JustificatifSubmittedV1;
      return { ...d, subjects: d.subjects ?? (d.indicator === 'V1_SEGUR_LAP' ? null : []), proves: d.proves ?? null };
    },
  },
];
