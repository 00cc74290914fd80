/**
 * This engine's row in `workers`, and recovering the runs of workers on this host that died:
 * at start (a restarted worker's successor finds its predecessor's runs), at every lease
 * renewal while runs execute, and within a second of a known worker's pid going away (checked
 * locally, no query). A dead worker is one whose pid is gone or is another process now; its
 * leftover processes — found by the LOOPD_WORKER mark every process of its attempts carries,
 * including ones in a session of their own that its process-group watchdog could not reach —
 * are killed and known gone *before* its runs are re-queued, so the retry never overlaps the
 * attempt it replaces. Workers on other hosts are judged by their leases only.
 */
import { hostname } from "node:os";
import { hostKey, processAlive, processStart } from "../lib/local-host.js";
import { terminateMarked, WORKER_MARKER } from "../lib/process-tree.js";
import { recoverDeadWorkers } from "../store/sql/recover-dead-workers.js";
import type { RecoveryResult } from "../store/sql/recover-expired-leases.js";
import type { Store } from "../store/store.js";
import {
  registerWorker,
  removeWorkers,
  touchWorker,
  WORKER_SEEN_EVERY_MS,
  type WorkerRecord,
  workersOnHost,
} from "../store/workers.js";

const WATCH_EVERY_MS = 1000;

export class WorkerPresence {
  private readonly hostKey = hostKey();
  /** Workers of this host seen at the last sweep, whose pids the local watch checks. */
  private neighbours: WorkerRecord[] = [];
  private watchTimer: NodeJS.Timeout | undefined;
  /** When this worker's `seen_at` was last written (register, lease renewal, wake-up read). */
  private seenAt = Number.NEGATIVE_INFINITY;
  private sweeping: Promise<RecoveryResult> | undefined;

  constructor(
    private readonly options: {
      store: Store;
      workerId: string;
      labels: readonly string[];
      now: () => number;
      /**
       * How often `seen_at` is refreshed when idle: the engine's backstop, at most
       * WORKER_SEEN_EVERY_MS (the default), which `loopd status` counts on.
       */
      seenEveryMs?: number;
      /** Runs of dead workers went back to the queue (or failed): wake the others. */
      onRecovered: (result: RecoveryResult) => void;
      onError: (error: unknown) => void;
    },
  ) {}

  /** Registers this worker, recovers what dead neighbours left, and starts watching them. */
  async start(): Promise<void> {
    const now = this.options.now();
    await registerWorker(this.options.store.db, {
      id: this.options.workerId,
      host: hostname(),
      hostKey: this.hostKey,
      pid: process.pid,
      pidStart: processStart(process.pid),
      labels: [...this.options.labels],
      startedAt: now,
      seenAt: now,
    });
    this.seenAt = now;
    await this.sweep();
    this.watchTimer = setInterval(() => this.watch(), WATCH_EVERY_MS);
    this.watchTimer.unref();
  }

  /**
   * Whether the engine's next wake-up read should refresh `seen_at` (it then calls `seen`).
   * No timer of its own: the idle engine's backstop read, at most `seenEveryMs` apart,
   * is the heartbeat, so an idle daemon's one statement a minute says it is alive too. Half
   * the period, so a read a little early still refreshes, and a busy engine writes it at most
   * twice a minute.
   */
  seenDue(now: number): boolean {
    return now - this.seenAt >= (this.options.seenEveryMs ?? WORKER_SEEN_EVERY_MS) / 2;
  }

  /** The wake-up read refreshed `seen_at` at `now`. */
  seen(now: number): void {
    this.seenAt = Math.max(this.seenAt, now);
  }

  /** While leases are renewed: this worker is alive; and a look at the neighbours. */
  async touch(now: number): Promise<void> {
    await touchWorker(this.options.store.db, this.options.workerId, now);
    this.seen(now);
    await this.sweep();
  }

  async stop(): Promise<void> {
    clearInterval(this.watchTimer);
    await this.sweeping?.catch(() => {});
    await removeWorkers(this.options.store.db, [this.options.workerId]);
  }

  /**
   * Finds this host's dead workers, kills their leftovers and recovers their runs. One sweep
   * at a time; a call during one shares it.
   */
  sweep(): Promise<RecoveryResult> {
    this.sweeping ??= this.doSweep().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async doSweep(): Promise<RecoveryResult> {
    const neighbours = await workersOnHost(this.options.store.db, this.hostKey, this.options.workerId);
    const dead = neighbours.filter((worker) => !processAlive(worker.pid, worker.pidStart));
    this.neighbours = neighbours.filter((worker) => !dead.includes(worker));
    if (dead.length === 0) return { requeued: [], failed: [] };
    // Known gone first: whatever carries a dead worker's mark is SIGKILLed and waited for.
    await Promise.all(dead.map((worker) => terminateMarked(WORKER_MARKER, worker.id, 0)));
    const result = await recoverDeadWorkers(this.options.store, dead, this.options.now());
    if (result.requeued.length + result.failed.length > 0) this.options.onRecovered(result);
    return result;
  }

  private watch(): void {
    if (this.sweeping || !this.neighbours.some((worker) => !processAlive(worker.pid, worker.pidStart)))
      return;
    this.sweep().catch(this.options.onError);
  }
}
