/** A run executing in this process: its abort controller, why it was stopped, the lease it holds. */
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { AbortReason } from "./outcome.js";

export interface ActiveRun {
  run: ClaimedRun;
  controller: AbortController;
  /** Why it was aborted; decides the outcome. */
  abortReason?: AbortReason;
  /** Until when the store last confirmed our lease. */
  leaseUntil: number;
  /** Kills the run a quarter lease before `leaseUntil` unless a renewal moves it first. */
  fence?: NodeJS.Timeout;
  /**
   * Its executor has returned: the run no longer takes a slot, only its completion is still
   * being recorded (the lease is kept and the fence armed until it is).
   */
  executed?: boolean;
  done: Promise<void>;
}

/** Stops the run for the first reason given; later reasons do not change its outcome. */
export function abort(active: ActiveRun, reason: AbortReason): void {
  if (active.abortReason !== undefined) return;
  active.abortReason = reason;
  active.controller.abort(reason);
}
