/** Stream `doctor-<rpps>`: the profile; the one in force at the assessment date is the one the rules use. */
export interface DoctorProfileRecorded {
  type: 'DoctorProfileRecorded';
  data: { rpps: string; specialty: string; caisse: string; department: string };
}

export type DoctorEvent = DoctorProfileRecorded;
