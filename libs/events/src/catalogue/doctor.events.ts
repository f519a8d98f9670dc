/** Stream `doctor-<rpps>`: the profile; the one in force at the assessment date is the one the rules use. */
export interface DoctorProfileRecorded {
  type: 'DoctorProfileRecorded';
  data: {
    rpps: string;
    specialty: string;
    caisse: string;
    department: string;
    /**
     * The doctor's name as the caisse's referential writes it ("Claire Martin"), for its documents and
     * the search by name; absent in profiles recorded before it existed. An extension of api.md.
     */
    name?: string;
    /** First campaign the doctor declared in, when the caisse's referential knows it (INT-1, INT-6). */
    firstDeclarationYear?: number;
    /** Under the convention or not, with its dates (YYYY-MM-DD, inclusive); absent: under the convention (api.md). */
    convention?: { status: 'conventionne' | 'non-conventionne'; since?: string; until?: string };
    /** The date from which this profile holds (YYYY-MM-DD); absent: from the beginning. */
    effectiveFrom?: string;
  };
}

export type DoctorEvent = DoctorProfileRecorded;
