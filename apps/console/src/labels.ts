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

/** What a justificatif proves (api.md "Justificatifs", INT-7), as the agent reads it before deciding. */
export const SUBJECT_LABELS: Record<string, string> = {
  SEGUR: 'logiciel référencé Ségur',
  LAP: 'LAP certifié HAS',
  LAP_CERTIFICATION_EN_COURS: 'certification du LAP en cours',
  DPI_USAGE: 'usage du DPI de l’établissement',
};

/** The worklist's "Prouve" cell: its subjects; none listed, the indicator itself; null (sent before subjects existed), the whole indicator as then declared. */
export function subjectsText(subjects: readonly string[] | null, indicator: string): string {
  if (subjects === null) return 'tout l’indicateur tel que déclaré au dépôt (déposé avant le détail des preuves)';
  if (subjects.length === 0) return indicator === 'V2_SAS' ? 'participation au SAS des médecins listés' : 'l’indicateur déclaré';
  return subjects.map((s) => label(SUBJECT_LABELS, s)).join(', ');
}

const RULE_KINDS: Record<string, string> = {
  rate: 'taux mesuré par l’Assurance Maladie',
  count: 'nombre mesuré par l’Assurance Maladie',
  declared: 'déclaré sur l’honneur',
  sas: 'participation au SAS attestée',
  'segur-lap': 'logiciel référencé Ségur et LAP certifié HAS',
  'automated-neutralised': 'indicateur neutralisé',
  'automated-flag': 'mesure oui / non de l’Assurance Maladie',
  teletransmission: 'taux de télétransmission mesuré',
  horaires: 'horaires affichés dans Annuaire santé',
};

/** A rule's kind and parameters (GET …/entitlement/explanation), in words: "taux mesuré… ; objectif 70 % ; 30 points de base". */
export function ruleText(parameters: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof parameters.kind === 'string') parts.push(label(RULE_KINDS, parameters.kind));
  const target = parameters.target as { num?: number; den?: number; fse?: number; total?: number } | undefined;
  if (target?.num !== undefined && target.den !== undefined)
    parts.push(`objectif ${(target.num / target.den).toLocaleString('fr-FR', { maximumFractionDigits: 2 })} %`);
  if (target?.fse !== undefined && target.total !== undefined) parts.push(`objectif ${target.fse}/${target.total} des feuilles de soins`);
  if (typeof parameters.atLeast === 'number') parts.push(`au moins ${parameters.atLeast}`);
  if (typeof parameters.declares === 'string') parts.push(`le médecin déclare : ${parameters.declares}`);
  if (typeof parameters.mode === 'string' || parameters.neutralised)
    parts.push(`neutralisé (${(parameters.mode ?? (parameters.neutralised as { mode: string }).mode) === 'excluded' ? 'hors forfait' : 'réputé atteint'})`);
  if (typeof parameters.points === 'number') parts.push(`${parameters.points.toLocaleString('fr-FR')} points de base`);
  return parts.join(' ; ');
}

const SOURCES: Record<string, string> = {
  'guide-2023': 'guide 2023',
  'letter-2023': 'lettre 2023',
  'ameli-news-2023': 'actualité ameli 2023',
  'amelipro-guide': 'guide amelipro',
  interpretation: 'interprétation',
  secondary: 'source secondaire',
};

/** Where a rule comes from: "guide 2023 §II.3", "interprétation INT-2". */
export const sourceText = (p: { source: string; ref: string }): string => `${label(SOURCES, p.source)} ${p.ref}`;
