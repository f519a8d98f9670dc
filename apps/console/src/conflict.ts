import type { HistoryEvent } from './api';
import { formatDateTime } from './format';
import { CHANNEL_LABELS, EVENT_LABELS, INDICATOR_LABELS, ROLE_LABELS, label } from './labels';

// A write sent with If-Match that the API refused (412 STALE_REVISION, api.md "Every command
// honours If-Match"): what the stream recorded since the revision the user saw, so that the page
// says what changed before the user decides again.

/** The doctor-year's stream (architecture.md, "Streams"): the If-Match of declarations, justificatif decisions and controls. */
export const doctorYearStream = (rpps: string, year: number): string => `declaration-${rpps}-${year}`;

export function eventTitle(e: HistoryEvent): string {
  const indicator = typeof e.data.indicator === 'string' ? ` — ${label(INDICATOR_LABELS, e.data.indicator)}` : '';
  return `${label(EVENT_LABELS, e.type)}${indicator}`;
}

/** The events of `streamId` after `revision` (all of them when the page knew none), in recorded order. */
export function changesSince(history: readonly HistoryEvent[], streamId: string, revision: number | null): HistoryEvent[] {
  return history.filter((e) => e.streamId === streamId && (revision === null || e.revision > revision));
}

/** One line per change: when the caisse learnt it (Paris time), what, by whom, through which channel. */
export function changeLine(e: HistoryEvent): string {
  // "Agent de la caisse 751", "Contrôleur de la caisse 441", "Médecin".
  const who = `${label(ROLE_LABELS, e.actor.role)}${e.actor.caisse ? ` ${e.actor.caisse}` : ''}`;
  return `${formatDateTime(e.recordedAt)} : ${eventTitle(e)} (${who}, ${label(CHANNEL_LABELS, e.channel)})`;
}

/**
 * The revision as the API's ETag carries it, for If-Match; before the stream's first event, "-1"
 * (the ETag the API answers for an empty doctor-year): a first write is refused (412) when someone
 * else wrote first, as any later one.
 */
export const ifMatch = (revision: number | null | undefined): Record<string, string> => ({ 'If-Match': `"${revision ?? -1}"` });
