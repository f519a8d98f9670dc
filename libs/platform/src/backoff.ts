/**
 * Waits between attempts to reach a service that went away (a database restarting): exponential
 * growth, capped, with "equal jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter",
 * 2015): half the capped delay plus a random half, so that processes reconnecting together spread
 * out and no attempt ever comes straight after the previous one.
 */
export interface BackoffOptions {
  /** Delay scale of the first retry, in ms. */
  baseMs?: number;
  /** Longest delay, in ms. */
  capMs?: number;
  random?: () => number;
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, { baseMs = 100, capMs = 5_000, random = Math.random }: BackoffOptions = {}): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
