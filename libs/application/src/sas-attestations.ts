import { randomBytes } from 'node:crypto';
import { ConcurrencyError, contentUuid, sasAttestationIdOf, streams } from '@forfait/events';
import {
  DomainRefusal,
  decideDeclaration,
  decideSasAttestation,
  declarationFrom,
  formatParisDay,
  normalise,
  refuse,
  sasAttestationFrom,
  type SasAttestationState,
} from '@forfait/domain';
import { commandContext, type CommandExecutor, type CommandMeta } from './command-executor';
import type { ApplicationContext } from './context';
import type { DoctorYearReader } from './doctor-year-reader';
import type { Sent } from './handlers';

/** Said with every justificatif received (a justificatif or a SAS attestation). */
export const NO_MEDICAL_DATA_NOTICE = 'Les justificatifs ne doivent contenir aucune donnée médicale (règle de la caisse, non vérifiable automatiquement).';

/** A CPTS president's SAS attestation as the caisse received it. */
export interface SasAttestationReceipt {
  year: number;
  caisse: string;
  cpts: string;
  software: string;
  rpps: string[];
  file: Buffer;
}

/** Where documents are kept, by content (the API's justificatif files): their type judged by content, then stored under their SHA-256. */
export interface DocumentFiles {
  sniff(content: Buffer): Promise<string>;
  store(content: Buffer): Promise<{ sha256: string }>;
}

/**
 * CPTS presidents' SAS attestations (guide §II.2 indicateur 8, b; api.md `POST /v1/sas-attestations`):
 * one document in its own stream `sas-attestation-<id>`, decided once for every doctor it lists
 * (`decideSasAttestation`), its decision then linked into each listed doctor-year
 * (`decideDeclaration`, architecture.md, "Streams").
 */
export class SasAttestationHandler {
  constructor(
    private readonly context: ApplicationContext,
    private readonly reader: DoctorYearReader,
    private readonly executor: CommandExecutor,
    private readonly files: DocumentFiles,
  ) {}

  /** The doctors an attestation lists (JUSTIFICATIF_NOT_FOUND: no such attestation). */
  async listed(id: string): Promise<string[]> {
    const { events } = await this.reader.stream(streams.sasAttestation(id));
    const current = sasAttestationFrom(events);
    if (current.status === 'none') return refuse('JUSTIFICATIF_NOT_FOUND', `aucune attestation SAS ${id}`);
    return current.rpps;
  }

  /** Records it pending; `meta.effectiveAt` is when the caisse received it (INT-8). The notices say what the rules will make of it, as the lists stand now (they are judged again at each knownAt). */
  async receive({ file, ...receipt }: SasAttestationReceipt, meta: CommandMeta) {
    const { campaign, ruleset } = await this.reader.campaignRules(receipt.year);
    const mediaType = await this.files.sniff(file);
    const { sha256 } = await this.files.store(file);
    const now = this.context.clock.now().toISOString();
    const id = newId(receipt.year);
    const result = await this.executor.execute(
      streams.sasAttestation(id),
      (events) =>
        decideSasAttestation(
          { type: 'ReceiveSasAttestation', attestationId: id, ...receipt, sha256, size: file.length, mediaType, effectiveAt: meta.effectiveAt, now },
          sasAttestationFrom(events),
          { campaign },
        ),
      meta,
    );
    const notices = [NO_MEDICAL_DATA_NOTICE];
    const software = receipt.software.trim();
    if (ruleset.lists.sasSoftware.length > 0 && !ruleset.lists.sasSoftware.some((s) => normalise(s) === normalise(software))) {
      notices.push(`Le logiciel « ${software} » n’est pas sur la liste des logiciels SAS : l’attestation ne vaudra que s’il y est ajouté.`);
    }
    const deadline = ruleset.parameters.sasAttestationDeadline ?? campaign.closesAt;
    if (Date.parse(meta.effectiveAt) > Date.parse(deadline))
      notices.push(`Attestation reçue après le ${formatParisDay(deadline)} (date limite des attestations SAS) : elle ne vaudra pas pour le SAS.`);
    return { id, software, sha256, size: file.length, mediaType, result, notices };
  }

  /**
   * Validates or rejects, once (a second decision: 409 JUSTIFICATIF_ALREADY_DECIDED), then links
   * the decision into each listed doctor-year. The links are idempotent: a decision whose links
   * were cut short (a crash) gets them on the next attempt, before that attempt answers 409.
   * `ifMatch`: the attestation's own stream's revision as the worklist showed it (api.md, "Every
   * command honours If-Match"); another revision: 412, nothing written but the missing links.
   */
  async decide(id: string, decision: 'validated' | 'rejected', reason: string | undefined, { meta, ifMatch }: Sent) {
    let result;
    try {
      result = await this.executor.execute(
        streams.sasAttestation(id),
        // A decision does not depend on the campaign (decided like a justificatif, api.md).
        (latest) =>
          decideSasAttestation({ type: 'DecideSasAttestation', decision, ...(reason !== undefined ? { reason } : {}) }, sasAttestationFrom(latest), {
            campaign: { status: 'none' },
          }),
        meta,
        { ifMatch },
      );
    } catch (error) {
      // Decided already (409), or decided since the worklist was read (412 with If-Match): the links first.
      if ((error instanceof DomainRefusal && error.code === 'JUSTIFICATIF_ALREADY_DECIDED') || error instanceof ConcurrencyError) await this.link(id, meta);
      throw error;
    }
    const links = await this.link(id, meta);
    return { result, position: [result.position, ...links].reduce((m, p) => (p > m ? p : m), 0n) };
  }

  /** Appends the decision's link to each listed doctor-year that has not got it yet. */
  private async link(id: string, meta: CommandMeta): Promise<bigint[]> {
    const { events } = await this.reader.stream(streams.sasAttestation(id));
    const state: SasAttestationState = sasAttestationFrom(events);
    if (state.status !== 'validated' && state.status !== 'rejected') return [];
    const { campaign, ruleset } = await this.reader.campaignRules(state.year);
    const link = {
      type: 'LinkSasAttestationDecision' as const,
      attestationId: state.attestationId,
      cpts: state.cpts,
      software: state.software,
      receivedAt: state.receivedAt,
      decision: state.status,
      ...(state.reason !== undefined ? { reason: state.reason } : {}),
      decisionEventId: state.decisionEventId,
    };
    const positions: bigint[] = [];
    for (const rpps of state.rpps) {
      const r = await this.executor.execute(
        streams.declaration(rpps, state.year),
        (dy) => decideDeclaration(link, declarationFrom(dy), { rpps, year: state.year, campaign, ruleset }),
        { ...meta, onBehalfOf: rpps },
      );
      positions.push(r.position);
    }
    return positions;
  }
}

/** Under an Idempotency-Key the id derives from it (a retry after a crash finds its stream); otherwise random. */
function newId(year: number): string {
  const keyed = commandContext.getStore();
  const hex = keyed ? contentUuid({ seed: keyed.eventIdSeed, kind: 'sas-attestation' }).replaceAll('-', '').slice(0, 12) : randomBytes(6).toString('hex');
  return sasAttestationIdOf(year, hex);
}
