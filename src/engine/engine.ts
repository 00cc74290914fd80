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
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import { pauseAfterOf } from "../domain/failure-breaker.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { HarnessRegistry, HarnessResult } from "../harness/harness.js";
import { isConnectionFault } from "../store/faults.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import { type ClaimedRun, claimRuns } from "../store/sql/claim-runs.js";
import type { Completion, CompletionResult } from "../store/sql/complete-run.js";
import { heartbeatRuns } from "../store/sql/heartbeat-runs.js";
import { materialiseDue } from "../store/sql/materialise-due.js";
import { nextWakeups } from "../store/sql/next-wakeup.js";
import { DEFAULT_AUTH_PAUSE_AFTER, recordAuthOutcome } from "../store/sql/record-auth-outcome.js";
import { recoverExpiredLeases } from "../store/sql/recover-expired-leases.js";
import { releaseRuns } from "../store/sql/release-runs.js";
import { releaseStaleReservations } from "../store/sql/settle-budget.js";
import { type NotifiedMisfire, sweepMisfires } from "../store/sql/sweep-misfires.js";
import type { Store } from "../store/store.js";
import type { WorkspaceManager } from "../workspace/workspaces.js";
import { CompletionBatcher } from "./completion-batcher.js";
import { RunEventBuffer } from "./event-sink.js";
import { type AbortReason, errorOf, outcomeOf, watchOf } from "./outcome.js";
import { RunExecutor } from "./run-executor.js";
import type { WakeBus } from "./wake.js";
import { WorkerPresence } from "./worker-presence.js";

export const DEFAULT_LEASE_MS = 30_000;
const AUTH_ERRORS = new Set(["LOOPD_AUTH_EXPIRED", "LOOPD_AUTH_MISSING"]);
const RESERVATION_SWEEP_MS = 5 * 60_000;
/** Silent misfires (domain/misfire.ts) are looked for this often, and on a process's first pass. */
export const MISFIRE_SWEEP_MS = 5 * 60_000;
export const DEFAULT_BACKSTOP_MS = 60_000;
/** A timer this much later than asked means the process was suspended (sleep) or the clock jumped. */
export const SLEEP_DETECTION_MS = 5_000;
/** Retrying a pass that failed on the store: 250 ms, doubling, at most this. */
const STORE_RETRY_MAX_MS = 5_000;

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
  /** Whether wake-ups from other processes arrive (null: this store has no listener). */
  listening: boolean | null;
}

export interface EngineOptions {
  store: Store;
  harnesses: HarnessRegistry;
  /** Materialise due occurrences (scheduler) and/or claim and execute runs (worker). */
  roles: { schedule: boolean; work: boolean };
  workerId?: string;
  /** Runs this process executes at once. */
  concurrency?: number;
  /** Running runs across all workers. */
  globalConcurrency?: number;
  /** What this worker offers; it claims only runs whose routine `requires` a subset. */
  labels?: readonly string[];
  leaseMs?: number;
  backstopMs?: number;
  graceMs?: number;
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
}

interface ActiveRun {
  run: ClaimedRun;
  controller: AbortController;
  /** Why it was aborted; decides the outcome. */
  abortReason?: AbortReason;
  /** Until when the store last confirmed our lease. */
  leaseUntil: number;
  /** Kills the run a quarter lease before `leaseUntil` unless a renewal moves it first. */
  fence?: NodeJS.Timeout;
  done: Promise<void>;
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
  private readonly executor: RunExecutor;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeating = false;
  private readonly presence: WorkerPresence | undefined;
  /** Store health: when it stopped answering, why, and passes failed in a row. */
  private storeDownSince: number | null = null;
  private storeError: string | null = null;
  private passFailures = 0;
  private expectedAt: { wall: number; mono: number } | undefined;
  private passing: Promise<void> | undefined;
  private passAgain = false;
  /** The last claim left runs it could not start here (global cap, missing labels). */
  private blocked = false;
  /** A global concurrency cap applies: completions free slots other workers wait for. */
  private globalCapped = false;
  private stopping = false;
  private lastReservationSweep: number;
  private lastMisfireSweep = Number.NEGATIVE_INFINITY;
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
    this.executor = new RunExecutor({
      store: this.store,
      harnesses: options.harnesses,
      workspaces: options.workspaces ?? null,
      workerId: this.workerId,
      now: () => this.clock.now(),
      ...(options.env ? { baseEnv: options.env } : {}),
    });
  }

  /** Starts the loop: a first pass now, then wake-ups. */
  async start(): Promise<void> {
    this.started = true;
    // Registers this worker and recovers at once the runs of dead workers of this host.
    await this.presence?.start().catch((error: unknown) => this.emit({ type: "error", error }));
    await this.options.wake?.listen(() => this.wake());
    this.wake();
  }

  health(): EngineHealth {
    const listening = this.options.wake?.listening?.();
    return {
      store: this.storeDownSince === null ? "ok" : "degraded",
      downSince: this.storeDownSince,
      error: this.storeError,
      listening: listening ?? null,
    };
  }

  /** Runs a pass soon (coalesced with one already running). */
  wake(): void {
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
    clearTimeout(this.timer);
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
    await this.events.flush();
    clearTimeout(this.heartbeatTimer);
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
          this.storeAnswered();
        } catch (error) {
          failed = true;
          if (isConnectionFault(error)) this.storeFailed(error);
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
    const now = this.clock.now();
    const { schedule, work } = this.options.roles;
    // One cheap read decides which write transactions this pass needs at all.
    const due = await nextWakeups(this.store.db, now);
    let requeued = false;
    if ((schedule || work) && due.nextLeaseExpiry !== null && due.nextLeaseExpiry < now) {
      const recovered = await recoverExpiredLeases(this.store, now);
      requeued = recovered.requeued.length > 0;
      if (recovered.requeued.length + recovered.failed.length > 0) {
        this.emit({ type: "recovered", ...recovered });
        // A dead worker's attempts will never settle their budget reservations: free them.
        await releaseStaleReservations(this.store, { createdBefore: now - this.leaseMs, now });
        await this.notifyOthers();
      }
    }
    if (schedule && now - this.lastReservationSweep >= RESERVATION_SWEEP_MS) {
      // Reservations whose attempt is gone (a worker died before its lease was even
      // renewed, a settle failed): without this they would hold budget until the next
      // recovery. Rare and cheap, so a slow periodic sweep is enough.
      this.lastReservationSweep = now;
      await releaseStaleReservations(this.store, { createdBefore: now - RESERVATION_SWEEP_MS, now });
    }
    let queued = false;
    if (schedule && due.nextDueAt !== null && due.nextDueAt <= now) {
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
    if ((schedule || work) && now - this.lastMisfireSweep >= MISFIRE_SWEEP_MS) {
      // After materialising, so what is still far behind is truly stuck. Every daemon looks,
      // workers too: a store with workers and no scheduler is the misfire nobody else sees.
      this.lastMisfireSweep = now;
      const misfired = await sweepMisfires(this.store, now);
      if (misfired.length > 0) this.emit({ type: "misfired", routines: misfired });
    }
    if (work && (queued || requeued || (due.nextQueuedAt !== null && due.nextQueuedAt <= now))) {
      // A fresh clock reading: `started_at` records when the claim happened, after materialising.
      await this.claimAndStart(this.clock.now());
    }
  }

  private async claimAndStart(now: number): Promise<void> {
    if (this.active.size >= this.concurrency) return;
    const settings = (await getSetting<ConfigSettings>(this.store.db, CONFIG_SETTING)) ?? {};
    // Whichever process applied them, the runs claimed below use the settings as they are now.
    const reloaded = this.options.refreshRuntime?.(settings) ?? [];
    if (reloaded.length > 0) this.emit({ type: "settings-reloaded", sections: reloaded });
    const limits = settings.limits ?? {};
    const globalConcurrency = this.options.globalConcurrency ?? limits.concurrency;
    this.globalCapped = globalConcurrency !== undefined;
    const { claimed, canceled, saturated, unsuitable } = await claimRuns(this.store, {
      workerId: this.workerId,
      now,
      limit: this.concurrency - this.active.size,
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
    this.armFence(active);
    active.done = this.execute(active).finally(() => {
      clearTimeout(active.fence);
      this.active.delete(run.id);
      if (this.active.size === 0) {
        clearTimeout(this.heartbeatTimer);
        this.heartbeatTimer = undefined;
      }
      if (this.started) this.wake();
    });
    this.active.set(run.id, active);
    if (!this.heartbeatTimer) this.scheduleHeartbeat(this.heartbeatEveryMs());
    return active.done;
  }

  private heartbeatEveryMs(): number {
    return Math.max(50, Math.floor(this.leaseMs / 3));
  }

  private scheduleHeartbeat(delayMs: number): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), delayMs);
  }

  /**
   * Fencing: a quarter lease before the lease we hold runs out — the store did not confirm a
   * renewal in time — the run is stopped at once (SIGKILL to its group, no grace), because
   * after the expiry another worker may recover it and start the next attempt. Uses this
   * process's timers, so it holds while the store or the network is down, or this process
   * cannot get a connection at all.
   */
  private armFence(active: ActiveRun): void {
    clearTimeout(active.fence);
    const fenceAt = active.leaseUntil - Math.floor(this.leaseMs / 4);
    active.fence = setTimeout(() => abort(active, "lease-lost"), Math.max(0, fenceAt - this.clock.now()));
  }

  private async execute(active: ActiveRun): Promise<void> {
    const { run } = active;
    const started = this.clock.now();
    const startedMono = performance.now();
    this.emit({ type: "run-started", run });
    this.events.status(run.id, run.attempt, {
      event: "started",
      attempt: run.attempt,
      worker: this.workerId,
    });
    const timeout = setTimeout(() => abort(active, "timeout"), run.spec.timeoutMs);

    let result: HarnessResult;
    try {
      result = await this.executor.execute({
        run,
        signal: active.controller.signal,
        emit: (event) => this.events.push(run.id, run.attempt, event),
      });
    } catch (error) {
      result = {
        outcome: "failed",
        exitCode: null,
        summary: null,
        error: {
          code: "LOOPD_HARNESS_CRASHED",
          message: error instanceof Error ? error.message : String(error),
        },
      };
    } finally {
      clearTimeout(timeout);
    }

    const outcome = outcomeOf(result, active.abortReason);
    const error = errorOf(result, active.abortReason, run);
    const verdict = outcome === "succeeded" ? watchOf(run, result).watch?.verdict : undefined;
    this.events.status(run.id, run.attempt, {
      event: "finished",
      outcome,
      ...(verdict ? { verdict } : {}),
      exitCode: result.exitCode,
      error,
    });
    this.events.end(run.id);
    const durationMs = Math.round(performance.now() - startedMono);
    if (active.abortReason === "lease-lost" || active.abortReason === "shutdown") {
      // Not ours to complete any more (lost), or handed back by stop() (shutdown).
      this.emit({
        type: "run-finished",
        run,
        outcome,
        accepted: false,
        durationMs,
        ...(active.abortReason === "shutdown" ? { returned: true as const } : {}),
      });
      return;
    }
    let completion: CompletionResult;
    try {
      const breaker = outcome === "failed" || outcome === "timed_out" ? await this.breakerOf(run) : null;
      completion = await this.completeThroughOutage(active, {
        runId: run.id,
        attempt: run.attempt,
        workerId: this.workerId,
        now: Math.max(this.clock.now(), started),
        outcome,
        exitCode: result.exitCode,
        summary: result.summary,
        error,
        ...(result.usage ? { usage: result.usage } : {}),
        ...(result.costUsd !== undefined ? { costUsd: result.costUsd } : {}),
        turns: result.turns ?? null,
        sessionId: result.sessionId ?? null,
        // Nobody checked a success whose last tool call failed: it is flagged, never silent.
        ...(outcome === "succeeded" && result.lastToolFailed && !run.spec.verify ? { unverified: true } : {}),
        ...(result.retryNow && error?.code === "LOOPD_VERIFY_FAILED" ? { retryNow: true } : {}),
        ...(outcome === "succeeded" ? watchOf(run, result) : {}),
        ...(breaker ? { breaker } : {}),
        ...(run.spec.notify.length > 0
          ? {
              notify: {
                routineId: run.routineId,
                rules: run.spec.notify,
                payload: { routine: run.routineName, harness: run.spec.harness, durationMs },
              },
            }
          : {}),
      });
    } catch (error) {
      // The store is unreachable for longer than the lease holds: the run is recovered and
      // run again. Nothing is lost; it may run twice, never at once.
      this.emit({ type: "error", error });
      return;
    }
    this.emit({
      type: "run-finished",
      run,
      outcome,
      ...(verdict ? { verdict } : {}),
      accepted: completion.accepted,
      durationMs,
      ...(completion.accepted && !completion.final ? { retryAt: completion.retryAt } : {}),
    });
    if (completion.accepted && completion.final && completion.paused)
      this.emit({ type: "routine-paused", routine: run.routineName, reason: "failing", error });
    if (completion.accepted && run.spec.harness !== "shell") await this.recordAuth(run, error);
    // Other processes only need waking when something they wait for changed: runs released
    // from a wait, or a slot under a global cap. Otherwise a completion is nobody's business.
    if (completion.accepted && (completion.releasedRuns > 0 || this.globalCapped)) await this.notifyOthers();
  }

  /**
   * Records a completion; through a store outage it retries with backoff for as long as the
   * lease holds (the heartbeat keeps renewing it; the fence ends the wait when it cannot), so
   * a short outage does not make a finished run run again.
   */
  private async completeThroughOutage(active: ActiveRun, completion: Completion): Promise<CompletionResult> {
    for (let failures = 0; ; failures++) {
      try {
        const result = await this.completions.complete(completion);
        this.storeAnswered();
        return result;
      } catch (error) {
        if (!isConnectionFault(error) || active.abortReason !== undefined) throw error;
        this.storeFailed(error);
        await delay(Math.min(250 * 2 ** failures, STORE_RETRY_MAX_MS));
        if (active.abortReason !== undefined) throw error;
      }
    }
  }

  /** The failure circuit breaker's threshold for a failed run: the routine's, the global one, or 5. */
  private async breakerOf(run: ClaimedRun): Promise<NonNullable<Completion["breaker"]>> {
    const global =
      run.spec.pauseAfter === undefined
        ? (await getSetting<ConfigSettings>(this.store.db, CONFIG_SETTING))?.failures?.pauseAfter
        : undefined;
    return {
      routineName: run.routineName,
      pauseAfter: pauseAfterOf(run.spec.pauseAfter, global),
      notify: run.spec.notify,
    };
  }

  /** Counts consecutive auth failures; the routine pauses itself at the configured threshold. */
  private async recordAuth(run: ClaimedRun, error: { code: string; message: string } | null): Promise<void> {
    const authError = error && AUTH_ERRORS.has(error.code) ? error : null;
    try {
      // The threshold matters only when there is a failure to count: most runs skip the read.
      const pauseAfter = authError
        ? ((await getSetting<ConfigSettings>(this.store.db, CONFIG_SETTING))?.auth?.pauseAfter ??
          DEFAULT_AUTH_PAUSE_AFTER)
        : DEFAULT_AUTH_PAUSE_AFTER;
      const result = await recordAuthOutcome(this.store, {
        routineId: run.routineId,
        routineName: run.routineName,
        runId: run.id,
        authError,
        pauseAfter,
        notify: run.spec.notify,
        now: this.clock.now(),
      });
      if (result.paused)
        this.emit({ type: "routine-paused", routine: run.routineName, reason: "auth", error: authError });
    } catch (failure) {
      this.emit({ type: "error", error: failure });
    }
  }

  /**
   * Renews the leases of the runs executing here, every third of the lease; after a failure,
   * every twelfth, so a short outage does not eat the lease. A run the store no longer gives
   * us (recovered, canceled) is stopped at once; one whose renewal does not come in time is
   * stopped by its fence.
   */
  private async heartbeat(): Promise<void> {
    this.heartbeatTimer = undefined;
    const ids = [...this.active.keys()];
    if (ids.length === 0 || this.heartbeating) return;
    this.heartbeating = true;
    const now = this.clock.now();
    let failed = false;
    try {
      // The wall clock too: after a suspend (monotonic timers stood still) a lease may be gone.
      for (const active of this.active.values())
        if (active.leaseUntil - this.leaseMs / 4 <= now) abort(active, "lease-lost");
      const held = await withTimeout(
        heartbeatRuns(this.store.db, { workerId: this.workerId, runIds: ids, now, leaseMs: this.leaseMs }),
        this.heartbeatEveryMs(),
      );
      for (const id of ids) {
        const active = this.active.get(id);
        if (!active) continue;
        if (held.has(id)) {
          active.leaseUntil = now + this.leaseMs;
          if (active.abortReason === undefined) this.armFence(active);
        } else if (active.abortReason === undefined) abort(active, "lease-lost");
      }
      this.storeAnswered();
      // Not awaited: a sweep that kills a dead neighbour's leftovers must not delay renewals.
      this.presence?.touch(now).catch((error: unknown) => this.emit({ type: "error", error }));
    } catch (error) {
      failed = true;
      if (isConnectionFault(error) || error instanceof HeartbeatTimeout) this.storeFailed(error);
      else this.emit({ type: "error", error });
    } finally {
      this.heartbeating = false;
    }
    if (this.active.size > 0 && !this.heartbeatTimer)
      this.scheduleHeartbeat(failed ? Math.max(50, Math.floor(this.leaseMs / 12)) : this.heartbeatEveryMs());
  }

  /** A store operation succeeded: the end of an outage, if there was one. */
  private storeAnswered(): void {
    this.passFailures = 0;
    if (this.storeDownSince === null) return;
    const downForMs = Math.max(0, Date.now() - this.storeDownSince);
    this.storeDownSince = null;
    this.storeError = null;
    this.emit({ type: "store-up", downForMs });
  }

  private storeFailed(error: unknown): void {
    this.storeError = error instanceof Error ? error.message : String(error);
    if (this.storeDownSince !== null) return;
    this.storeDownSince = Date.now();
    this.emit({ type: "store-down", error });
  }

  /** The next pass after a failed one: 250 ms, doubling, at most STORE_RETRY_MAX_MS. */
  private armRetry(): void {
    clearTimeout(this.timer);
    const delayMs = Math.min(250 * 2 ** this.passFailures, STORE_RETRY_MAX_MS);
    this.passFailures++;
    this.expectedAt = undefined;
    this.timer = setTimeout(() => this.wake(), delayMs);
  }

  private async armTimer(): Promise<void> {
    clearTimeout(this.timer);
    const now = this.clock.now();
    let next: number | null = null;
    try {
      const wakeups = await nextWakeups(this.store.db, now);
      const canStart = this.options.roles.work && this.active.size < this.concurrency;
      const candidates = [
        this.options.roles.schedule ? wakeups.nextDueAt : null,
        // Runs left queued that this worker could not start (global cap, labels) would make
        // the timer spin; then only future starts count, and completions wake us for the rest.
        canStart ? (this.blocked ? wakeups.nextFutureQueuedAt : wakeups.nextQueuedAt) : null,
        wakeups.nextLeaseExpiry === null ? null : wakeups.nextLeaseExpiry + 1,
      ].filter((value): value is number => value !== null);
      next = candidates.length > 0 ? Math.min(...candidates) : null;
    } catch (error) {
      this.emit({ type: "error", error });
    }
    const delayMs = next === null ? this.backstopMs : Math.min(Math.max(next - now, 0), this.backstopMs);
    this.expectedAt = { wall: now + delayMs, mono: performance.now() + delayMs };
    this.timer = setTimeout(() => this.onTimer(), delayMs);
    this.emit({ type: "idle", inMs: delayMs });
  }

  private onTimer(): void {
    const expected = this.expectedAt;
    if (expected) {
      // Late against the wall clock or the monotonic clock: suspended, or the clock jumped.
      const lateByMs = Math.max(this.clock.now() - expected.wall, performance.now() - expected.mono);
      if (lateByMs > SLEEP_DETECTION_MS) this.emit({ type: "woke-late", lateByMs: Math.round(lateByMs) });
    }
    this.wake();
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

function abort(active: ActiveRun, reason: NonNullable<ActiveRun["abortReason"]>): void {
  if (active.abortReason !== undefined) return;
  active.abortReason = reason;
  active.controller.abort(reason);
}

class HeartbeatTimeout extends Error {}

/** A renewal that does not answer within `ms` counts as failed (a hung connection). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HeartbeatTimeout(`no answer from the store in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
