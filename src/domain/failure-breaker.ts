/**
 * The failure circuit breaker: a routine whose runs keep failing — for any reason, not only
 * credentials — pauses itself after `pauseAfter` failed runs in a row instead of failing
 * (and paging) every period until someone looks. Counted per routine over final outcomes
 * (a retried attempt is not yet a failed run; a canceled run is neither); a success resets
 * the count, and `loopd resume` leaves it, so the first failure after a resume pauses the
 * routine again (the breaker's half-open trial).
 */
import { ERROR_CODES } from "./error-codes.js";
import { fillHint } from "./error-hint.js";

export const DEFAULT_PAUSE_AFTER = 5;

/** The routine's own `pauseAfter`, else the global `failures.pauseAfter`, else 5; 0 never pauses. */
export function pauseAfterOf(routine: number | undefined, global: number | undefined): number {
  return routine ?? global ?? DEFAULT_PAUSE_AFTER;
}

/**
 * Whether the run that brought the count to `failures` pauses the routine. A credentials
 * failure never trips the breaker: auth has its own pause (`auth.pauseAfter`, paused_code
 * `LOOPD_AUTH_*`), which doctor and `loopd run` recognise and whose fix is a login, so a
 * routine with earlier failures must not be paused as merely "failing" by an expired key.
 */
export function breakerTrips(failures: number, pauseAfter: number, lastErrorCode?: string | null): boolean {
  if (lastErrorCode?.startsWith("LOOPD_AUTH_")) return false;
  return pauseAfter > 0 && failures >= pauseAfter;
}

export interface BreakerPause {
  code: "LOOPD_ROUTINE_FAILING";
  reason: "failing";
  /** For `routines.paused_reason`: "5 failed runs in a row; the last: LOOPD_RUN_FAILED: …". */
  pausedReason: string;
  hint: string;
}

export function breakerPause(
  routine: string,
  failures: number,
  lastError: { code: string; message: string } | null,
): BreakerPause {
  const last = lastError ? `; the last: ${lastError.code}: ${firstLine(lastError.message)}` : "";
  return {
    code: "LOOPD_ROUTINE_FAILING",
    reason: "failing",
    pausedReason: `${failures} failed run${failures === 1 ? "" : "s"} in a row${last}`,
    hint: fillHint(ERROR_CODES.LOOPD_ROUTINE_FAILING.hint, { routine }),
  };
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
