import type { OpenAPIObject } from '@nestjs/swagger';
import type { ErrorCode } from '@forfait/events';
import { STATUS_OF_CODE } from './errors/app-error.filter';
import { AUDIT_BUNDLE_SCHEMA } from './audit/bundle';
import { OPERATION_ANSWERS } from './openapi-answers';
import { completeSchema } from './openapi-shapes';

type Schema = Record<string, unknown>;
interface OperationDoc {
  /** The success answer: its status, schema and an example. */
  ok?: { status: number; schema?: Schema; example?: unknown; description?: string; contentType?: string; headers?: Record<string, string> };
  /** Stable error codes this operation answers (api.md's table), beyond the common ones. */
  errors?: ErrorCode[];
  /** Query parameters the controller does not declare itself. */
  query?: { name: string; description: string }[];
}

/** The audit bundle's own JSON Schema (served at /v1/schemas/audit-bundle.json), as the answer's schema. */
function bundleSchema(): Schema {
  const { $schema: _schema, $id: _id, ...schema } = AUDIT_BUNDLE_SCHEMA;
  // Where the bundle's schema leaves an object open (no additionalProperties), it says so.
  const open = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(open);
    if (typeof s !== 'object' || s === null) return s;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- Object.fromEntries infers any values: the cast says what the schema is
    const out = Object.fromEntries(
      Object.entries(s).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, open(ps)])) : open(v)]),
    ) as Schema;
    if (out.properties && out.additionalProperties === undefined) out.additionalProperties = true;
    return out;
  };
  return {
    ...(open(schema) as Schema),
    description: 'format forfait-structure-audit-bundle/2 : son JSON Schema est servi par GET /v1/schemas/audit-bundle.json',
  };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const obj = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({ type: 'object', properties, required });
const str = (example?: string): Schema => ({ type: 'string', ...(example ? { example } : {}) });
const int = (example?: number): Schema => ({ type: 'integer', ...(example !== undefined ? { example } : {}) });

const COMMAND_ANSWER = obj({ eventId: str('0b6c…'), revision: int(3), position: str('1042') });
const COMMAND_EXAMPLE = { eventId: '0b6c2f1e-4c1a-4d39-9f57-2b8f3c7e9a10', revision: 3, position: '1042' };
const IMPORT_REPORT = obj({
  received: int(2),
  appended: int(1),
  duplicates: int(0),
  rejected: { type: 'array', items: obj({ index: int(1), line: int(3), code: str('VALIDATION_FAILED'), message: str() }, ['index', 'code', 'message']) },
  events: { type: 'array', items: obj({ index: int(0), eventId: str(), streamId: str('declaration-10000000017-2023') }) },
  status: { type: 'string', enum: ['complete', 'partial', 'rejected'] },
  summary: str('2 éléments reçus : 1 événement ajouté, 0 doublon ignoré, 1 élément rejeté'),
});
const INDICATOR = obj(
  {
    code: str('V2_AAT'),
    met: { type: 'boolean' },
    points: { type: 'number', example: 30.5 },
    reason: str('taux 70 % ≥ objectif 70 % (70/100)'),
    evidence: { type: 'array', items: str() },
  },
  ['code', 'met', 'reason', 'evidence'],
);
const ENTITLEMENT = obj({
  rpps: str('10000000017'),
  year: int(2023),
  ruleset: str('FS-2023'),
  rulesetVersion: str('1'),
  knownAt: str('2024-01-20T09:00:00.000Z'),
  volet1: obj({ met: { type: 'boolean' }, points: { type: 'number' }, indicators: { type: 'array', items: INDICATOR } }),
  volet2: obj({ points: { type: 'number' }, indicators: { type: 'array', items: INDICATOR } }),
  eligibility: obj({ eligible: { type: 'boolean' }, reason: str() }, ['eligible']),
  totalPoints: { type: 'number', example: 1163 },
  totalPointsExact: str('1163'),
  amountCents: int(814100),
  paidCents: int(0),
  balanceCents: int(814100),
});
const HISTORY_EVENT = obj(
  Object.fromEntries(
    ['eventId', 'streamId', 'type', 'recordedAt', 'effectiveAt', 'channel', 'hash', 'prevHash', 'position']
      .map((k) => [k, str()])
      .concat([
        ['revision', int()],
        ['actor', { type: 'object' }],
        ['data', { type: 'object' }],
      ]),
  ),
);

/**
 * What each operation answers, by `METHOD path` as the OpenAPI document names it (api.md). Those
 * not listed still get the error envelope and the common errors.
 */
const OPERATIONS: Record<string, OperationDoc> = {
  'POST /v1/campaigns': {
    ok: { status: 201, schema: { type: 'object' }, description: 'la campagne, telle que GET la répond' },
    errors: ['CAMPAIGN_EXISTS', 'RULESET_UNKNOWN', 'RULESET_YEAR_MISMATCH', 'INVALID_WINDOW'],
  },
  'POST /v1/campaigns/{year}/deadline-extensions': {
    ok: {
      status: 201,
      schema: { type: 'object' },
      example: { eventId: '…', revision: 2, previousClosesAt: '2024-02-04T23:59:59.999+01:00', closesAt: '2024-02-11T23:59:59.999+01:00' },
    },
    errors: ['CAMPAIGN_NOT_FOUND', 'EXTENSION_NOT_LATER', 'CALCULATION_ALREADY_RUN', 'STALE_REVISION', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'POST /v1/campaigns/{year}/rule-amendments': {
    ok: { status: 201, schema: { type: 'object' } },
    errors: ['CAMPAIGN_NOT_FOUND', 'AMENDMENT_INVALID', 'INDICATOR_UNKNOWN', 'STALE_REVISION', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'GET /v1/campaigns/{year}': {
    ok: {
      status: 200,
      schema: obj({
        year: int(2023),
        ruleset: str('FS-2023'),
        rulesetVersion: str('1'),
        status: str('open'),
        opensAt: str(),
        closesAt: str(),
        indicators: { type: 'object' },
        lists: { type: 'object' },
        parameters: { type: 'object' },
        amendments: { type: 'array' },
        deadlines: { type: 'array' },
      }),
    },
    errors: ['CAMPAIGN_NOT_FOUND', 'INVALID_INSTANT'],
  },
  'POST /v1/campaigns/{year}/calculations': {
    ok: { status: 201, schema: { type: 'object' }, description: 'un médecin : les droits enregistrés ; tous : 202 { jobId }' },
    errors: ['CAMPAIGN_NOT_FOUND', 'JOBS_UNAVAILABLE'],
  },
  'PUT /v1/doctors/{rpps}': {
    ok: {
      status: 200,
      schema: { type: 'object' },
      example: { rpps: '10000000017', specialty: 'medecine-generale', caisse: '441', department: '44', changed: true, revision: 0 },
    },
    errors: ['INVALID_RPPS', 'STALE_REVISION'],
  },
  'POST /v1/doctors/{rpps}/campaigns/{year}/declarations': {
    ok: { status: 201, schema: COMMAND_ANSWER, example: COMMAND_EXAMPLE },
    errors: [
      'INVALID_RPPS',
      'CHANNEL_NOT_ALLOWED',
      'EFFECTIVE_AT_NOT_ALLOWED',
      'CAMPAIGN_NOT_FOUND',
      'CAMPAIGN_CLOSED',
      'SEGUR_DEADLINE_PASSED',
      'STALE_REVISION',
      'MODALITY_NOT_ALLOWED',
      'DEVICE_NOT_ALLOWED',
      'SOFTWARE_NOT_REFERENCED',
      'ATTESTATION_REQUIRED',
      'VALUE_INVALID',
      'EFFECTIVE_AT_IN_FUTURE',
      'IDEMPOTENCY_KEY_REUSED',
    ],
  },
  'POST /v1/doctors/{rpps}/campaigns/{year}/transmissions': {
    ok: { status: 201, schema: COMMAND_ANSWER, example: COMMAND_EXAMPLE },
    errors: ['CAMPAIGN_NOT_FOUND', 'CAMPAIGN_CLOSED', 'STALE_REVISION', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'POST /v1/doctors/{rpps}/campaigns/{year}/payments': {
    ok: { status: 201, schema: COMMAND_ANSWER, example: COMMAND_EXAMPLE },
    errors: [
      'DOCTOR_NOT_FOUND',
      'CAMPAIGN_NOT_FOUND',
      'PAYMENT_DUPLICATE',
      'PAYMENT_ABOVE_MAXIMUM',
      'EFFECTIVE_AT_IN_FUTURE',
      'STALE_REVISION',
      'IDEMPOTENCY_KEY_REUSED',
    ],
  },
  'POST /v1/imports/prefills': { ok: { status: 200, schema: IMPORT_REPORT } },
  'POST /v1/imports/measures': {
    ok: { status: 200, schema: IMPORT_REPORT, description: 'JSON : le rapport ; text/csv : 202 { jobId, statusUrl }' },
    errors: ['JOBS_UNAVAILABLE', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_CONTENT_ENCODING', 'RATE_LIMITED', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'GET /v1/jobs/{id}': {
    ok: {
      status: 200,
      schema: obj(
        {
          id: str(),
          queue: str(),
          state: str('completed'),
          progress: { description: 'ce que le travail a fait jusque-là : un nombre (0 au départ) ou un objet { done, total }' },
          result: { type: 'object' },
        },
        ['id', 'queue', 'state'],
      ),
    },
    errors: ['JOB_NOT_FOUND', 'JOBS_UNAVAILABLE'],
  },
  'POST /v1/doctors/{rpps}/campaigns/{year}/justificatifs': {
    ok: {
      status: 201,
      schema: obj(
        {
          id: str(),
          sha256: str(),
          size: int(),
          mediaType: str('application/pdf'),
          status: str('pending'),
          notice: str(),
          eventId: str('0b6c…'),
          revision: int(3),
          position: str('1042'),
        },
        ['id', 'sha256', 'size', 'mediaType', 'status'],
      ),
    },
    errors: [
      'FILE_REQUIRED',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'CAMPAIGN_NOT_FOUND',
      'CHANNEL_NOT_ALLOWED',
      'EFFECTIVE_AT_NOT_ALLOWED',
      'EFFECTIVE_AT_IN_FUTURE',
      'VALUE_INVALID',
      'IDEMPOTENCY_KEY_REUSED',
    ],
  },
  'POST /v1/justificatifs/{id}/decision': {
    ok: { status: 201, schema: { type: 'object' } },
    errors: ['JUSTIFICATIF_NOT_FOUND', 'JUSTIFICATIF_ALREADY_DECIDED', 'REASON_REQUIRED', 'STALE_REVISION', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'GET /v1/justificatifs': {
    ok: {
      status: 200,
      schema: obj({
        caisse: str('751'),
        status: str('pending'),
        items: {
          type: 'array',
          items: obj(
            {
              kind: { type: 'string', enum: ['justificatif', 'sas-attestation'] },
              id: str('jf-2023-10000000025-eedc3038d6c2'),
              rpps: str('10000000025'),
              year: int(2023),
              caisse: str('751'),
              indicator: str('V1_SEGUR_LAP'),
              status: { type: 'string', enum: ['pending', 'validated', 'rejected'] },
              sha256: str(),
              size: int(691),
              mediaType: str('application/pdf'),
              subjects: { type: 'array', items: str('SEGUR') },
              submittedAt: str('2024-01-17T20:45:00.000Z'),
              decidedAt: { type: 'string', nullable: true },
              reason: { type: 'string', nullable: true },
              revision: {
                type: 'integer',
                nullable: true,
                description: 'la révision du flux où la décision s’écrit (celui du médecin-année ; celui de l’attestation SAS) : à renvoyer dans If-Match',
              },
            },
            ['kind', 'id', 'rpps', 'year', 'status', 'sha256', 'size', 'mediaType', 'submittedAt', 'revision'],
          ),
        },
      }),
      example: {
        caisse: '751',
        status: 'pending',
        items: [
          {
            kind: 'justificatif',
            id: 'jf-2023-10000000025-eedc3038d6c2',
            rpps: '10000000025',
            year: 2023,
            caisse: '751',
            indicator: 'V1_SEGUR_LAP',
            status: 'pending',
            sha256: '98b163a7df88ee80da2bfd74a83cfd962d63da50e292b408f5aa5d7ab2fc1475',
            size: 691,
            mediaType: 'application/pdf',
            subjects: ['SEGUR', 'LAP'],
            submittedAt: '2024-01-17T20:45:00.000Z',
            decidedAt: null,
            reason: null,
            revision: 7,
          },
        ],
      },
    },
    errors: ['READ_MODELS_BEHIND'],
    query: [
      { name: 'caisse', description: 'le code à 3 chiffres de la CPAM (un agent : la sienne)' },
      { name: 'status', description: 'pending (en attente) | validated (validé) | rejected (rejeté)' },
    ],
  },
  'GET /v1/doctors/{rpps}/campaigns/{year}/entitlement': {
    ok: { status: 200, schema: ENTITLEMENT, headers: { ETag: 'la révision du flux médecin-année, pour If-Match (« -1 » : aucun événement encore)' } },
    errors: ['INVALID_RPPS', 'CAMPAIGN_NOT_FOUND', 'DOCTOR_NOT_FOUND', 'INVALID_INSTANT', 'READ_MODELS_BEHIND'],
  },
  'GET /v1/doctors/{rpps}/campaigns/{year}/entitlement/explanation': { errors: ['INVALID_RPPS', 'CAMPAIGN_NOT_FOUND', 'DOCTOR_NOT_FOUND', 'INVALID_INSTANT'] },
  'GET /v1/doctors/{rpps}/campaigns/{year}/entitlement/diff': {
    ok: {
      status: 200,
      schema: obj({
        from: str(),
        to: str(),
        changes: { type: 'array', items: obj({ code: str(), field: str(), before: {}, after: {}, eventIds: { type: 'array', items: str() } }) },
      }),
    },
    errors: ['INVALID_INSTANT', 'CAMPAIGN_NOT_FOUND', 'RATE_LIMITED'],
  },
  'GET /v1/doctors/{rpps}/history': {
    ok: {
      status: 200,
      schema: obj({
        rpps: str(),
        year: int(),
        knownAt: { type: 'string', nullable: true, description: 'l’instant demandé (knownAt), null sans lui' },
        events: { type: 'array', items: HISTORY_EVENT },
      }),
      headers: { ETag: 'avec year : la révision du flux médecin-année, pour If-Match' },
    },
    errors: ['INVALID_RPPS', 'INVALID_INSTANT', 'READ_MODELS_BEHIND'],
  },
  'GET /v1/doctors': {
    ok: {
      status: 200,
      schema: obj({
        doctors: {
          type: 'array',
          items: obj({
            rpps: str('10000000017'),
            name: { type: 'string', nullable: true, description: 'le nom de la fiche, null si elle n’en a pas (extension d’api.md)' },
            specialty: str('medecine-generale'),
            caisse: str('441'),
            caisseName: {
              type: 'string',
              nullable: true,
              description: 'le nom de la CPAM d’après son code (libs/events/src/caisses.ts), null si le référentiel ne la nomme pas (extension d’api.md)',
            },
            department: str('44'),
            years: { type: 'array', items: int(2023) },
          }),
        },
      }),
    },
    errors: ['READ_MODELS_BEHIND'],
  },
  'GET /v1/controls': {
    ok: { status: 200, schema: obj({ caisse: str('441'), status: str('open'), items: { type: 'array', items: { type: 'object' } } }) },
    errors: ['READ_MODELS_BEHIND'],
  },
  'GET /v1/contestations': {
    ok: { status: 200, schema: obj({ caisse: str('441'), items: { type: 'array', items: { type: 'object' } } }) },
    errors: ['READ_MODELS_BEHIND'],
  },
  'GET /v1/campaigns': {
    ok: {
      status: 200,
      schema: obj({
        campaigns: {
          type: 'array',
          items: obj({
            year: int(2023),
            ruleset: str('FS-2023'),
            rulesetVersion: str('1'),
            status: str('open'),
            opensAt: str('2023-12-11T00:00:00+01:00'),
            closesAt: str('2024-02-04T23:59:59.999+01:00'),
          }),
        },
      }),
    },
    errors: ['READ_MODELS_BEHIND'],
  },
  'GET /v1/campaigns/{year}/dashboard': {
    ok: { status: 200, schema: obj({ year: int(2023), caisses: { type: 'array', items: { type: 'object' } } }) },
    errors: ['READ_MODELS_BEHIND'],
  },
  'GET /v1/doctors/{rpps}/access-journal': { ok: { status: 200, schema: obj({ rpps: str(), reads: { type: 'array', items: { type: 'object' } } }) } },
  'GET /v1/justificatifs/{id}/file': {
    ok: {
      status: 200,
      contentType: '*/*',
      schema: { type: 'string', format: 'binary' },
      description: 'le fichier tel qu’il a été envoyé, avec son type jugé sur le contenu (Content-Type) et `Content-Disposition: inline`',
    },
  },
  'GET /health/metrics': {
    ok: {
      status: 200,
      contentType: 'text/plain',
      schema: { type: 'string' },
      description: 'format texte de Prometheus (version 0.0.4)',
      example: 'forfait_store_head_position 35\nforfait_projection_lag_events{projection="entitlement"} 0\nforfait_ready 1\n',
    },
  },
  'GET /v1/doctors/{rpps}/campaigns/{year}/recap.pdf': {
    ok: { status: 200, contentType: 'application/pdf', schema: { type: 'string', format: 'binary' } },
    errors: ['RATE_LIMITED'],
  },
  'GET /v1/doctors/{rpps}/campaigns/{year}/audit-bundle': {
    ok: { status: 200, schema: bundleSchema(), description: 'JSON, ou PDF avec Accept: application/pdf' },
    errors: ['RATE_LIMITED', 'CAMPAIGN_NOT_FOUND'],
  },
  'GET /v1/integrity': {
    ok: {
      status: 200,
      schema: obj(
        {
          ok: { type: 'boolean' },
          verifiedUpTo: str(),
          checkedEvents: int(),
          streams: int(),
          events: int(),
          lastFullCheck: { type: 'object', nullable: true, properties: { at: { type: 'string', format: 'date-time' }, ok: { type: 'boolean' } } },
          sweep: obj({
            afterPosition: str(),
            upToPosition: str(),
            fromLeaf: int(),
            toLeaf: int(),
            heads: int(),
            lastCompletedAt: { type: 'string', format: 'date-time', nullable: true },
          }),
          problems: { type: 'array', items: { type: 'object' } },
        },
        ['ok', 'problems'],
      ),
    },
    errors: ['RATE_LIMITED'],
  },
  'POST /v1/controls': {
    ok: { status: 201, schema: obj({ controlId: str('ctl-2023-10000000017-0a1b2c3d4e5f'), eventId: str(), revision: int(), position: str('1042') }) },
    errors: ['RECOVERY_TIME_BARRED', 'INDICATOR_UNKNOWN', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'GET /v1/controls/{id}': { ok: { status: 200, schema: { type: 'object' } }, errors: ['CONTROL_NOT_FOUND'] },
  'POST /v1/controls/{id}/contestations': {
    ok: { status: 201, schema: { type: 'object' } },
    errors: ['CONTROL_NOT_FOUND', 'CONTESTATION_TOO_LATE', 'CONTESTATION_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'POST /v1/log/witnesses': { ok: { status: 201, schema: obj({ name: str('witness.example/w1'), vkey: str() }, ['name', 'vkey']) } },
  'POST /v1/log/cosignatures': { errors: ['PAYLOAD_TOO_LARGE', 'COSIGNATURE_INVALID'] },
  'GET /v1/log/proof/inclusion': { errors: ['NOT_FOUND', 'TREE_SIZE_TOO_LARGE'] },
  'GET /v1/log/checkpoint': {
    ok: {
      status: 200,
      contentType: 'text/plain',
      schema: { type: 'string' },
      description: 'le point de contrôle signé (C2SP tlog-checkpoint) suivi des cosignatures des témoins',
    },
    errors: ['CHECKPOINT_NOT_FOUND'],
  },
  'GET /v1/schemas/audit-bundle.json': {
    ok: { status: 200, contentType: 'application/schema+json', schema: { type: 'object' }, description: 'le JSON Schema (2020-12) du dossier d’audit' },
  },
};

/**
 * The operations' summaries, in French (api.md: the API's users are the caisses' engineers, its
 * messages are French); they replace the controllers' English ones. Field names and codes stay.
 */
const SUMMARIES: Record<string, string> = {
  'GET /health': 'Vivacité et disponibilité : magasin d’événements, modèles de lecture (retard), Redis (travaux actifs ou non)',
  'GET /health/ready': 'Disponibilité seule : 503 tant que le magasin est injoignable ou que les modèles de lecture sont en retard',
  'GET /health/metrics': 'Métriques Prometheus : tête du magasin, points de reprise et retard des projections, Redis',
  'GET /v1/campaigns': 'Les campagnes ouvertes, par année (la plus récente d’abord) : période, référentiel et statut (la liste des campagnes de la console)',
  'POST /v1/campaigns': 'Ouvrir une campagne avec son référentiel de règles et sa période de déclaration',
  'POST /v1/campaigns/{year}/deadline-extensions': 'Reporter (ou rouvrir) la date limite de déclaration ; EXTENSION_NOT_LATER si elle n’est pas plus tardive',
  'POST /v1/campaigns/{year}/rule-amendments': 'Modifier une règle (objectif, points, neutralisation), une liste ou un paramètre, à compter de maintenant',
  'GET /v1/campaigns/{year}': 'La campagne : période, référentiel, modifications et historique des dates limites (knownAt facultatif)',
  'POST /v1/campaigns/{year}/calculations': 'Calculer et enregistrer les droits (un médecin, ou tous les médecins de la campagne en tâche de fond)',
  'GET /v1/doctors': 'Rechercher des médecins (modèle de lecture registry), 200 au plus, par début de RPPS ou de nom',
  'PUT /v1/doctors/{rpps}': 'Enregistrer la fiche du médecin (un événement seulement si quelque chose change)',
  'POST /v1/doctors/{rpps}/campaigns/{year}/declarations':
    'Déclarer un indicateur (à nouveau : une correction) ; les agents saisissent les formulaires papier avec leur effectiveAt',
  'POST /v1/doctors/{rpps}/campaigns/{year}/transmissions': 'Le « Transmettre » du médecin',
  'POST /v1/doctors/{rpps}/campaigns/{year}/payments': 'Enregistrer un paiement du forfait',
  'POST /v1/imports/prefills':
    'Pré-remplissages (SONS pour V1_SEGUR_LAP, ANNUAIRE_SANTE pour V1_HORAIRES) ; éléments rejetés indiqués par leur rang, renvoi idempotent',
  'POST /v1/imports/measures': 'Mesures automatiques : un lot JSON (200, rapport) ou un extrait text/csv (202, une tâche suivie sur /v1/jobs/{id})',
  'GET /v1/jobs/{id}': 'Une tâche de fond : état, avancement, résultat (imports, calculs, reconstructions, échéances)',
  'POST /v1/doctors/{rpps}/campaigns/{year}/justificatifs':
    'Déposer un justificatif (PDF, DOC, DOCX, ODT, ZIP, 7Z, JPEG, PNG, jugés sur leur contenu ; 10 Mo au plus)',
  'POST /v1/justificatifs/{id}/decision':
    'Valider ou rejeter un justificatif ou une attestation SAS de CPTS (agent de la caisse du médecin ; de chaque médecin listé pour une attestation)',
  'GET /v1/justificatifs': 'La liste de travail : les justificatifs d’une caisse par statut (un agent : sa caisse)',
  'GET /v1/justificatifs/{id}/file': 'Le fichier d’un justificatif, tel qu’il a été envoyé (lecteurs : le médecin, les agents de la caisse, les auditeurs)',
  'GET /v1/doctors/{rpps}/campaigns/{year}/entitlement':
    'Les droits tels que la caisse les connaissait à knownAt, avec motifs et preuves ; ETag : la révision du flux médecin-année',
  'GET /v1/doctors/{rpps}/history':
    'La piste d’audit : chaque événement du médecin (et de l’année), dans l’ordre d’enregistrement ; avec year, ETag : la révision du flux médecin-année',
  'GET /v1/controls': 'Les contrôles d’une caisse : ouverts, pièces en retard, contestés, clos',
  'POST /v1/controls': 'Ouvrir un contrôle sur un médecin-année et des indicateurs (contrôleur de la caisse du médecin)',
  'GET /v1/contestations': 'Les recours en attente de décision (commission de recours amiable)',
  'GET /v1/campaigns/{year}/dashboard': 'Tableau de bord de la campagne : déclarations par indicateur, transmises ou non, par caisse',
  'GET /v1/controls/{id}': 'Un contrôle : son état (indicateurs, constats, clôture, recours) et ses événements ; ETag du flux médecin-année',
  'POST /v1/controls/{id}/evidence-requests': 'Demander des pièces au médecin, avec une date limite',
  'POST /v1/controls/{id}/findings': 'Enregistrer un constat sur un indicateur contrôlé : confirmé ou invalidé (plus atteint à compter de maintenant)',
  'POST /v1/controls/{id}/closure': 'Clore : recalculer les droits avec les constats ; notifier un indu ou un complément',
  'POST /v1/controls/{id}/contestations': 'Le médecin conteste, dans les 2 mois de la notification (sinon CONTESTATION_TOO_LATE)',
  'POST /v1/controls/{id}/contestations/decision': 'Décider du recours : maintenir les constats ou les annuler',
  'GET /v1/doctors/{rpps}/campaigns/{year}/audit-bundle':
    'Le dossier d’audit (JSON, ou PDF avec Accept: application/pdf) : historique chaîné par empreintes, chronologie des droits, explication de chaque euro, contrôles ; vérifiable hors ligne',
  'GET /v1/schemas/audit-bundle.json': 'Le JSON Schema du dossier d’audit (format forfait-structure-audit-bundle/2), aussi dans docs/audit-bundle.schema.json',
  'GET /v1/doctors/{rpps}/campaigns/{year}/recap.pdf':
    'Le récapitulatif de la déclaration (comme amelipro) : ce qui a été déclaré, attesté sur l’honneur, quand, par quel canal',
  'GET /v1/doctors/{rpps}/access-journal':
    'Les lectures, par le personnel, de l’historique, des écarts et des dossiers d’un médecin : qui, quand, quoi (auditeur ; le médecin pour les siennes)',
  'GET /v1/access-journal': 'Les lectures, par le personnel, de l’historique, des écarts et des dossiers d’un médecin : qui, quand, quoi',
  'GET /v1/integrity':
    'Chaînes d’empreintes vérifiées depuis la dernière position vérifiée, et la tête de chaque flux contre son événement ; le recalcul complet est `npm run cli -- verify`',
  'GET /v1/imports':
    'Les lots d’import reçus, du plus récent au plus ancien, avec leurs éléments rejetés (agents et contrôleurs : ceux liés à leur caisse) (extension d’api.md)',
  'GET /v1/doctors/{rpps}/campaigns/{year}/entitlement/explanation':
    'Pourquoi chaque euro est dû : par indicateur sa règle (nature, paramètres, sources), ses points, ses euros, sa raison et les événements qui l’ont décidé (extension d’api.md)',
  'GET /v1/doctors/{rpps}/campaigns/{year}/entitlement/diff': 'Ce qui a changé dans les droits entre deux instants, et les événements qui l’ont changé',
  'GET /v1/log/checkpoint':
    'Le dernier point de contrôle signé (note signée C2SP tlog-checkpoint, avec les cosignatures des témoins), ou celui de ?treeSize= ; 404 CHECKPOINT_NOT_FOUND',
  'GET /v1/log/public-key': 'La clé de vérification du journal (signed note) et les clés cosignature/v1 des témoins',
  'GET /v1/log/leaves': 'Les feuilles à partir d’un rang (0 pour la première ; 1 000 au plus) : { leaves: [{ leafIndex, position, leaf, leafHash }] }',
  'GET /v1/log/proof/inclusion':
    'Chemin d’audit RFC 6962 d’une feuille (par la position de l’événement ou par son rang) ; 404 NOT_FOUND pour une position pas (encore) scellée ou dans aucun point de contrôle signé, 400 TREE_SIZE_TOO_LARGE au-delà du dernier point de contrôle',
  'GET /v1/log/proof/consistency': 'Preuve de cohérence RFC 6962 entre deux tailles d’arbre (§2.1.2)',
  'POST /v1/log/cosignatures':
    'Un témoin dépose le point de contrôle tel que servi, suivi de sa ligne tlog-cosignature (text/plain, 64 Kio au plus, sinon 413 PAYLOAD_TOO_LARGE) ; la clé doit être configurée ou enregistrée, et porter le nom du sujet (sub) du jeton du témoin ; 422 si elle ne se vérifie pas',
  'POST /v1/log/witnesses':
    'Enregistre la clé de vérification cosignature/v1 d’un témoin (admin) : { vkey } → 201 { name, vkey } ; le jeton du témoin doit avoir ce nom pour sujet (sub)',
  'POST /v1/sas-attestations':
    'Enregistrer l’attestation SAS d’un président de CPTS (guide §II.2, indicateur 8) : un document pour chaque médecin qu’elle liste',
  'GET /v1/console/sign-in': 'Comment la console se connecte : l’émetteur et le client OpenID Connect, ou le choix de rôle en développement',
  'GET /v1/console/me': 'L’appelant tel que l’API lit son jeton : rôle, caisse, RPPS (après la correspondance des revendications)',
  'POST /v1/dev/tokens': 'Développement seulement : un jeton de 15 minutes pour un rôle (404 en production)',
};

const READ_MODEL = (names: string) =>
  `${names.includes(',') || names.includes(' et ') ? 'les modèles de lecture' : 'le modèle de lecture'} ${names} (sur le secours en lecture avec READ_DATABASE_URL), une fois qu’${names.includes(',') || names.includes(' et ') ? 'ils atteignent' : 'il atteint'} \`minPosition\` (absent : la tête du magasin à l’arrivée de la requête) ; au-delà de READ_MODELS_WAIT_MS, 503 READ_MODELS_BEHIND`;
const REPLAY = (what: string) => `une relecture ${what} depuis le magasin (toujours à jour : le magasin est ce qu’écrivent les commandes)`;

/**
 * Where each query is served from (issue 12.2), added to its description; a test checks that every
 * GET of the document says it (test/read-models-queries.e2e-spec.ts).
 */
const SERVED_FROM: Record<string, string> = {
  '/v1/doctors/{rpps}/campaigns/{year}/entitlement': `sans knownAt, ${READ_MODEL('`entitlement` et `audit_trail` (l’ETag)')}, le médecin-année recalculé ; un médecin-année sans déclaration n’y a pas de ligne (la projection range les médecins-années par leurs déclarations) et est servi par ${REPLAY('de ses flux')}. Avec knownAt, ${REPLAY('des flux, tels que connus alors')}`,
  '/v1/doctors/{rpps}/history': `sans knownAt, ${READ_MODEL('`audit_trail`')} ; avec knownAt, ${REPLAY('des flux du médecin')}. Une lecture par le personnel est journalisée dans le magasin`,
  '/v1/doctors': `${READ_MODEL('`registry`')} ; avec status, aussi \`worklists\``,
  '/v1/justificatifs': READ_MODEL('`registry`'),
  '/v1/controls': READ_MODEL('`worklists`'),
  '/v1/contestations': READ_MODEL('`worklists`'),
  '/v1/campaigns': `${READ_MODEL('`campaign_deadlines`')} pour les années, puis ${REPLAY('de chaque flux de campagne')}`,
  '/v1/campaigns/{year}/dashboard': READ_MODEL('`worklists` et `registry`'),
  '/v1/campaigns/{year}': `${REPLAY('du flux de la campagne, tel que connu à knownAt')} : quelques événements, et ce sur quoi chaque commande se fonde`,
  '/v1/controls/{id}': `${REPLAY('du flux médecin-année qui porte le contrôle')} : les listes de travail ne gardent que son résumé`,
  '/v1/imports': 'la table `import_batches` du primaire, écrite à la réception de chaque lot (JSON) ou à la fin de chaque extrait CSV',
  '/v1/doctors/{rpps}/campaigns/{year}/entitlement/explanation': REPLAY('des flux du médecin-année, tels que connus à knownAt'),
  '/v1/doctors/{rpps}/campaigns/{year}/entitlement/diff': REPLAY('des flux du médecin-année aux deux instants'),
  '/v1/doctors/{rpps}/campaigns/{year}/audit-bundle': `${REPLAY('des flux du médecin-année, avec leurs chaînes d’empreintes')}, et les preuves du journal vérifiable`,
  '/v1/doctors/{rpps}/campaigns/{year}/recap.pdf': REPLAY('des flux du médecin-année'),
  '/v1/doctors/{rpps}/access-journal': REPLAY('du flux du journal des accès'),
  '/v1/access-journal': REPLAY('du flux du journal des accès'),
  '/v1/integrity': 'le magasin lui-même (chaînes d’empreintes depuis la dernière position vérifiée) et le journal vérifiable',
  '/v1/justificatifs/{id}/file':
    'le modèle de lecture `registry` du primaire (l’empreinte du fichier ; une écriture s’y lit aussitôt) et le stockage des fichiers',
  '/v1/jobs/{id}': 'Redis (BullMQ)',
  '/v1/log/checkpoint': 'les tables du journal vérifiable',
  '/v1/log/public-key': 'la configuration',
  '/v1/log/leaves': 'les tables du journal vérifiable',
  '/v1/log/proof/inclusion': 'les tables du journal vérifiable',
  '/v1/log/proof/consistency': 'les tables du journal vérifiable',
  '/v1/schemas/audit-bundle.json': 'le code',
  '/v1/console/sign-in': 'la configuration (OIDC_ISSUER, OIDC_CLIENT_ID)',
  '/v1/console/me': 'le jeton de l’appelant',
  '/health': 'la tête du magasin, les points de reprise des modèles de lecture (et du secours en lecture), Redis',
  '/health/ready': 'les mêmes que /health',
  '/health/metrics': 'les mêmes que /health',
};

/** The parameters' descriptions, in French, by name (and by `METHOD path name` where one operation says more). */
const PARAMETERS: Record<string, string> = {
  year: 'l’année de la campagne (2023 : la campagne déclarée de décembre 2023 à février 2024)',
  rpps: 'le numéro RPPS du médecin (11 chiffres, clé de Luhn)',
  id: 'l’identifiant que la création a répondu',
  minPosition:
    'la `position` qu’une commande a répondue : la requête attend (READ_MODELS_WAIT_MS, 5 s par défaut) que les modèles de lecture qu’elle lit (sur le secours en lecture avec READ_DATABASE_URL) l’atteignent, sinon 503 READ_MODELS_BEHIND avec Retry-After. Absent : la tête du magasin à l’arrivée de la requête',
  knownAt: 'un instant ISO 8601 avec décalage (encodez « + » en %2B) : ce que la caisse savait alors ; absent : maintenant',
  caisse: 'le code à 3 chiffres de la CPAM (agents et contrôleurs : la leur, par défaut)',
  specialty: 'la spécialité, par son code du catalogue (medecine-generale, cardiologie…)',
  q: 'un début de RPPS (chiffres), ou le début du nom du médecin ou d’un de ses mots, sans tenir compte des majuscules ni des accents (extension d’api.md : le nom est facultatif dans la fiche)',
  status: 'le statut à lister',
  source: 'text/csv seulement : la source de l’extrait (CSV par défaut)',
  treeSize: 'la taille de l’arbre ; absent : celle du dernier point de contrôle',
  position: 'la position de l’événement dans le magasin',
  leafIndex: 'le rang de la feuille (0 pour la première)',
  count: 'combien de feuilles (100 par défaut, 1 000 au plus)',
  from: 'le début : un instant ISO 8601 (écarts) ou un rang, une taille d’arbre (journal)',
  to: 'la fin : un instant ISO 8601 (absent : maintenant) ou une taille d’arbre (journal)',
  'GET /v1/doctors status':
    'avec year : transmitted (déclaration transmise) | not-transmitted (non transmise) | under-control (un contrôle ouvert) ; lu dans `worklists` (extension d’api.md)',
  'GET /v1/doctors year': 'la campagne dont status est le statut (obligatoire avec status)',
  'GET /v1/controls status': 'open (ouvert) | overdue (pièces en retard) | contested (contesté) | closed (clos) ; absent : tous',
  'GET /v1/log/leaves from': 'le rang de la première feuille (0 pour la première)',
  'GET /v1/log/proof/consistency from': 'la plus petite taille d’arbre',
  'GET /v1/log/proof/consistency to': 'la plus grande taille d’arbre',
  'GET /v1/doctors/{rpps}/campaigns/{year}/entitlement/diff from': 'l’instant de départ (ISO 8601 avec décalage ; encodez « + » en %2B)',
  'GET /v1/doctors/{rpps}/campaigns/{year}/entitlement/diff to': 'l’instant d’arrivée (ISO 8601 avec décalage) ; absent : maintenant',
  'GET /v1/access-journal rpps': 'le numéro RPPS du médecin dont on lit le journal',
};

/** The request schemas' field descriptions, in French (the DTOs' are English): `Schema.field`. */
const FIELDS: Record<string, string> = {
  'AmendRuleDto.indicator': 'pour target, points, neutralised ; absent pour une liste ou un paramètre',
  'AmendRuleDto.changes':
    '{ target?, points?, neutralised? } | { list, add?, remove? } | { parameter, value } (spec des règles, « Parameters and lists a caisse can amend »)',
  'AmendRuleDto.reason': 'le motif de la modification',
  'AmendRuleDto.reference': 'le texte qui la fonde (lettre de la CNAM, arrêté…)',
  'CalculationDto.rpps': 'un médecin ; absent : tous les médecins de la campagne (une tâche de fond)',
  'ContestationDecisionDto.indicators': 'annulation : quels constats (absent : tous les constats invalidés)',
  'ContestationDecisionDto.reason': 'pourquoi la caisse décide ainsi (gardé avec la décision ; la console l’exige)',
  'ContestationDto.reason': 'le motif du recours',
  'DecisionDto.reason': 'obligatoire pour un rejet',
  'DeclarationDto.value': 'sa forme dépend de l’indicateur (api.md)',
  'DeclarationDto.attestation': 'attestation sur l’honneur ; true obligatoire pour chaque V2_*',
  'DeclarationDto.channel': 'le canal (un médecin : amelipro ; un agent : paper ou back-office)',
  'DeclarationDto.effectiveAt': 'agents seulement : quand la caisse l’a reçu',
  'DeclarationDto.postmarkedAt':
    'agents, formulaires papier seulement : le cachet de la poste (INT-8), au plus tard effectiveAt ; il date le formulaire quand le paramètre paperDatedBy vaut postmark',
  'DoctorProfileDto.caisse': 'le code à 3 chiffres de la CPAM',
  'DoctorProfileDto.department': 'le code du département (01…95, 2A, 2B, 971…976)',
  'DoctorProfileDto.firstDeclarationYear': 'la première campagne où le médecin a déclaré, quand la caisse la connaît (INT-6)',
  'DoctorProfileDto.convention': 'absent : conventionné',
  'DoctorProfileDto.effectiveFrom': 'la date à partir de laquelle cette fiche vaut',
  'EvidenceRequestDto.items': 'les pièces demandées',
  'EvidenceRequestDto.dueAt': 'la date limite de remise (instant ISO 8601 avec décalage)',
  'ExtendDeadlineDto.closesAt': 'la nouvelle date limite (instant ISO 8601 avec décalage), plus tardive que l’actuelle',
  'ExtendDeadlineDto.reason': 'le motif du report',
  'ExtendDeadlineDto.reference': 'le texte qui le fonde',
  'FindingDto.reason': 'le motif du constat',
  'OpenCampaignDto.opensAt': 'l’ouverture des déclarations (instant ISO 8601 avec décalage)',
  'OpenCampaignDto.closesAt': 'la date limite des déclarations (instant ISO 8601 avec décalage)',
  'OpenControlDto.reason': 'le motif de l’ouverture',
  'OpenControlDto.fraud': 'fraude suspectée : la prescription de 3 ans ne s’applique pas',
  'PaymentDto.amountCents': 'le montant en centimes',
  'PaymentDto.paidAt': 'la date du paiement (instant ISO 8601 avec décalage)',
  'PaymentDto.reference': 'la référence du payeur, unique par médecin-année (409 PAYMENT_DUPLICATE)',
  'PrefillBatchDto.items': 'les éléments pré-remplis : { rpps, year, indicator, value, effectiveAt? }',
};

/** Answered by every authenticated operation (api.md, "Errors", "Auth"). */
const COMMON: ErrorCode[] = ['VALIDATION_FAILED', 'UNAUTHENTICATED', 'FORBIDDEN', 'PAYLOAD_TOO_LARGE', 'HEADERS_TOO_LARGE', 'STORE_UNAVAILABLE'];
const PUBLIC = new Set(['/health', '/health/ready', '/health/metrics', '/v1/schemas/audit-bundle.json', '/v1/console/sign-in']);

/**
 * Completes the document Nest generates from the controllers: every operation gets its success
 * schema and example, and every error it can answer, with the one envelope (api.md). The codes are
 * checked against the filter's table, so a documented code always has the status it is sent with.
 */
export function documentResponses(doc: OpenAPIObject): OpenAPIObject {
  doc.components ??= {};
  doc.components.schemas = {
    ...(doc.components.schemas ?? {}),
    ErrorEnvelope: obj(
      {
        statusCode: int(409),
        error: str('Conflict'),
        message: str('la campagne 2023 est close depuis le 11/02/2024'),
        code: str('CAMPAIGN_CLOSED'),
        details: { type: 'object' },
      },
      ['statusCode', 'error', 'message', 'code'],
    ),
  };
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    const props = ('properties' in schema ? schema.properties : undefined) as Record<string, { description?: string }> | undefined;
    for (const [field, p] of Object.entries(props ?? {})) {
      const french = FIELDS[`${name}.${field}`];
      if (french !== undefined) p.description = french;
    }
  }
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const op = item[method];
      if (!op) continue;
      const key = `${method.toUpperCase()} ${path}`;
      const spec = OPERATIONS[key] ?? {};
      // What the API answered on the demo (test/openapi-answers.e2e-spec.ts): the example, and the
      // schema's fields the hand-written one leaves out.
      const answered = OPERATION_ANSWERS[key];
      const responses: Record<string, unknown> = {};
      const ok = spec.ok ?? { status: answered?.status ?? (method === 'post' ? 201 : 200), schema: { type: 'object' } };
      const existing = op.responses[String(ok.status)] as { description?: string } | undefined;
      const schema = completeSchema(ok.schema, answered?.status === ok.status ? answered.schema : undefined);
      const example = answered?.status === ok.status && answered.example !== undefined ? answered.example : ok.example;
      responses[String(ok.status)] = {
        description: ok.description ?? existing?.description ?? (ok.status === 204 ? 'fait, sans contenu' : 'succès'),
        ...(ok.status === 204
          ? {}
          : { content: { [ok.contentType ?? 'application/json']: { ...(schema ? { schema } : {}), ...(example !== undefined ? { example } : {}) } } }),
        ...(ok.headers
          ? { headers: Object.fromEntries(Object.entries(ok.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) }
          : {}),
      };
      const codes: ErrorCode[] = [...(PUBLIC.has(path) ? (['STORE_UNAVAILABLE'] as const) : COMMON), ...(spec.errors ?? [])];
      const byStatus = new Map<number, string[]>();
      for (const code of new Set(codes)) {
        const status = STATUS_OF_CODE[code]; // every code has its status: the map is typed against the union of codes
        byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
      }
      for (const [status, list] of [...byStatus.entries()].sort(([a], [b]) => a - b)) {
        responses[String(status)] = {
          description: `codes : ${list.join(', ')}`,
          content: { 'application/json': { schema: ref('ErrorEnvelope'), example: { statusCode: status, error: '…', message: '…', code: list[0] } } },
        };
      }
      op.responses = responses as typeof op.responses;
      const summary = SUMMARIES[key];
      if (summary === undefined) throw new Error(`OpenAPI: ${key} has no French summary (apps/api/src/openapi.ts, SUMMARIES)`);
      op.summary = summary;
      const from = method === 'get' ? SERVED_FROM[path] : undefined;
      if (from !== undefined) op.description = `${op.description ? `${op.description}\n\n` : ''}Servi depuis : ${from}.`;
      for (const p of op.parameters ?? []) {
        if (!('name' in p)) continue;
        const french = PARAMETERS[`${key} ${p.name}`] ?? PARAMETERS[p.name];
        if (french !== undefined) p.description = french;
      }
      for (const q of spec.query ?? []) {
        op.parameters ??= [];
        if (!op.parameters.some((p) => 'name' in p && p.name === q.name))
          op.parameters.push({ name: q.name, in: 'query', required: false, description: q.description, schema: { type: 'string' } });
      }
    }
  }
  return doc;
}

/** The page's introduction: what the API is and how to get a token. */
export const API_DESCRIPTION = [
  'Déclarations, droits et piste d’audit du forfait structure, en événements (api.md).',
  '',
  '**Jeton** : `Authorization: Bearer <JWT>` (HS256 en développement). En développement, `npm run cli -- token --role doctor --rpps 10000000017`',
  '(ou `--role agent --caisse 441`, `--role auditor`, `--role admin`, `--role system`) imprime un jeton signé avec le secret du répertoire de données ;',
  'lancé avec `CLOCK=…`, le serveur a un répertoire de données par horloge : exportez le même `CLOCK` avant `npm run cli -- token`, sinon le jeton est refusé (401).',
  'Sur cette page même, en développement : `POST /v1/dev/tokens` avec `{ "role": "auditor" }` (ou `"doctor"` et `"rpps"`, `"agent"` ou `"controller"` et `"caisse"`)',
  'répond un jeton de 15 minutes ; collez-le dans **Authorize**. En production, cette route n’existe pas (404) et',
  'les jetons viennent du fournisseur d’identité de la caisse (JWKS). `exp` est obligatoire.',
  '',
  'Chaque commande accepte `Idempotency-Key` et `If-Match` ; chaque erreur est `{ statusCode, error, message, code }` avec un `code` stable.',
].join('\n');
