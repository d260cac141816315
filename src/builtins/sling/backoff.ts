/**
 * Exponential backoff between attempts of one pipeline: base, 2×base, 4×base… capped. Pure, so the
 * schedule is unit-tested and the runner only sleeps what this returns. No jitter: one CronJob runs one
 * pipeline at a time, so there is no herd to spread, and a predictable schedule is easier to read in logs.
 */

/** The longest wait between two attempts, whatever the base and attempt number. */
export const MAX_BACKOFF_MS = 10 * 60_000;

/** Milliseconds to wait after failed attempt `attempt` (1-based) before the next one. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs = MAX_BACKOFF_MS): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new Error(`attempt must be >= 1, got ${attempt}`);
  return Math.min(maxMs, baseMs * 2 ** (attempt - 1));
}
