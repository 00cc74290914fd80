/**
 * The engine: one loop per process that (as scheduler) recovers expired leases and
 * materialises due occurrences, and (as worker) claims runs and executes them through their
 * harness, heartbeating leases and recording outcomes.
 *
 * Wake-ups: a single timer set to the earliest next due time / queued start / lease expiry,
 * capped by a backstop rescan (default 60 s); wake-ups from other processes (NOTIFY, /wake)
 * and local events (a run finished) run the loop at once. A timer that fires much later than
 * asked means the machine slept or the clock jumped: the pass that follows applies catch-up.
 *
 * Faults: a pass that fails on the store (connection lost, server restarting) is retried
 * with backoff (250 ms doubling to 5 s) and reported once as `store-down`, then `store-up`.
 * Leases survive short outages: heartbeats retry every twelfth of the lease. A run whose
 * lease could not be renewed is *fenced*: a quarter lease before it would expire, its process
 * group is SIGKILLed, so a retry elsewhere (possible only after the expiry) never overlaps it.
 * A finished run's completion is retried through an outage for as long as its lease holds.
 *
 * Its parts: run-attempt.ts (one attempt, start to completion), run-executor.ts (what an
 * attempt executes), lease-keeper.ts (renewals and fences), wake-timer.ts (the single timer
 * and sleep detection), store-health.ts (outages and backoff), engine-events.ts (what it
 * reports).
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { MISFIRE_MIN_LATE_MS } from "../domain/misfire.js";
import type { ConfigSettings } from "../domain/settings.js";
import { startGateway } from "../gateway/server.js";
import type { MeteringGateway } from "../gateway/types.js";
import type { HarnessRegistry } from "../harness/harness.js";
import { isConnectionFault } from "../store/faults.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import { type ClaimedRun, claimRuns } from "../store/sql/claim-runs.js";
import { materialiseDue } from "../store/sql/materialise-due.js";
import { nextWakeups, type Wakeups } from "../store/sql/next-wakeup.js";
import { recoverExpiredLeases } from "../store/sql/recover-expired-leases.js";
import { releaseRuns } from "../store/sql/release-runs.js";
import { releaseStaleReservations } from "../store/sql/settle-budget.js";
import { sweepMisfires } from "../store/sql/sweep-misfires.js";
import type { Store } from "../store/store.js";
import { WORKER_SEEN_EVERY_MS } from "../store/workers.js";
import type { WorkspaceManager } from "../workspace/workspaces.js";
import { type ActiveRun, abort } from "./active-run.js";
import { CompletionBatcher } from "./completion-batcher.js";
import type { Clock, EngineEvent, EngineHealth } from "./engine-events.js";
import { RunEventBuffer } from "./event-sink.js";
import { GatewayHost } from "./gateway-host.js";
import { LeaseKeeper } from "./lease-keeper.js";
import { MaterialiseAheadStep } from "./materialise-ahead-step.js";
import { delay, type RunAttemptDeps, runAttempt } from "./run-attempt.js";
import { RunExecutor } from "./run-executor.js";
import { RunRetention } from "./run-retention.js";
import { StoreHealth } from "./store-health.js";
import type { WakeBus } from "./wake.js";
import { WakeTimer } from "./wake-timer.js";
import { WorkerPresence } from "./worker-presence.js";

export type { Clock, EngineEvent, EngineHealth } from "./engine-events.js";

export const DEFAULT_LEASE_MS = 30_000;
const RESERVATION_SWEEP_MS = 5 * 60_000;
/** Silent misfires (domain/misfire.ts) are looked for this often, and on a process's first pass. */
export const MISFIRE_SWEEP_MS = 5 * 60_000;
export const DEFAULT_BACKSTOP_MS = 60_000;

export interface EngineOptions {
  store: Store;
  harnesses: HarnessRegistry;
  /** Materialise due occurrences (scheduler) and/or claim and execute runs (worker). */
  roles: { schedule: boolean; work: boolean };
  workerId?: string;
  /**
   * Runs this process executes at once. A run whose executor returned frees its slot while
   * its completion is written (it keeps its lease until then).
   */
  concurrency?: number;
  /** Running runs across all workers. */
  globalConcurrency?: number;
  /** What this worker offers; it claims only runs whose routine `requires` a subset. */
  labels?: readonly string[];
  leaseMs?: number;
  backstopMs?: number;
  graceMs?: number;
  /**
   * Scheduler: occurrences due within this many ms are materialised ahead as queued runs that
   * start at their due time, so the due instant costs a claim only (engine/materialise-ahead-step.ts;
   * default 1 s, one run ahead per routine; 0: materialise at the due time).
   */
  aheadMs?: number;
  clock?: Clock;
  /** Worktrees for runs; without it every run works in its repo folder. */
  workspaces?: WorkspaceManager;
  wake?: WakeBus;
  /** The environment runs inherit from (default this process's). */
  env?: NodeJS.ProcessEnv;
  /**
   * Given the applied settings before each claim: rebuilds what runs are executed with
   * (app/worker-runtime.ts) when `harnesses:`/`workspaces:` changed; returns those sections.
   */
  refreshRuntime?: (settings: ConfigSettings) => string[];
  onEvent?: (event: EngineEvent) => void;
  /**
   * Given the outbox's next due time from the read that armed the timer (null: nothing
   * pending or held): the daemon hands it to its delivery worker, so the one backstop read a
   * minute serves both loops (the worker keeps no backstop timer of its own).
   */
  planDeliveries?: (nextAt: number | null) => void;
  /**
   * Starts this process's metering gateway, on the first agent attempt that wants it
   * (engine/gateway-host.ts); null: none, every attempt is metered from its harness's report.
   */
  startGateway?: (() => Promise<MeteringGateway>) | null;
  /** How often the scheduler prunes runs past retention (engine/run-retention.ts; default 10 min). */
  retentionSweepMs?: number;
}

export class Engine {
  readonly workerId: string;
  readonly labels: string[];
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly backstopMs: number;
  private readonly concurrency: number;
  private readonly active = new Map<number, ActiveRun>();
  private readonly events: RunEventBuffer;
  private readonly completions: CompletionBatcher;
  private readonly storeHealth: StoreHealth;
  private readonly leases: LeaseKeeper;
  private readonly attempts: RunAttemptDeps;
  private readonly timer: WakeTimer;
  private readonly ahead: MaterialiseAheadStep;
  private readonly presence: WorkerPresence | undefined;
  private readonly gateway: GatewayHost | null;
  private readonly retention: RunRetention | undefined;
  private passing: Promise<void> | undefined;
  private passAgain = false;
  /** The last claim left runs it could not start here (global cap, missing labels). */
  private blocked = false;
  /** A global concurrency cap applies: completions free slots other workers wait for. */
  private globalCapped = false;
  private stopping = false;
  private lastReservationSweep: number;
  private lastMisfireSweep = Number.NEGATIVE_INFINITY;
  /**
   * The read of a pass that then wrote nothing: still what the store holds, so the timer is
   * armed from it without a second read (an idle daemon's backstop pass is one query).
   */
  private unchangedRead: Wakeups | undefined;
  private started = false;

  constructor(private readonly options: EngineOptions) {
    this.store = options.store;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.backstopMs = options.backstopMs ?? DEFAULT_BACKSTOP_MS;
    this.concurrency = options.concurrency ?? 4;
    this.events = new RunEventBuffer(
      this.store,
      () => this.clock.now(),
      (error) => this.emit({ type: "error", error }),
    );
    this.completions = new CompletionBatcher(this.store, this.events);
    // Every worker offers the harnesses it has, so `requires: [shell]` needs no flag.
    this.labels = [...new Set([...(options.labels ?? []), ...options.harnesses.keys()])].sort();
    // Unique enough to mark this worker's processes (LOOPD_WORKER) among every loopd on the host.
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
    this.lastReservationSweep = this.clock.now();
    this.presence = options.roles.work
      ? new WorkerPresence({
          store: this.store,
          workerId: this.workerId,
          labels: this.labels,
          now: () => this.clock.now(),
          seenEveryMs: Math.min(this.backstopMs, WORKER_SEEN_EVERY_MS),
          onRecovered: (recovered) => {
            this.emit({ type: "recovered", ...recovered });
            const now = this.clock.now();
            // As after lease recovery: the dead attempts will never settle their reservations.
            releaseStaleReservations(this.store, { createdBefore: now - this.leaseMs, now }).catch(
              (error: unknown) => this.emit({ type: "error", error }),
            );
            void this.notifyOthers();
            this.wake();
          },
          onError: (error) => this.emit({ type: "error", error }),
        })
      : undefined;
    this.retention = options.roles.schedule
      ? new RunRetention({
          store: this.store,
          now: () => this.clock.now(),
          ...(options.retentionSweepMs !== undefined ? { intervalMs: options.retentionSweepMs } : {}),
          onPruned: (pruned) => this.emit({ type: "runs-pruned", ...pruned }),
          onError: (error) => this.emit({ type: "error", error }),
        })
      : undefined;
    this.timer = new WakeTimer({
      now: () => this.clock.now(),
      // Its own entry: only a wake-up with something new behind it makes retention re-read its policy.
      onWake: () => this.wakeUp(),
      onLate: (lateByMs) => {
        this.ahead.woke();
        this.emit({ type: "woke-late", lateByMs });
      },
    });
    this.ahead = new MaterialiseAheadStep(this.store, {
      ...(options.aheadMs !== undefined ? { horizonMs: options.aheadMs } : {}),
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
    });
    this.storeHealth = new StoreHealth((event) => this.emit(event), this.store.location);
    this.leases = new LeaseKeeper({
      store: this.store,
      workerId: this.workerId,
      leaseMs: this.leaseMs,
      now: () => this.clock.now(),
      active: this.active,
      health: this.storeHealth,
      presence: this.presence,
      onError: (error) => this.emit({ type: "error", error }),
    });
    const start =
      options.startGateway === undefined
        ? () => startGateway({ onError: (error) => this.emit({ type: "error", error }) })
        : options.startGateway;
    // Also for an inline `loopd run` (no roles): it is only started by an agent attempt.
    this.gateway = start ? new GatewayHost(start) : null;
    this.attempts = {
      store: this.store,
      executor: new RunExecutor({
        store: this.store,
        harnesses: options.harnesses,
        workspaces: options.workspaces ?? null,
        workerId: this.workerId,
        now: () => this.clock.now(),
        ...(options.env ? { baseEnv: options.env } : {}),
        gateway: this.gateway,
      }),
      workerId: this.workerId,
      clock: this.clock,
      events: this.events,
      completions: this.completions,
      health: this.storeHealth,
      emit: (event) => this.emit(event),
      notifyOthers: () => this.notifyOthers(),
      globalCapped: () => this.globalCapped,
      executed: () => {
        if (this.started) this.wake();
      },
    };
  }

  /**
   * Closes the metering gateway, if an attempt started it (stop() does too): for an engine
   * that only ran runs handed to it (an inline `loopd run`), whose process must then exit.
   */
  async closeGateway(): Promise<void> {
    await this.gateway?.close();
  }

  /** Starts the loop: a first pass now, then wake-ups. */
  async start(): Promise<void> {
    this.started = true;
    // Registers this worker and recovers at once the runs of dead workers of this host.
    await this.presence?.start().catch((error: unknown) => this.emit({ type: "error", error }));
    await this.options.wake?.listen(() => this.wake());
    // The retention sweep's gate starts out knowing the policy: an idle daemon never reads it again.
    await this.retention?.loadPolicy().catch((error: unknown) => this.emit({ type: "error", error }));
    this.wakeUp();
  }

  health(): EngineHealth {
    const listening = this.options.wake?.listening?.();
    return {
      store: this.storeHealth.downSince === null ? "ok" : "degraded",
      downSince: this.storeHealth.downSince,
      error: this.storeHealth.error,
      errorCode: this.storeHealth.code,
      listening: listening ?? null,
    };
  }

  /**
   * Runs a pass soon (coalesced with one already running). Something happened (a wake-up from
   * another process, an applied config, a finished or recovered run): the retention sweep reads
   * its policy again before it next trusts its gate.
   */
  wake(): void {
    this.retention?.forgetPolicy();
    this.wakeUp();
  }

  /** A pass soon, for the timer: nothing new happened, only time passed. */
  private wakeUp(): void {
    if (this.stopping) return;
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    this.passing = this.runPasses().finally(() => {
      this.passing = undefined;
    });
  }

  /** One pass, for tests that drive time themselves. */
  async pass(): Promise<void> {
    await this.passOnce();
  }

  /** Resolves when no run is executing in this process. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active.values()].map((active) => active.done));
  }

  activeRunIds(): number[] {
    return [...this.active.keys()];
  }

  /**
   * Stops claiming, lets running runs finish for up to `graceMs`, then stops the rest and
   * hands them back to the queue without spending an attempt.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.timer.clear();
    await this.passing;
    const finished = this.idle();
    const timedOut = await Promise.race([finished.then(() => false), delay(graceMs).then(() => true)]);
    if (timedOut) {
      const ids = [...this.active.keys()];
      for (const active of this.active.values()) abort(active, "shutdown");
      await this.idle();
      try {
        await releaseRuns(this.store.db, { workerId: this.workerId, runIds: ids, now: this.clock.now() });
      } catch (error) {
        // The store is down: the runs come back when their leases expire, attempt spent.
        this.emit({ type: "error", error });
      }
    }
    await this.retention?.stop();
    await this.events.flush();
    await this.gateway?.close().catch((error: unknown) => this.emit({ type: "error", error }));
    this.leases.stop();
    await this.presence?.stop().catch((error: unknown) => this.emit({ type: "error", error }));
    await this.options.wake?.close();
  }

  private async runPasses(): Promise<void> {
    for (;;) {
      let failed = false;
      do {
        this.passAgain = false;
        try {
          await this.passOnce();
          failed = false;
          this.storeHealth.answered();
        } catch (error) {
          failed = true;
          if (isConnectionFault(error)) this.storeHealth.failed(error);
          else this.emit({ type: "error", error });
        }
      } while (this.passAgain && !this.stopping);
      if (!this.started || this.stopping) return;
      if (failed) {
        // Reconnect with backoff rather than at the backstop: the pool opens a new connection.
        this.armRetry();
        return;
      }
      await this.armTimer();
      // A wake-up that arrived while the timer was being armed saw `passing` set and only
      // flagged `passAgain`; the timer was armed from a read taken before that change.
      if (!this.passAgain) return;
    }
  }

  private async passOnce(): Promise<void> {
    this.unchangedRead = undefined;
    const now = this.clock.now();
    const { schedule, work } = this.options.roles;
    // One cheap read decides which write transactions this pass needs at all; when it is
    // time, it is this worker's heartbeat too (`seen_at`), in the same statement.
    const touch = this.presence?.seenDue(now)
      ? { id: this.workerId, seenAt: now, dialect: this.store.dialect }
      : undefined;
    const due = await nextWakeups(this.store.db, now, touch ? { touchWorker: touch } : {});
    if (touch) this.presence?.seen(now);
    let wrote = false;
    let requeued = false;
    if ((schedule || work) && due.nextLeaseExpiry !== null && due.nextLeaseExpiry < now) {
      wrote = true;
      const recovered = await recoverExpiredLeases(this.store, now);
      requeued = recovered.requeued.length > 0;
      if (recovered.requeued.length + recovered.failed.length > 0) {
        this.emit({ type: "recovered", ...recovered });
        // A dead worker's attempts will never settle their budget reservations: free them.
        await releaseStaleReservations(this.store, { createdBefore: now - this.leaseMs, now });
        await this.notifyOthers();
      }
    }
    const staleBefore = now - RESERVATION_SWEEP_MS;
    const reservationsToSweep =
      due.oldestOpenReservationAt !== null && due.oldestOpenReservationAt < staleBefore;
    if (schedule && now - this.lastReservationSweep >= RESERVATION_SWEEP_MS && reservationsToSweep) {
      // Reservations whose attempt is gone (a worker died before its lease was even
      // renewed, a settle failed): without this they would hold budget until the next
      // recovery. Rare and cheap, so a slow periodic sweep is enough.
      this.lastReservationSweep = now;
      wrote = true;
      await releaseStaleReservations(this.store, { createdBefore: staleBefore, now });
    }
    let queued = false;
    // After a sleep or restart, runs materialised ahead and long past due go back to catch-up.
    const rewound = schedule && (await this.ahead.rewindStale(due, now));
    wrote ||= rewound;
    if (schedule && (rewound || (due.nextDueAt !== null && due.nextDueAt <= now))) {
      wrote = true;
      const result = await materialiseDue(this.store, now, {
        ...(this.options.graceMs !== undefined ? { graceMs: this.options.graceMs } : {}),
      });
      if (result.queued + result.skipped > 0) {
        this.emit({ type: "materialised", queued: result.queued, skipped: result.skipped });
        // Workers elsewhere (loopd worker) learn about new runs at once.
        if (result.queued > 0) await this.notifyOthers();
      }
      queued = result.queued > 0;
    }
    // The read says whether any active routine is late enough to misfire (the sweep's own
    // condition on the earliest due time): an idle store is not swept, costing no query.
    const lateEnough = due.nextDueAt !== null && due.nextDueAt < now - MISFIRE_MIN_LATE_MS;
    if ((schedule || work) && now - this.lastMisfireSweep >= MISFIRE_SWEEP_MS && lateEnough) {
      // After materialising, so what is still far behind is truly stuck. Every daemon looks,
      // workers too: a store with workers and no scheduler is the misfire nobody else sees.
      this.lastMisfireSweep = now;
      wrote = true;
      const misfired = await sweepMisfires(this.store, now);
      if (misfired.length > 0) this.emit({ type: "misfired", routines: misfired });
    }
    // In the background: deleting finished runs changes nothing this pass reads or arms from.
    if (schedule) this.retention?.maybeSweep(due);
    if (work && (queued || requeued || (due.nextQueuedAt !== null && due.nextQueuedAt <= now))) {
      // A fresh clock reading: `started_at` records when the claim happened, after materialising.
      wrote = true;
      await this.claimAndStart(this.clock.now());
    }
    if (schedule) {
      // After the claim, so a due instant waits for nothing but it.
      const ahead = await this.ahead.materialise(due, this.clock.now(), queued);
      if (ahead.queued > 0) {
        wrote = true;
        this.emit({ type: "materialised", queued: ahead.queued, skipped: 0 });
        await this.notifyOthers();
      }
      if (ahead.full) this.passAgain = true;
    }
    if (!wrote) this.unchangedRead = due;
  }

  /**
   * Run slots free for a claim: runs whose executor returned do not hold one while their
   * completion is written (the claim and the completion overlap). Runs awaiting completion
   * are bounded too (one more set of slots), so a slow store cannot pile them up.
   */
  private freeSlots(): number {
    let executing = 0;
    for (const active of this.active.values()) if (!active.executed) executing++;
    return Math.min(this.concurrency - executing, 2 * this.concurrency - this.active.size);
  }

  private async claimAndStart(now: number): Promise<void> {
    if (this.freeSlots() <= 0) return;
    const settings = (await getSetting<ConfigSettings>(this.store.db, CONFIG_SETTING)) ?? {};
    // Whichever process applied them, the runs claimed below use the settings as they are now.
    this.retention?.observeSettings(settings);
    const reloaded = this.options.refreshRuntime?.(settings) ?? [];
    if (reloaded.length > 0) this.emit({ type: "settings-reloaded", sections: reloaded });
    const limits = settings.limits ?? {};
    const globalConcurrency = this.options.globalConcurrency ?? limits.concurrency;
    this.globalCapped = globalConcurrency !== undefined;
    const { claimed, canceled, saturated, unsuitable } = await claimRuns(this.store, {
      workerId: this.workerId,
      now,
      limit: this.freeSlots(),
      leaseMs: this.leaseMs,
      ...(globalConcurrency !== undefined ? { globalConcurrency } : {}),
      ...(limits.perRepo !== undefined ? { perRepo: limits.perRepo } : {}),
      labels: this.labels,
    });
    this.blocked = saturated || unsuitable > 0;
    for (const id of canceled) {
      const local = this.active.get(id);
      if (local) abort(local, "canceled");
      else await this.notifyOthers(); // its worker learns at its next heartbeat; wake it now
    }
    for (const run of claimed) this.startRun(run);
  }

  /** Executes a claimed run (also used by `loopd run` to execute in-process). */
  startRun(run: ClaimedRun): Promise<void> {
    const controller = new AbortController();
    const active: ActiveRun = { run, controller, leaseUntil: run.leaseUntil, done: Promise.resolve() };
    this.leases.armFence(active);
    active.done = runAttempt(this.attempts, active).finally(() => {
      clearTimeout(active.fence);
      this.active.delete(run.id);
      if (this.active.size === 0) this.leases.stop();
      if (this.started) this.wake();
    });
    this.active.set(run.id, active);
    this.leases.keep();
    return active.done;
  }

  /** The next pass after a failed one, with backoff (store-health.ts). */
  private armRetry(): void {
    this.timer.retry(this.storeHealth.nextPassDelayMs());
  }

  private async armTimer(): Promise<void> {
    this.timer.clear();
    const now = this.clock.now();
    let next: number | null = null;
    try {
      const wakeups = this.unchangedRead ?? (await nextWakeups(this.store.db, now));
      this.unchangedRead = undefined;
      const canStart = this.options.roles.work && this.freeSlots() > 0;
      const candidates = [
        this.options.roles.schedule ? wakeups.nextDueAt : null,
        this.options.roles.schedule ? this.ahead.wakeAt(wakeups, now) : null,
        // Runs left queued that this worker could not start (global cap, labels) would make
        // the timer spin; then only future starts count, and completions wake us for the rest.
        canStart ? (this.blocked ? wakeups.nextFutureQueuedAt : wakeups.nextQueuedAt) : null,
        wakeups.nextLeaseExpiry === null ? null : wakeups.nextLeaseExpiry + 1,
      ].filter((value): value is number => value !== null);
      next = candidates.length > 0 ? Math.min(...candidates) : null;
      this.options.planDeliveries?.(wakeups.nextDeliveryAt);
    } catch (error) {
      if (isConnectionFault(error)) {
        // The store went away between the pass and this read: an outage like a failed pass's
        // (reported once, retried with backoff), not a minute's sleep at the backstop.
        this.storeHealth.failed(error);
        this.armRetry();
        return;
      }
      this.emit({ type: "error", error });
    }
    // A worker's backstop read is its heartbeat: never further apart than the refresh period.
    const backstopMs = this.presence ? Math.min(this.backstopMs, WORKER_SEEN_EVERY_MS) : this.backstopMs;
    // From a clock read after the query: a delay counted from before it would wake that much late.
    const delayMs = next === null ? backstopMs : Math.min(Math.max(next - this.clock.now(), 0), backstopMs);
    this.timer.arm(delayMs);
    this.emit({ type: "idle", inMs: delayMs });
  }

  private async notifyOthers(): Promise<void> {
    try {
      await this.options.wake?.notify();
    } catch (error) {
      this.emit({ type: "error", error });
    }
  }

  private emit(event: EngineEvent): void {
    this.options.onEvent?.(event);
  }
}
