import { backoffDelay } from '@forfait/platform';

/**
 * The one retry policy of the command side: a command (or an import batch) that lost a race it did
 * not choose (no If-Match) is decided again on fresh state, at most MAX_ATTEMPTS times, after the
 * shared jittered backoff (short: a lost race costs one read), so that racing writers of other
 * processes spread out instead of colliding again.
 */
export const MAX_ATTEMPTS = 12;

/** Whether attempt number `attempt` (1 for the first) may be followed by another. */
export function mayRetry(attempt: number): boolean {
  return attempt < MAX_ATTEMPTS;
}

/** Waits before the attempt that follows attempt number `attempt`. */
export function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt - 1, { baseMs: 4, capMs: 250 })));
}
