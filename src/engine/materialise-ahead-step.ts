/**
 * The scheduler's part of on-time bursts (issue #23): after a pass has claimed what is due,
 * the occurrences due within the horizon are materialised ahead (store/sql/materialise-ahead.ts),
 * so at their due instant the pass only claims them; and the timer wakes for that.
 *
 * After a sleep or a restart, runs materialised ahead that are now long past due are put back
 * first, so the catch-up policy decides about their occurrences as it would have without them
 * (a laptop that slept through three `every: 1h` occurrences with `catchUp: none` runs none).
 */
import { DEFAULT_GRACE_MS } from "../domain/occurrences.js";
import { DEFAULT_AHEAD_MS, materialiseAhead, rewindAhead } from "../store/sql/materialise-ahead.js";
import type { Wakeups } from "../store/sql/next-wakeup.js";
import type { Store } from "../store/store.js";

export class MaterialiseAheadStep {
  readonly horizonMs: number;
  private readonly graceMs: number;
  /** On start and after a late timer (sleep, clock jump): look for stale runs once. */
  private checkStale = true;

  constructor(
    private readonly store: Store,
    options: { horizonMs?: number; graceMs?: number },
  ) {
    this.horizonMs = Math.max(0, options.horizonMs ?? DEFAULT_AHEAD_MS);
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  }

  /** The timer fired much later than asked: the process was suspended. */
  woke(): void {
    this.checkStale = true;
  }

  /**
   * Before materialising what is due: puts back runs materialised ahead that are past their
   * grace. Only when the pass's read shows a queued run that old, so it costs no query else.
   * Returns whether it wrote.
   */
  async rewindStale(due: Wakeups, now: number): Promise<boolean> {
    if (!this.checkStale) return false;
    this.checkStale = false;
    if (this.horizonMs === 0 || due.nextQueuedAt === null || due.nextQueuedAt >= now - this.graceMs)
      return false;
    const routines = await this.store.writeTransaction((trx) =>
      rewindAhead(trx, { dueBefore: now - this.graceMs, now }),
    );
    return routines.length > 0;
  }

  /**
   * After the claim: materialises the occurrences due within the horizon. `due` is the pass's
   * read; `materialised`: the pass materialised due occurrences (their next ones may be near).
   */
  async materialise(
    due: Wakeups,
    now: number,
    materialised: boolean,
  ): Promise<{ queued: number; full: boolean }> {
    if (this.horizonMs === 0) return { queued: 0, full: false };
    if (!materialised && (due.nextDueAt === null || due.nextDueAt > now + this.horizonMs))
      return { queued: 0, full: false };
    const limit = 1000;
    const result = await materialiseAhead(this.store, now, {
      horizonMs: this.horizonMs,
      limit,
      graceMs: this.graceMs,
    });
    return { queued: result.queued, full: result.routines >= limit };
  }

  /**
   * When the scheduler must look again for this step: when the earliest next due time enters
   * the horizon. Once it has (the routines there are left to their due time, or wait for their
   * run ahead to come due), the due time itself and the queued starts wake the pass.
   */
  wakeAt(wakeups: Wakeups, now: number): number | null {
    if (this.horizonMs === 0 || wakeups.nextDueAt === null) return null;
    const enters = wakeups.nextDueAt - this.horizonMs;
    if (enters > now) return enters;
    // A routine within the horizon waits for its run ahead: that run's due time frees it.
    return wakeups.nextFutureQueuedAt;
  }
}
