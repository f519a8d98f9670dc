/**
 * Stream `access-<rpps>`: staff reads of a doctor's history and audit bundles (architecture.md,
 * "Security": reads of a doctor's history by staff are themselves journaled). Events, so that the
 * journal is chained and tamper-evident like everything else.
 */
export interface StaffReadRecorded {
  type: 'StaffReadRecorded';
  data: {
    rpps: string;
    year: number | null;
    resource: 'history' | 'entitlement-diff' | 'audit-bundle';
    knownAt: string | null;
  };
}

export type AccessEvent = StaffReadRecorded;
