/** Stream `doctor-<rpps>`: the profile; the one in force at the assessment date is the one the rules use. */
export interface DoctorProfileRecorded {
  type: 'DoctorProfileRecorded';
  data: {
    rpps: string;
    specialty: string;
    caisse: string;
    department: string;
    /** First campaign the doctor declared in, when the caisse's referential knows it (I-1, I-6). */
    firstDeclarationYear?: number;
  };
}

export type DoctorEvent = DoctorProfileRecorded;
