import type { AccessEvent } from './access.events';
import type { CampaignEvent } from './campaign.events';
import type { ControlEvent } from './control.events';
import type { DeclarationEvent } from './declaration.events';
import type { DoctorEvent } from './doctor.events';
import type { SasAttestationEvent } from './sas-attestation.events';

export * from './vocabulary';
export * from './campaign.events';
export * from './doctor.events';
export * from './declaration.events';
export * from './control.events';
export * from './access.events';
export * from './sas-attestation.events';

/** Every event of the system: a discriminated union on `type`, whose string the store keeps. */
export type DomainEvent = CampaignEvent | DoctorEvent | DeclarationEvent | ControlEvent | AccessEvent | SasAttestationEvent;
export type DomainEventType = DomainEvent['type'];

/** Current schema version of each event type; an older stored version is upcast on read. */
export const CURRENT_SCHEMA_VERSION: { readonly [T in DomainEventType]: number } = {
  CampaignOpened: 1,
  CampaignDeadlineExtended: 1,
  CampaignRuleAmended: 1,
  CampaignClosed: 1,
  CampaignCalculationCompleted: 1,
  DoctorProfileRecorded: 1,
  IndicatorPrefilled: 1,
  IndicatorDeclared: 2,
  DeclarationTransmitted: 1,
  MeasureRecorded: 1,
  JustificatifSubmitted: 2,
  JustificatifValidated: 1,
  JustificatifRejected: 1,
  EntitlementCalculated: 1,
  PaymentRecorded: 1,
  SasAttestationDecisionLinked: 1,
  ControlOpened: 1,
  ControlEvidenceRequested: 1,
  ControlFindingRecorded: 1,
  ControlClosed: 1,
  ContestationFiled: 1,
  ContestationDecided: 1,
  StaffReadRecorded: 1,
  SasAttestationReceived: 1,
  SasAttestationValidated: 1,
  SasAttestationRejected: 1,
};

export function isDomainEventType(type: string): type is DomainEventType {
  return Object.prototype.hasOwnProperty.call(CURRENT_SCHEMA_VERSION, type);
}

/** Stream names (architecture.md, "Streams"). */
export const streams = {
  campaign: (year: number) => `campaign-${year}`,
  doctor: (rpps: string) => `doctor-${rpps}`,
  declaration: (rpps: string, year: number) => `declaration-${rpps}-${year}`,
  access: (rpps: string) => `access-${rpps}`,
  sasAttestation: (id: string) => `sas-attestation-${id}`,
} as const;
