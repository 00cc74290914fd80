/**
 * Keeping the leases of the runs executing here: renewals every third of the lease (after a
 * failure every twelfth, so a short outage does not eat the lease), and per run a fence. A run
 * the store no longer gives us (recovered, canceled) is stopped at once; one whose renewal does
 * not come in time is stopped by its fence.
 *
 * Fencing: a quarter lease before the lease we hold runs out — the store did not confirm a
 * renewal in time — the run is stopped at once (SIGKILL to its group, no grace), because after
 * the expiry another worker may recover it and start the next attempt. Uses this process's
 * timers, so it holds while the store or the network is down, or this process cannot get a
 * connection at all.
 */
import { isConnectionFault } from "../store/faults.js";
import { heartbeatRuns } from "../store/sql/heartbeat-runs.js";
import type { Store } from "../store/store.js";
import { type ActiveRun, abort } from "./active-run.js";
import type { StoreHealth } from "./store-health.js";
import type { WorkerPresence } from "./worker-presence.js";

export interface LeaseKeeperOptions {
  store: Store;
  workerId: string;
  leaseMs: number;
  now: () => number;
  /** The runs executing here (the engine's, kept current by it). */
  active: ReadonlyMap<number, ActiveRun>;
  health: StoreHealth;
  presence: WorkerPresence | undefined;
  onError: (error: unknown) => void;
}

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** Renews leases from now on while runs execute here (no-op when already renewing). */
  keep(): void {
    if (!this.timer) this.schedule(this.everyMs());
  }

  /** No run left here: no renewals until the next one starts. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** (Re)arms the run's fence from the lease the store last confirmed. */
  armFence(active: ActiveRun): void {
    clearTimeout(active.fence);
    const fenceAt = active.leaseUntil - Math.floor(this.options.leaseMs / 4);
    active.fence = setTimeout(() => abort(active, "lease-lost"), Math.max(0, fenceAt - this.options.now()));
  }

  private everyMs(): number {
    return Math.max(50, Math.floor(this.options.leaseMs / 3));
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), delayMs);
  }

  private async renew(): Promise<void> {
    this.timer = undefined;
    const { active, leaseMs, health } = this.options;
    const ids = [...active.keys()];
    if (ids.length === 0 || this.renewing) return;
    this.renewing = true;
    const now = this.options.now();
    let failed = false;
    try {
      // The wall clock too: after a suspend (monotonic timers stood still) a lease may be gone.
      for (const run of active.values()) if (run.leaseUntil - leaseMs / 4 <= now) abort(run, "lease-lost");
      const held = await withTimeout(
        heartbeatRuns(this.options.store.db, { workerId: this.options.workerId, runIds: ids, now, leaseMs }),
        this.everyMs(),
      );
      for (const id of ids) {
        const run = active.get(id);
        if (!run) continue;
        if (held.has(id)) {
          run.leaseUntil = now + leaseMs;
          if (run.abortReason === undefined) this.armFence(run);
        } else if (run.abortReason === undefined) abort(run, "lease-lost");
      }
      health.answered();
      // Not awaited: a sweep that kills a dead neighbour's leftovers must not delay renewals.
      this.options.presence?.touch(now).catch(this.options.onError);
    } catch (error) {
      failed = true;
      if (isConnectionFault(error) || error instanceof RenewalTimeout) health.failed(error);
      else this.options.onError(error);
    } finally {
      this.renewing = false;
    }
    if (active.size > 0 && !this.timer)
      this.schedule(failed ? Math.max(50, Math.floor(leaseMs / 12)) : this.everyMs());
  }
}

class RenewalTimeout extends Error {}

/** A renewal that does not answer within `ms` counts as failed (a hung connection). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RenewalTimeout(`no answer from the store in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
