import type { Provenance, Ruleset } from './ruleset';

const guide = (ref: string, note?: string): Provenance => ({ source: 'guide-2023', ref, ...(note ? { note } : {}) });
const letter = (note: string): Provenance => ({ source: 'letter-2023', ref: 'lettre aux présidents de CPAM, campagne 2023', note });
const interp = (ref: string, note: string): Provenance => ({ source: 'interpretation', ref, note });

/** End of a day in Europe/Paris (CET in winter), inclusive. */
const endOfDayParis = (date: string) => `${date}T23:59:59.999+01:00`;

const LAP_EXEMPT = [
  'anesthesie-reanimation-chirurgicale',
  'chirurgie-generale',
  'radiodiagnostic-imagerie-medicale',
  'neurochirurgie',
  'ophtalmologie',
  'chirurgie-urologique',
  'stomatologie',
  'reanimation-medicale',
  'nephrologie',
  'anatomo-cyto-pathologie',
  'biologie-medicale',
  'chirurgie-orthopedique-traumatologie',
  'chirurgie-infantile',
  'chirurgie-maxillo-faciale',
  'chirurgie-maxillo-faciale-stomatologie',
  'chirurgie-plastique-reconstructrice-esthetique',
  'chirurgie-thoracique-cardio-vasculaire',
  'chirurgie-vasculaire',
  'chirurgie-viscerale-digestive',
  'medecine-bucco-dentaire',
  'chirurgie-orale',
  'hematologie',
  'medecine-nucleaire',
  'oncologie-medicale',
  'oncologie-radiotherapie',
  'radiotherapie',
  'medecine-genetique',
];

const OTHER_SPECIALTIES = [
  'medecine-generale',
  'cardiologie',
  'dermatologie',
  'gastro-enterologie',
  'endocrinologie',
  'gynecologie-obstetrique',
  'gynecologie-medicale',
  'pediatrie',
  'psychiatrie',
  'pneumologie',
  'rhumatologie',
  'neurologie',
  'orl',
  'medecine-interne',
  'geriatrie',
];

/**
 * FS-2023: the *Guide méthodologique Forfait structure 2023* with the letter's adjustments
 * (seed 004) and this project's interpretations INT-1…INT-12 (docs/rules.md).
 * Immutable once a campaign uses it: changes during the campaign are CampaignRuleAmended events.
 */
export const FS_2023: Ruleset = {
  id: 'FS-2023',
  version: '1',
  year: 2023,
  status: 'primary',
  provenance: [guide('whole guide'), letter('ajustements de la campagne 2023')],
  pointValueCents: 700, // guide §IV: valeur du point 7 €
  assessedOn: '2023-12-31', // guide §IV: apprécié au 31/12/2023, pas de proratisation
  volet1: {
    points: 280, // guide §I: 280 points, tous prérequis
    indicators: [
      {
        code: 'V1_SEGUR_LAP',
        kind: 'segur-lap',
        label: 'Logiciel référencé Ségur avec LAP certifié HAS (messagerie sécurisée intégrée)',
        provenance: [
          guide('§I.1'),
          guide('§I.2', 'MSSanté intégrée à l’indicateur 1 à compter de 2023'),
          letter('équipement et justificatifs jusqu’au 31/01/2024'),
        ],
      },
      {
        code: 'V1_SESAM_VITALE',
        kind: 'automated-neutralised',
        mode: 'deemed-met',
        label: 'Version du cahier des charges SESAM-Vitale 1.40 addendum 8',
        provenance: [
          guide('§I.3', 'neutralisé cette année'),
          letter('reporté au 31/12/2024, pas de pénalisation'),
          interp('INT-3', 'réputé atteint pour le prérequis'),
        ],
      },
      {
        code: 'V1_TELETRANSMISSION',
        kind: 'teletransmission',
        target: { fse: 2, total: 3 }, // guide §I.4: FSE / total ≥ 2/3, comparé en entiers
        label: 'Taux de télétransmission ≥ 2/3',
        provenance: [guide('§I.4')],
      },
      {
        code: 'V1_HORAIRES',
        kind: 'horaires',
        label: 'Affichage des horaires d’ouverture du cabinet dans Annuaire santé',
        provenance: [guide('§I.5')],
      },
    ],
  },
  volet2: {
    indicators: [
      {
        code: 'V2_AAT',
        kind: 'rate',
        points: 30.5,
        target: { num: 70, den: 1 },
        label: 'Taux d’AAT dématérialisés',
        provenance: [guide('§II.1', 'objectif 70 %'), letter('objectif AAT ajusté à 70 % au lieu de 90 %')],
      },
      { code: 'V2_CMATMP', kind: 'rate', points: 30.5, target: { num: 45, den: 1 }, label: 'Taux de CM AT/MP dématérialisés', provenance: [guide('§II.1')] },
      {
        code: 'V2_PSE',
        kind: 'rate',
        points: 30.5,
        target: { num: 80, den: 1 },
        label: 'Taux de protocoles de soins électroniques',
        provenance: [guide('§II.1')],
      },
      {
        code: 'V2_DCMT',
        kind: 'rate',
        points: 22.5,
        target: { num: 90, den: 1 },
        label: 'Taux de déclarations médecin traitant dématérialisées',
        provenance: [guide('§II.1')],
        neutralisedForSpecialties: {
          provenance: interp(
            'INT-2',
            '« neutralisé » pour les généralistes (guide §II.1, lettre) : réputé atteint, « pour ne pas pénaliser » ; liste dcmtNeutralisedSpecialties, mode dcmtNeutralisation',
          ),
        },
      },
      {
        code: 'V2_SPE',
        kind: 'rate',
        points: 18,
        target: { num: 20, den: 1 },
        label: 'Taux de prescriptions de transport dématérialisées',
        provenance: [guide('§II.1')],
      },
      {
        code: 'V2_DSG',
        kind: 'rate',
        points: 18,
        target: { num: 10, den: 1 },
        label: 'Taux de déclarations de grossesse dématérialisées',
        provenance: [guide('§II.1', 'nouveauté 2023')],
      },
      {
        code: 'V2_DMP',
        kind: 'rate',
        points: 48,
        target: { num: 10, den: 1 },
        label: 'Alimentation du DMP',
        provenance: [guide('§II.1', 'autres usages'), letter('objectif DMP réajusté à 10 % au lieu de 20 %')],
      },
      {
        code: 'V2_MSS',
        kind: 'rate',
        points: 40,
        target: { num: 5, den: 1 },
        label: 'Usage de la messagerie de santé de Mon espace santé',
        provenance: [guide('§II.1', 'autres usages')],
      },
      {
        code: 'V2_ORDONNANCE_NUMERIQUE',
        kind: 'rate',
        points: 40,
        target: { num: 30, den: 1 },
        label: 'Usage de l’ordonnance numérique',
        provenance: [guide('§II.1', 'nouveauté 2023')],
      },
      {
        code: 'V2_APCV',
        kind: 'count',
        points: 40,
        atLeast: 1,
        label: 'Usage de l’application carte Vitale (au moins une FSE)',
        provenance: [guide('§II.1', 'nouveauté 2023')],
      },
      { code: 'V2_CODAGE', kind: 'declared', points: 50, label: 'Capacité à coder des données médicales', provenance: [guide('§II.2')] },
      {
        code: 'V2_COORDINATION',
        kind: 'declared',
        points: 120,
        label: 'Implication dans des démarches de prise en charge coordonnée',
        provenance: [guide('§II.3'), letter('reste optionnel dans le volet 2')],
        allowed: { field: 'modalities', list: 'coordinationModalities', refused: ['GROUPE_QUALITE', 'PAERPA', 'DAC', 'PRADO'] },
      },
      {
        code: 'V2_SERVICES_PATIENTS',
        kind: 'declared',
        points: 70,
        label: 'Amélioration du service offert aux patients (parcours complexes)',
        provenance: [guide('§II.4')],
        allowed: { field: 'modalities', list: 'servicesModalities', refused: ['PLATEFORME_RDV', 'DAC'] },
      },
      {
        code: 'V2_MAITRE_STAGE',
        kind: 'declared',
        points: 50,
        label: 'Encadrement des jeunes étudiants en médecine (maître de stage)',
        // guide §II.5: « déclarer sur amelipro chaque année accueillir un étudiant en médecine réalisant un
        // stage ambulatoire de niveau 1 ou des étudiants réalisant un stage d'externat en médecine générale »
        declares: 'accueillir dans l’année un interne en médecine en stage ambulatoire de niveau 1 ou des étudiants en stage d’externat en médecine générale',
        provenance: [guide('§II.5', 'liste des étudiants accueillis et dates des stages tenues à disposition pour un contrôle')],
      },
      {
        code: 'V2_VIDEO',
        kind: 'declared',
        points: 50,
        label: 'Équipement de vidéotransmission sécurisée',
        provenance: [guide('§II.6', 'solutions grand public gratuites exclues')],
      },
      {
        code: 'V2_EQUIPEMENT_CONNECTE',
        kind: 'declared',
        points: 25,
        label: 'Équipement médical connecté',
        provenance: [guide('§II.7')],
        allowed: { field: 'devices', list: 'connectedDevices', refused: ['BALANCE', 'TOISE', 'THERMOMETRE', 'APPLICATION_NON_MEDICALE'] },
      },
      {
        code: 'V2_SAS',
        kind: 'sas',
        points: 200,
        label: 'Participation au Service d’accès aux soins (SAS)',
        provenance: [guide('§II.8', 'plateforme SAS, ou attestation du président de CPTS')],
      },
    ],
  },
  lists: {
    // guide §II.3 (prise en charge coordonnée); the DAC is refused there.
    coordinationModalities: ['MSP', 'ESP', 'ESS', 'CPTS', 'RCP', 'RESEAU', 'HAD_EHPAD', 'ASALEE'],
    // guide §II.4: « une structure d'appui externe (…, dispositif d'appui à la coordination etc.) »: the DAC is declared as STRUCTURE_APPUI_EXTERNE.
    servicesModalities: ['RESSOURCE_COORDINATION', 'STRUCTURE_APPUI_EXTERNE', 'MAIA', 'PFIDASS', 'CLIC', 'ASALEE', 'AUTRE_PARCOURS_COMPLEXE'],
    connectedDevices: [
      'OXYMETRE',
      'STETHOSCOPE',
      'DERMATOSCOPE',
      'OTOSCOPE',
      'GLUCOMETRE',
      'ECG',
      'DOPPLER',
      'ECHOGRAPHE',
      'TENSIOMETRE',
      'CAMERA',
      'TESTS_VISUELS_AUDIOGRAMME',
      'EFR_SPIROMETRE_TYMPANOMETRE',
    ],
    lapExemptSpecialties: LAP_EXEMPT,
    dcmtNeutralisedSpecialties: ['medecine-generale'],
    // Empty until the caisse loads them (spec: an empty list is not checked).
    sasDepartements: [],
    sasSoftware: [],
    segurSolutions: [],
    hasLap: [],
  },
  parameters: {
    segurDeadline: endOfDayParis('2024-01-31'),
    sasAttestationDeadline: null,
    hoursServiceDeadline: endOfDayParis('2023-12-31'),
    hoursBackOfficeDeadline: endOfDayParis('2024-01-31'),
    dcmtNeutralisation: 'deemed-met',
    mssReportOver: 'all-nine',
    firstYearWithoutHistory: false,
    dpiRequiresLap: true,
    paperDatedBy: 'receipt',
    eligibility: 'any-day-of-year',
    recoveryLimitationYears: 3,
    segurCarryOverFrom: 2023,
  },
  dataProvenance: {
    coordinationModalities: [guide('§II.3')],
    servicesModalities: [guide('§II.4', 'DAC déclaré comme structure d’appui externe')],
    connectedDevices: [guide('§II.7')],
    lapExemptSpecialties: [guide('annexe 1', 'spécialités exonérées de LAP pour 2023')],
    dcmtNeutralisedSpecialties: [interp('INT-2', 'DCMT neutralisé pour les généralistes')],
    sasDepartements: [guide('§II.8', '« seuls les médecins exerçant dans un département dans lequel le SAS est déployé »')],
    sasSoftware: [guide('§II.8', '« les services du ministère de la santé et de la prévention tiennent à jour la liste des logiciels »')],
    segurSolutions: [
      guide('§I.1.a', 'solutions référencées Ségur, liste publiée sur esante.gouv.fr'),
      { source: 'ameli-news-2023', ref: 'seed 002', note: 'la liste complète des éditeurs référencés est disponible sur le site esante.gouv.fr' },
    ],
    hasLap: [guide('§I.1.a', 'LAP certifiés HAS, liste publiée sur has-sante.fr')],
    sasAttestationDeadline: [
      interp('spec « SAS »', 'attestation du président de CPTS reçue au plus tard à la clôture en vigueur, prolongations comprises (null), sauf amendement'),
    ],
    segurDeadline: [
      letter('équipement, déclaration et justificatifs Ségur jusqu’au 31 janvier 2024'),
      { source: 'ameli-news-2023', ref: 'seed 002', note: 'jusqu’au 31 janvier 2024 pour s’équiper, déclarer … et transmettre leur justificatif' },
    ],
    hoursServiceDeadline: [guide('§I.5', 'service de saisie des horaires au 31/12/2023')],
    hoursBackOfficeDeadline: [guide('§I.5', 'back office de la CPAM au 31/01/2024')],
    dcmtNeutralisation: [interp('INT-2', 'réputé atteint')],
    mssReportOver: [interp('INT-4', '« sur les autres usages de téléservices » : les neuf autres items de l’indicateur 1')],
    firstYearWithoutHistory: [
      interp(
        'INT-6',
        'l’absence d’historique dans ce système ne prouve pas une première année : la fiche du médecin (firstDeclarationYear), une campagne antérieure enregistrée ou le début du conventionnement en décident',
      ),
    ],
    dpiRequiresLap: [guide('§I.1.c NB', 'DPI de l’établissement')],
    paperDatedBy: [interp('INT-8', 'formulaires papier datés de leur réception par la caisse')],
    eligibility: [
      guide('§IV', '« appréciée au 31/12/2023 … aucune proratisation en cas de cessation d’activité en cours d’année »'),
      interp('INT-9', 'conventionné au moins un jour de l’année'),
    ],
    recoveryLimitationYears: [
      interp('spec « After the campaign »', 'prescription de 3 ans après paiement hors fraude (base légale incertaine pour ce forfait)'),
    ],
    segurCarryOverFrom: [
      {
        source: 'ameli-news-2023',
        ref: 'seed 002',
        note: 'l’indicateur Ségur est nouveau en 2023 (il remplace les indicateurs DMP et MSS) : un justificatif Ségur validé ne fait foi qu’à partir de la campagne 2023',
      },
    ],
  },
  prefillSources: [
    { indicator: 'V1_SEGUR_LAP', source: 'SONS', provenance: guide('§I.1.b', 'pré-remplissage à partir du dispositif SONS') },
    { indicator: 'V1_HORAIRES', source: 'ANNUAIRE_SANTE', provenance: guide('§I.5', 'service de saisie des horaires de cabinet') },
  ],
  specialties: {
    catalogue: [...OTHER_SPECIALTIES, ...LAP_EXEMPT],
    generalPractice: 'medecine-generale',
    provenance: [guide('annexe 1')],
  },
  interpretations: {
    segurJustificatif: {
      whenNotPrefilled: true,
      whenSoftwareChanged: true,
      whenFirstYear: true,
      carryOverEarlierValidation: true,
      sameSoftwareFields: ['editor', 'name'],
      provenance: interp(
        'INT-1, INT-7',
        'guide §I.1.c-d « la 1ère année ou si modification » : non pré-rempli, première année, ou logiciel ou LAP autre ({ editor, name }) que celui du dernier justificatif validé ; « celle que vous avez déjà envoyée fera foi » (seed 000) pour le LAP quand il nomme le même LAP, pour le logiciel Ségur à partir de la campagne 2023 ; seuls les justificatifs validés par la CPAM, avec les sujets requis (SEGUR ou DPI_USAGE, LAP, LAP_CERTIFICATION_EN_COURS), comptent',
      ),
    },
    sesamVitale: { provenance: interp('INT-3', 'neutralisé 2023 : réputé atteint pour le prérequis') },
    mssReport: {
      from: 'V2_MSS',
      provenance: interp(
        'INT-4',
        'report des 40 points MSS au prorata des points de base en vigueur des items désignés par mssReportOver (lettre, guide §II.1)',
      ),
    },
    asaleeExclusive: {
      enabled: true,
      modality: 'ASALEE',
      provenance: interp('INT-5', 'guide §II.4 : ASALEE compte pour les services « si pas déclaré pour l’indicateur prise en charge coordonnée »'),
    },
  },
  controls: {
    contestationMonths: 2,
    fraudExempt: true,
    provenance: [
      interp(
        'spec « After the campaign »',
        'recours amiable sous 2 mois ; prescription de 3 ans après paiement hors fraude (base légale incertaine pour ce forfait)',
      ),
    ],
  },
};
