import { canonicalJson, streams, type DoctorProfileRecorded, type DomainEvent } from '@forfait/events';
import {
  DomainRefusal,
  campaignFrom,
  declarationFrom,
  decideCampaign,
  decideControl,
  decideDeclaration,
  latestEffective,
  ofType,
  type CampaignCommand,
  type ControlCommand,
  type DeclarationCommand,
} from '@forfait/domain';
import type { CommandExecutor, CommandMeta, CommandResult } from './command-executor';
import { campaignRules, type DoctorYearReader } from './doctor-year-reader';

/** What a command handler is told besides the command: who sent it and the revision it saw (If-Match). */
export interface Sent {
  meta: CommandMeta;
  ifMatch?: number | undefined;
}

/**
 * The commands on a doctor-year stream (declarations, pre-fills, measures, transmission, payments):
 * the campaign and the doctor-year are read in one query, the campaign's ruleset and amendments
 * resolved once, then `decideDeclaration` of libs/domain decides on the stream's state.
 */
export class DeclarationHandler {
  constructor(
    private readonly reader: DoctorYearReader,
    private readonly executor: CommandExecutor,
  ) {}

  /** `specialty`: the doctor's specialty in force, where the rule depends on it (INT-7's default justificatif subjects). */
  async handle(
    rpps: string,
    year: number,
    command: DeclarationCommand,
    { meta, ifMatch, specialty }: Sent & { specialty?: string | undefined },
  ): Promise<CommandResult> {
    if (command.type === 'RecordPayment') {
      // Money goes to a doctor the caisse knows: no profile, no payment (issue 13, decided).
      const { events: doctor } = await this.reader.doctor(rpps);
      if (!doctor.some((e) => e.type === 'DoctorProfileRecorded')) {
        throw new DomainRefusal('DOCTOR_NOT_FOUND', `aucune fiche pour le médecin ${rpps} : un paiement suppose un médecin connu de la caisse`);
      }
    }
    // The campaign and the doctor-year in one query; a retry re-reads the doctor-year alone.
    const [campaignEvents, declaration] = await this.reader.streams([streams.campaign(year), streams.declaration(rpps, year)]);
    const { campaign, ruleset } = campaignRules(year, this.reader.upcast(campaignEvents!).events);
    return this.executor.execute(
      streams.declaration(rpps, year),
      (events): DomainEvent[] =>
        decideDeclaration(command, declarationFrom(events), { rpps, year, campaign, ruleset, ...(specialty !== undefined ? { specialty } : {}) }),
      meta,
      { ifMatch, preread: declaration! },
    );
  }
}

/** The controls of a doctor-year (contrôle a posteriori): `decideControl` with the ruleset in force, amendments included. */
export class ControlHandler {
  constructor(
    private readonly reader: DoctorYearReader,
    private readonly executor: CommandExecutor,
  ) {}

  async handle(rpps: string, year: number, command: ControlCommand, { meta, ifMatch }: Sent): Promise<CommandResult> {
    // recoveryLimitationYears is a parameter a caisse can amend: the ruleset as amended.
    const { ruleset } = await this.reader.campaignRules(year);
    return this.executor.execute(
      streams.declaration(rpps, year),
      (events): DomainEvent[] => decideControl(command, declarationFrom(events), { rpps, year, ruleset }),
      meta,
      { ifMatch },
    );
  }
}

/** The campaign's commands (open, extend, amend, close, calculated): `decideCampaign` on the campaign stream. */
export class CampaignHandler {
  constructor(private readonly executor: CommandExecutor) {}

  handle(year: number, command: CampaignCommand, { meta, ifMatch }: Sent): Promise<CommandResult> {
    return this.executor.execute(streams.campaign(year), (events) => decideCampaign(command, campaignFrom(events)), meta, { ifMatch });
  }
}

/** A doctor's profile as the caisse records it; the same profile again records nothing. */
export type DoctorProfile = DoctorProfileRecorded['data'];

export class DoctorProfileHandler {
  constructor(private readonly executor: CommandExecutor) {}

  record(profile: DoctorProfile, { meta, ifMatch }: Sent): Promise<CommandResult> {
    return this.executor.execute(
      streams.doctor(profile.rpps),
      (events) => {
        const current = latestEffective(ofType(events, 'DoctorProfileRecorded'))?.data;
        const same = current !== undefined && canonicalJson({ ...current, rpps: profile.rpps }) === canonicalJson(profile);
        return same ? [] : [{ type: 'DoctorProfileRecorded', data: profile }];
      },
      meta,
      { ifMatch },
    );
  }
}
