/** What the engine tells its host (serve's log, the daemon, tests), and how it reports its health. */

import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Completion } from "../store/sql/complete-run.js";
import type { NotifiedMisfire } from "../store/sql/sweep-misfires.js";

export interface Clock {
  now(): number;
}

export type EngineEvent =
  | { type: "run-started"; run: ClaimedRun }
  | {
      type: "run-finished";
      run: ClaimedRun;
      outcome: Completion["outcome"];
      /** A watch's verdict: the word its faces show instead of "succeeded" (domain/run-outcome.ts). */
      verdict?: "satisfied" | "unsatisfied";
      accepted: boolean;
      /** Stopped by shutdown and handed back to the queue (attempt not spent), not an outcome. */
      returned?: true;
      retryAt?: number;
      durationMs: number;
    }
  | { type: "materialised"; queued: number; skipped: number }
  | { type: "recovered"; requeued: number[]; failed: number[] }
  | { type: "woke-late"; lateByMs: number }
  /** A pass is over: the engine sleeps for `inMs` (the next due time, start or lease expiry, at most the backstop) unless woken. */
  | { type: "idle"; inMs: number }
  /** `loopd apply` changed these settings sections; the next run uses them (no restart). */
  | { type: "settings-reloaded"; sections: string[] }
  /** Routines found misfiring (nothing scheduled them for two periods); each is notified once. */
  | { type: "misfired"; routines: NotifiedMisfire[] }
  /** The retention sweep deleted finished runs (with their events) and finished deliveries. */
  | {
      type: "runs-pruned";
      runs: number;
      deliveries: number;
      reservations: number;
      testResults: number;
      inbound: number;
    }
  | {
      type: "routine-paused";
      routine: string;
      /** auth: credentials failed `auth.pauseAfter` times; failing: `pauseAfter` failed runs in a row. */
      reason: "auth" | "failing";
      error: { code: string; message: string } | null;
    }
  /** The store stopped answering (passes retry with backoff); reported once per outage. */
  | { type: "store-down"; error: unknown }
  | { type: "store-up"; downForMs: number }
  | { type: "error"; error: unknown };

/** What /healthz and doctor say about this engine's store. */
export interface EngineHealth {
  store: "ok" | "degraded";
  /** Since when the store has not answered (epoch ms), and the last error. */
  downSince: number | null;
  error: string | null;
  /** The outage's code: LOOPD_STORE_FULL, LOOPD_STORE_READONLY or LOOPD_STORE_UNAVAILABLE. */
  errorCode?: string | null;
  /** Whether wake-ups from other processes arrive (null: this store has no listener). */
  listening: boolean | null;
}
