/**
 * The scheduler's retention sweep (`runs.keepFor`, `runs.keepPerRoutine`): every few minutes,
 * in the background of the engine's passes, finished runs past retention are deleted in small
 * batches (store/sql/prune-runs.ts) so the runs and run_events tables stay bounded; the same
 * sweep then deletes settled budget reservations, ci-health test results outside each
 * routine's window and inbound delivery ids past retention (store/sql/prune-history.ts).
 *
 * Cost: in the engine, a due sweep first looks at the gate its wake-up read already answers
 * (the oldest run's `queued_at`, the oldest finished notification): when both are younger than
 * `keepFor` nothing can be pruned and no query is made. The gate's policy comes from the
 * engine's start-up read and every claim's settings read; any wake-up but the timer's forgets
 * it (settings change only through an apply, which wakes the daemons), and the next gate reads
 * it again (one query). Past the gate: one settings read, one primary-key probe and one outbox
 * index probe when nothing turns out to be deletable (a routine's newest runs are kept however
 * old), and sweeps that find nothing space out (10, 20, 40, then every 60 minutes; the first 5
 * minutes after start). With something to delete: one pass over the old runs, a DELETE per
 * `BATCH` of them (store/sql/prune-runs.ts), yielding between statements so a materialise or
 * claim pass is never queued behind more than one of them (SQLite: one short write lock;
 * PostgreSQL: another pooled connection). A sweep that stops at its statement budget with
 * rows left comes back on the next pass, not a full interval later.
 *
 * The other tables ride on the same gate rather than adding a probe to the wake-up read (the
 * idle statement stays as it is; `inbound_deliveries` has no index on its age): their rows
 * come with runs (a reservation per attempt, test results per ci-health run), so a store
 * whose runs are all younger than `keepFor` rarely has them old, and any run that ages past
 * `keepFor` opens the gate. Past the gate with nothing to delete they cost one statement each
 * (test results: one more per routine that has results older than `keepFor`), and a pass over the
 * inbound ids.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { parseDuration } from "../domain/duration.js";
import type { ConfigSettings } from "../domain/settings.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import {
  pruneInboundBatch,
  pruneReservationsBatch,
  pruneTestResultsBatch,
  testResultsToPrune,
} from "../store/sql/prune-history.js";
import { pruneDeliveriesBatch, pruneRunsChunk } from "../store/sql/prune-runs.js";
import type { Store } from "../store/store.js";

/** How often a scheduler looks for runs past retention. */
export const RETENTION_SWEEP_MS = 10 * 60_000;
/** The first sweep of a process: after start-up, not in its way. */
const FIRST_SWEEP_AFTER_MS = 5 * 60_000;
/** Sweeps that find nothing space out, doubling up to this many intervals (an hour by default). */
const MAX_EMPTY_BACKOFF = 6;
export const DEFAULT_KEEP_FOR_MS = 30 * 24 * 60 * 60_000;
export const DEFAULT_KEEP_PER_ROUTINE = 10;
/** Rows looked at per DELETE: a few milliseconds of write lock, events cascading included. */
const BATCH = 1000;
/** Statements per sweep and table before it hands back to the next pass. */
const MAX_BATCHES = 200;

export interface Pruned {
  runs: number;
  deliveries: number;
  /** Settled budget reservations. */
  reservations: number;
  /** ci-health test results outside their routine's window. */
  testResults: number;
  /** Ids of accepted inbound hook deliveries. */
  inbound: number;
}

function prunedTotal(pruned: Pruned): number {
  return pruned.runs + pruned.deliveries + pruned.reservations + pruned.testResults + pruned.inbound;
}

export interface RetentionPolicy {
  keepForMs: number;
  keepPerRoutine: number;
}

/** The applied `runs:` section with its defaults. */
export function retentionPolicy(settings: ConfigSettings): RetentionPolicy {
  const keepFor = settings.runs?.keepFor ? parseDuration(settings.runs.keepFor) : null;
  return {
    keepForMs: keepFor?.ok ? keepFor.ms : DEFAULT_KEEP_FOR_MS,
    keepPerRoutine: settings.runs?.keepPerRoutine ?? DEFAULT_KEEP_PER_ROUTINE,
  };
}

/** Deletes everything past retention at `now`, batch by batch; `maxBatches` bounds one call. */
export async function pruneFinished(
  store: Store,
  policy: RetentionPolicy,
  now: number,
  options: { maxBatches?: number; stopped?: () => boolean } = {},
): Promise<Pruned & { more: boolean }> {
  const maxBatches = options.maxBatches ?? MAX_BATCHES;
  const cutoff = now - policy.keepForMs;
  const pruned = { runs: 0, deliveries: 0, reservations: 0, testResults: 0, inbound: 0, more: false };
  const keepPerRoutine = policy.keepPerRoutine;
  // A stop ends a sweep between statements, never before its first one.
  let ran = 0;
  const over = (statements: number) => statements >= maxBatches || (ran > 0 && options.stopped?.() === true);
  let afterId = 0;
  for (let statements = 0; ; statements++) {
    if (over(statements)) {
      pruned.more = true;
      break;
    }
    ran++;
    const chunk = await pruneRunsChunk(store, { cutoff, keepPerRoutine, limit: BATCH, afterId });
    pruned.runs += chunk.deleted;
    if (chunk.next === null) break;
    afterId = chunk.next;
    await yieldToLoop();
  }
  /** Runs `batch` until it deletes fewer than a batch or the statement budget is spent. */
  const drain = async (batch: () => Promise<number>): Promise<number> => {
    let total = 0;
    for (let statements = 0; ; statements++) {
      if (over(statements)) {
        pruned.more = true;
        return total;
      }
      ran++;
      const deleted = await batch();
      total += deleted;
      if (deleted < BATCH) return total;
      await yieldToLoop();
    }
  };
  pruned.deliveries = await drain(() => pruneDeliveriesBatch(store, { cutoff, limit: BATCH }));
  pruned.reservations = await drain(() => pruneReservationsBatch(store, { cutoff, now, limit: BATCH }));
  const testResults = over(0) ? [] : await testResultsToPrune(store, cutoff);
  for (const routine of testResults) {
    pruned.testResults += await drain(() =>
      pruneTestResultsBatch(store, { ...routine, cutoff, limit: BATCH }),
    );
  }
  pruned.inbound = await drain(() => pruneInboundBatch(store, { cutoff, now, limit: BATCH }));
  return pruned;
}

/** What the engine's wake-up read says about the oldest rows (store/sql/next-wakeup.ts). */
export interface RetentionGate {
  oldestRunQueuedAt: number | null;
  oldestFinishedDeliveryAt: number | null;
}

export class RunRetention {
  private nextSweepAt: number;
  /**
   * The policy the gate trusts: read at start-up and by every claim, forgotten at every
   * wake-up that is not the timer's (settings can only change through an apply, which wakes).
   */
  private known: RetentionPolicy | undefined;
  /** Intervals until the next sweep: 1, doubled after each sweep that deleted nothing. */
  private backoff = 1;
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  /** Sweeps finished (with or without anything deleted), for tests and diagnostics. */
  sweepsDone = 0;

  constructor(
    private readonly options: {
      store: Store;
      now: () => number;
      intervalMs?: number;
      onPruned: (pruned: Pruned) => void;
      onError: (error: unknown) => void;
    },
  ) {
    this.nextSweepAt = options.now() + Math.min(FIRST_SWEEP_AFTER_MS, this.intervalMs);
  }

  private get intervalMs(): number {
    return this.options.intervalMs ?? RETENTION_SWEEP_MS;
  }

  /** The policy as the engine last read the settings (each claim reads them), for the gate. */
  observeSettings(settings: ConfigSettings): void {
    this.known = retentionPolicy(settings);
  }

  /** Reads the policy now (the engine's start-up), so the gate needs no query later. */
  async loadPolicy(): Promise<void> {
    this.observeSettings((await getSetting<ConfigSettings>(this.options.store.db, CONFIG_SETTING)) ?? {});
  }

  /** Settings may have changed (an apply, another process's wake-up): read them before the next gate. */
  forgetPolicy(): void {
    this.known = undefined;
  }

  /**
   * Starts a sweep in the background when one is due; never waits for it. With `gate` (the
   * wake-up read's oldest run and finished notification) a due sweep that could delete
   * nothing under the known policy is skipped without a query; a forgotten policy is read
   * again first (one query).
   */
  maybeSweep(gate?: RetentionGate): void {
    const now = this.options.now();
    if (this.stopped || this.sweeping || now < this.nextSweepAt) return;
    this.nextSweepAt = now + this.backoff * this.intervalMs;
    this.sweeping = this.sweepUnlessYoung(now, gate)
      .catch(this.options.onError)
      .finally(() => {
        this.sweeping = undefined;
      });
  }

  private async sweepUnlessYoung(now: number, gate: RetentionGate | undefined): Promise<void> {
    if (gate) {
      if (this.known === undefined) await this.loadPolicy();
      const cutoff = now - this.known!.keepForMs;
      const old = (at: number | null) => at !== null && at < cutoff;
      if (!old(gate.oldestRunQueuedAt) && !old(gate.oldestFinishedDeliveryAt)) {
        this.nextSweepAt = now + this.intervalMs;
        return;
      }
    }
    await this.sweep(now);
  }

  /** Ends a running sweep after its current batch (engine stop). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.sweeping;
  }

  private async sweep(now: number): Promise<void> {
    const settings = (await getSetting<ConfigSettings>(this.options.store.db, CONFIG_SETTING)) ?? {};
    this.observeSettings(settings);
    const pruned = await pruneFinished(this.options.store, retentionPolicy(settings), now, {
      stopped: () => this.stopped,
    });
    // An idle daemon's store rarely has anything to prune: its sweeps come hourly, not every 10 min.
    this.backoff = prunedTotal(pruned) > 0 ? 1 : Math.min(this.backoff * 2, MAX_EMPTY_BACKOFF);
    // Rows left after the statement budget: the next pass continues.
    this.nextSweepAt = pruned.more ? now : now + this.backoff * this.intervalMs;
    this.sweepsDone++;
    if (prunedTotal(pruned) > 0) {
      const { more: _more, ...counts } = pruned;
      this.options.onPruned(counts);
    }
  }
}
