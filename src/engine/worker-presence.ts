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
  type WorkerRecord,
  workersOnHost,
} from "../store/workers.js";

const WATCH_EVERY_MS = 1000;
/**
 * How often an idle worker says it is alive (`seen_at`; lease renewals do it while runs go):
 * `loopd status` counts the workers seen in the last minute.
 */
const SEEN_EVERY_MS = 20_000;

export class WorkerPresence {
  private readonly hostKey = hostKey();
  /** Workers of this host seen at the last sweep, whose pids the local watch checks. */
  private neighbours: WorkerRecord[] = [];
  private watchTimer: NodeJS.Timeout | undefined;
  private seenTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<RecoveryResult> | undefined;

  constructor(
    private readonly options: {
      store: Store;
      workerId: string;
      labels: readonly string[];
      now: () => number;
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
    await this.sweep();
    this.watchTimer = setInterval(() => this.watch(), WATCH_EVERY_MS);
    this.watchTimer.unref();
    // A failed write is not reported: the store's outage is, by the passes and the lease keeper.
    this.seenTimer = setInterval(
      () =>
        void touchWorker(this.options.store.db, this.options.workerId, this.options.now()).catch(() => {}),
      SEEN_EVERY_MS,
    );
    this.seenTimer.unref();
  }

  /** While leases are renewed: this worker is alive; and a look at the neighbours. */
  async touch(now: number): Promise<void> {
    await touchWorker(this.options.store.db, this.options.workerId, now);
    await this.sweep();
  }

  async stop(): Promise<void> {
    clearInterval(this.watchTimer);
    clearInterval(this.seenTimer);
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
