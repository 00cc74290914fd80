/** Retry delays: exponential with "equal jitter" so a burst of failures does not retry in lockstep. */

export const RETRY_BASE_MS = 10_000;
export const RETRY_MAX_MS = 10 * 60_000;

/** Delay before attempt `failedAttempt + 1`; `random` in [0, 1). */
export function retryDelayMs(failedAttempt: number, random: number = Math.random()): number {
  const exponential = Math.min(RETRY_BASE_MS * 2 ** Math.max(0, failedAttempt - 1), RETRY_MAX_MS);
  return Math.round(exponential / 2 + (exponential / 2) * random);
}

/**
 * A start delay in [0, jitterMs) that is the same for the same routine and occurrence on
 * every host (FNV-1a), so schedulers agree and a routine's runs still spread out.
 */
export function jitterFor(routine: string, dueAt: number, jitterMs: number | undefined): number {
  if (!jitterMs) return 0;
  let hash = 0x811c9dc5;
  for (const char of `${routine}@${dueAt}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % jitterMs;
}
