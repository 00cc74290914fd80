/**
 * Whether the store answers, as one engine sees it: an outage is reported once (`store-down`,
 * then `store-up` with how long it lasted), and work that failed on it is retried with
 * backoff — 250 ms, doubling, at most 5 s. The outage is worded as a coded error
 * (`store/faults.ts`): LOOPD_STORE_FULL, LOOPD_STORE_READONLY, else LOOPD_STORE_UNAVAILABLE.
 */
import { storeFault } from "../store/faults.js";
import type { EngineEvent } from "./engine-events.js";

const RETRY_MAX_MS = 5_000;

/** The wait before retry number `failures` + 1. */
export function retryDelayMs(failures: number): number {
  return Math.min(250 * 2 ** failures, RETRY_MAX_MS);
}

export class StoreHealth {
  /** Since when the store has not answered (epoch ms); null while it answers. */
  downSince: number | null = null;
  error: string | null = null;
  /** The outage's error code (LOOPD_STORE_FULL, …); null while the store answers. */
  code: string | null = null;
  /** Passes failed in a row: the next pass's backoff. */
  private passFailures = 0;

  constructor(
    private readonly emit: (event: EngineEvent) => void,
    /** The store's file or redacted URL, for the messages. */
    private readonly location = "the store",
  ) {}

  /** A store operation succeeded: the end of an outage, if there was one. */
  answered(): void {
    this.passFailures = 0;
    if (this.downSince === null) return;
    const downForMs = Math.max(0, Date.now() - this.downSince);
    this.downSince = null;
    this.error = null;
    this.code = null;
    this.emit({ type: "store-up", downForMs });
  }

  failed(error: unknown): void {
    const fault = storeFault(error, this.location);
    this.error = fault.message;
    this.code = fault.code;
    if (this.downSince !== null) return;
    this.downSince = Date.now();
    this.emit({ type: "store-down", error: fault });
  }

  /** The wait before the next pass after a failed one; counts the failure. */
  nextPassDelayMs(): number {
    return retryDelayMs(this.passFailures++);
  }
}
