// French labels of the API's codes (the guide's words); an unknown code is shown as it is.

export const ROLE_LABELS: Record<string, string> = {
  doctor: 'Médecin',
  agent: 'Agent de la caisse',
  controller: 'Contrôleur de la caisse',
  auditor: 'Auditeur (enquêteur)',
  admin: 'Administrateur',
  system: 'Système',
};

// The guide's names of the indicators (FS-2023, libs/domain/src/ruleset/fs-2023.ts).
export const INDICATOR_LABELS: Record<string, string> = {
  V1_SEGUR_LAP: 'Logiciel référencé Ségur avec LAP certifié HAS',
  V1_SESAM_VITALE: 'SESAM-Vitale 1.40 addendum 8',
  V1_TELETRANSMISSION: 'Taux de télétransmission ≥ 2/3',
  V1_HORAIRES: 'Horaires du cabinet dans Annuaire santé',
  V2_AAT: 'Taux d’AAT dématérialisés',
  V2_CMATMP: 'Taux de CM AT/MP dématérialisés',
  V2_PSE: 'Taux de protocoles de soins électroniques',
  V2_DCMT: 'Taux de déclarations médecin traitant dématérialisées',
  V2_SPE: 'Taux de prescriptions de transport dématérialisées',
  V2_DSG: 'Taux de déclarations de grossesse dématérialisées',
  V2_DMP: 'Alimentation du DMP',
  V2_MSS: 'Messagerie de santé de Mon espace santé',
  V2_ORDONNANCE_NUMERIQUE: 'Ordonnance numérique',
  V2_APCV: 'Application carte Vitale (ApCV)',
  V2_CODAGE: 'Codage des données médicales',
  V2_COORDINATION: 'Prise en charge coordonnée',
  V2_SERVICES_PATIENTS: 'Service offert aux patients',
  V2_MAITRE_STAGE: 'Maître de stage',
  V2_VIDEO: 'Vidéotransmission sécurisée',
  V2_EQUIPEMENT_CONNECTE: 'Équipement médical connecté',
  V2_SAS: 'Service d’accès aux soins (SAS)',
};

export const EVENT_LABELS: Record<string, string> = {
  CampaignOpened: 'Campagne ouverte',
  CampaignDeadlineExtended: 'Date limite prolongée',
  CampaignRuleAmended: 'Règle modifiée',
  DoctorProfileRecorded: 'Fiche du médecin enregistrée',
  IndicatorPrefilled: 'Pré-remplissage',
  IndicatorDeclared: 'Déclaration',
  MeasureRecorded: 'Mesure de l’Assurance Maladie',
  DeclarationTransmitted: 'Déclaration transmise',
  JustificatifSubmitted: 'Justificatif déposé',
  JustificatifValidated: 'Justificatif validé',
  JustificatifRejected: 'Justificatif rejeté',
  EntitlementCalculated: 'Rémunération calculée',
  PaymentRecorded: 'Paiement',
  ControlOpened: 'Contrôle a posteriori ouvert',
  ControlEvidenceRequested: 'Pièces demandées',
  ControlFindingRecorded: 'Constat du contrôle',
  ControlClosed: 'Contrôle clos',
  ContestationFiled: 'Contestation déposée',
  ContestationDecided: 'Contestation décidée',
  CampaignClosed: 'Campagne close',
  CampaignCalculationCompleted: 'Calcul annuel terminé',
  StaffReadRecorded: 'Consultation par la caisse',
};

export const CHANNEL_LABELS: Record<string, string> = {
  amelipro: 'amelipro',
  paper: 'formulaire papier',
  'back-office': 'back-office de la caisse',
  import: 'import',
  system: 'système',
};

export const STATUS_LABELS: Record<string, string> = { pending: 'en attente', validated: 'validé', rejected: 'rejeté' };

export const label = (table: Record<string, string>, code: string): string => table[code] ?? code;

// The modalities and devices of the campaign's lists (guide §II.3, §II.4, §II.7), in the guide's words.
export const CHOICE_LABELS: Record<string, string> = {
  MSP: 'Maison de santé pluriprofessionnelle (MSP)',
  ESP: 'Équipe de soins primaires (ESP)',
  ESS: 'Équipe de soins spécialisés (ESS)',
  CPTS: 'Communauté professionnelle territoriale de santé (CPTS)',
  RCP: 'Réunion de concertation pluridisciplinaire (RCP)',
  RESEAU: 'Réseau de santé',
  HAD_EHPAD: 'Hospitalisation à domicile ou EHPAD',
  ASALEE: 'Protocole ASALÉE',
  RESSOURCE_COORDINATION: 'Ressource de coordination',
  STRUCTURE_APPUI_EXTERNE: 'Structure d’appui externe (dont DAC)',
  MAIA: 'MAIA',
  PFIDASS: 'PFIDASS',
  CLIC: 'CLIC',
  AUTRE_PARCOURS_COMPLEXE: 'Autre dispositif de parcours complexe',
  OXYMETRE: 'Oxymètre',
  STETHOSCOPE: 'Stéthoscope',
  DERMATOSCOPE: 'Dermatoscope',
  OTOSCOPE: 'Otoscope',
  GLUCOMETRE: 'Glucomètre',
  ECG: 'Électrocardiogramme (ECG)',
  DOPPLER: 'Doppler',
  ECHOGRAPHE: 'Échographe',
  TENSIOMETRE: 'Tensiomètre',
  CAMERA: 'Caméra',
  TESTS_VISUELS_AUDIOGRAMME: 'Tests visuels, audiogramme',
  EFR_SPIROMETRE_TYMPANOMETRE: 'EFR, spiromètre, tympanomètre',
};
