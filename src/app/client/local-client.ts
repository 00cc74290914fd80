/**
 * loopd through the store itself: the `app/` use-cases, with a wake-up after every write for
 * the daemon that schedules the change (PostgreSQL: NOTIFY, reaching daemons on every host;
 * SQLite: `POST /wake` to the one serving this data dir), and, on SQLite with no daemon, runs
 * fired now executed in this process (inline-runner.ts).
 */
import { existsSync } from "node:fs";
import type { CostReportKey } from "../../domain/cost-report.js";
import type { DeliveryStatus } from "../../domain/delivery-status.js";
import { LoopdError } from "../../domain/errors.js";
import { isFinalStatus } from "../../domain/run-status.js";
import { parseSince } from "../../domain/since.js";
import { createWakeBus, liveDaemon } from "../../engine/wake.js";
import type { Store } from "../../store/store.js";
import type { ApplyResult } from "../apply-config.js";
import type { CheckView } from "../checks.js";
import type { CostsView } from "../costs.js";
import type { DeliveryView } from "../deliveries.js";
import type { FeedbackClusterView } from "../feedback.js";
import type { FlakyTestView } from "../flaky-tests.js";
import type { MemoryView } from "../memory.js";
import { openStoreFromEnv, storeOptionsFromEnv } from "../open-store.js";
import type { PlannedReminder } from "../remind.js";
import type { RoutineDetail, RoutineListItem } from "../routines.js";
import type { RunEventView } from "../run-event-view.js";
import type { RunDetail } from "../runs.js";
import type { StatusView } from "../status.js";
import type { RoutineView, RunView } from "../views.js";
import { aboutRun, noRun, sinceError } from "./face-words.js";
import type {
  ApplyRequest,
  ClientFace,
  FiredRun,
  FollowedRun,
  LoopdClient,
  ReminderRequest,
  RunFilter,
} from "./loopd-client.js";

// The use-cases load on first call: a command runs one or two of them, and together they are
// most of what `loopd ls` would otherwise parse at start-up (zod schemas, YAML, reminders).
const routines = () => import("../routines.js");
const runs = () => import("../runs.js");
const deliveries = () => import("../deliveries.js");
const memory = () => import("../memory.js");
const remind = () => import("../remind.js");

/** How often a followed run's log is read from the store. */
const POLL_MS = 250;
/** A run queued this long with nothing taking it: say that a daemon may be missing. */
const STILL_QUEUED_MS = 10_000;

export interface LocalClientOptions {
  home: string;
  env: NodeJS.ProcessEnv;
  now: () => number;
  face?: ClientFace;
  /** Execute a run fired with no daemon on SQLite here (the CLI); false: only queue it (MCP). */
  runsInline?: boolean;
}

export class LocalLoopdClient implements LoopdClient {
  private storePromise: Promise<Store> | undefined;
  /** Runs this process executes, by id: a follower waits for them before reading the outcome. */
  private readonly inline = new Map<number, Promise<void>>();
  private readonly face: ClientFace;

  constructor(private readonly options: LocalClientOptions) {
    this.face = options.face ?? "cli";
  }

  /** The store, opened on first use and closed with the client. */
  private store(): Promise<Store> {
    this.storePromise ??= openStoreFromEnv(this.options.home, this.options.env);
    return this.storePromise;
  }

  listRoutines(): Promise<RoutineListItem[]> {
    return this.withStore(async (store) => (await routines()).listRoutineItems(store));
  }

  showRoutine(name: string, options: { runs: number }): Promise<RoutineDetail> {
    return this.withStore(async (store) => (await routines()).showRoutine(store, name, options));
  }

  async applyConfig(request: ApplyRequest): Promise<ApplyResult & { location: string }> {
    const store = await this.store();
    const result = await (await import("../apply-config.js")).applyConfig(store, {
      ...request,
      now: this.options.now(),
    });
    const changed =
      result.settings.length > 0 || result.changes.some((change) => change.action !== "unchanged");
    if (!request.dryRun && changed) await this.wake();
    return { ...result, location: store.location };
  }

  async upsertRoutine(
    name: string,
    routine: Record<string, unknown>,
    options: { cwd: string },
  ): Promise<{ routine: RoutineView; created: boolean }> {
    const result = await (await import("../routine-upsert.js")).upsertRoutine(await this.store(), {
      name,
      routine,
      now: this.options.now(),
      cwd: options.cwd,
    });
    await this.wake();
    return result;
  }

  pauseRoutine(name: string, reason: string | undefined): Promise<RoutineView> {
    return this.withStore(async (store) => (await routines()).pauseRoutine(store, name, reason));
  }

  async resumeRoutine(name: string): Promise<RoutineView> {
    const view = await (await routines()).resumeRoutine(await this.store(), name, this.options.now());
    await this.wake();
    return view;
  }

  removeRoutine(name: string): Promise<{ name: string; source: string | null }> {
    return this.withStore(async (store) => (await routines()).removeRoutine(store, name));
  }

  async fireRoutine(name: string, options: { input?: string; force?: boolean }): Promise<FiredRun> {
    const store = await this.store();
    const { runId } = await (await import("../run-now.js")).fireRoutine(store, name, {
      now: this.options.now(),
      ...options,
    });
    const daemonUp = liveDaemon(this.options.home) !== undefined;
    const inline =
      this.options.runsInline && store.dialect === "sqlite" && !daemonUp
        ? await (await import("./inline-runner.js")).executeInline(store, runId, {
            home: this.options.home,
            now: this.options.now,
          })
        : null;
    if (!inline) {
      await this.wake();
      return { runId, executedBy: "daemon", daemonUp, done: Promise.resolve() };
    }
    this.inline.set(runId, inline.done);
    return { runId, executedBy: "this process", daemonUp, done: inline.done };
  }

  listRuns(filter: RunFilter): Promise<RunView[]> {
    return this.withStore(async (store) => (await runs()).listRunViews(store, filter));
  }

  showRun(runId: number): Promise<RunDetail> {
    return aboutRun(this.face, async () => (await runs()).showRun(await this.store(), runId));
  }

  async runDiff(runId: number): Promise<string> {
    return (await this.showRun(runId)).diff;
  }

  async listRunEvents(runId: number): Promise<RunEventView[]> {
    await this.requireRun(runId);
    return (await runs()).listRunLog(await this.store(), runId);
  }

  async *followRun(runId: number): AsyncGenerator<FollowedRun> {
    const store = await this.store();
    let afterId: number | undefined;
    let stillQueuedSaid = false;
    const started = Date.now();
    for (;;) {
      for (const event of await (await runs()).listRunLog(
        store,
        runId,
        afterId === undefined ? {} : { afterId },
      )) {
        afterId = event.id;
        yield { kind: "event", event };
      }
      const run = await this.requireRun(runId);
      if (isFinalStatus(run.status)) {
        await this.inline.get(runId);
        yield { kind: "end", run: await this.requireRun(runId) };
        return;
      }
      if (!stillQueuedSaid && run.status === "queued" && Date.now() - started > STILL_QUEUED_MS) {
        stillQueuedSaid = true;
        yield { kind: "still-queued" };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async costs(options: { by: CostReportKey; since: string; routine?: string }): Promise<CostsView> {
    const window = parseSince(options.since, this.options.now());
    if (!window.ok) throw sinceError(this.face, options.since, window.reason);
    return (await import("../costs.js")).costs(await this.store(), {
      by: options.by,
      since: window.since,
      ...(options.routine !== undefined ? { routine: options.routine } : {}),
    });
  }

  listChecks(options: { all: boolean }): Promise<CheckView[]> {
    return this.withStore(async (store) => (await import("../checks.js")).listCheckViews(store, options));
  }

  flakyTests(options: { routine?: string }): Promise<FlakyTestView[]> {
    return this.withStore(async (store) => (await import("../flaky-tests.js")).flakyTests(store, options));
  }

  feedbackClusters(options: { routine?: string; all?: boolean }): Promise<FeedbackClusterView[]> {
    return this.withStore(async (store) =>
      (await import("../feedback.js")).feedbackClusterViews(store, options),
    );
  }

  listDeliveries(options: { failed?: boolean; limit?: number }): Promise<DeliveryView[]> {
    return this.withStore(async (store) => (await deliveries()).listDeliveryViews(store, options));
  }

  deliveryCounts(): Promise<Record<DeliveryStatus, number>> {
    return this.withStore(async (store) => (await deliveries()).deliveryCounts(store));
  }

  async retryDelivery(idOrPrefix: string): Promise<DeliveryView> {
    const delivery = await (await deliveries()).retryDeliveryById(
      await this.store(),
      idOrPrefix,
      this.options.now(),
    );
    // The daemon's delivery worker would otherwise see the row at its next rescan (≤ 60 s).
    await this.wake();
    return delivery;
  }

  showMemory(name: string): Promise<MemoryView> {
    return this.withStore(async (store) => (await memory()).showMemory(store, name));
  }

  setMemory(name: string, content: string): Promise<MemoryView> {
    return this.withStore(async (store) =>
      (await memory()).setMemory(store, name, content, this.options.now()),
    );
  }

  forgetMemory(name: string): Promise<{ routine: string; cleared: boolean }> {
    return this.withStore(async (store) => (await memory()).forgetMemory(store, name));
  }

  async planReminder(request: ReminderRequest): Promise<PlannedReminder> {
    const store = await this.store();
    return (await remind()).planReminder(store, {
      ...request,
      env: this.options.env,
      // Loaded only for the model fallback: the harnesses are start-up a parsed sentence skips.
      harnesses: async () =>
        (await (await import("../worker-runtime.js")).workerRuntime(store, this.options.home)).harnesses,
    });
  }

  async scheduleReminder(planned: PlannedReminder, request: ReminderRequest): Promise<RoutineView> {
    const routine = await (await remind()).scheduleReminder(await this.store(), planned, request);
    await this.wake();
    return routine;
  }

  /** The store's status; a SQLite file that does not exist yet is an error here, not created. */
  async status(options: { version: string }): Promise<StatusView> {
    const where = storeOptionsFromEnv(this.options.home, this.options.env);
    if (where.kind === "sqlite" && !this.storePromise && !existsSync(where.file)) {
      throw new LoopdError("LOOPD_STORE_UNAVAILABLE", `no daemon and no store at ${where.file}`, {
        hint: "Start one with `loopd serve` (or `loopd init` then `loopd apply`), pass the right --home, set LOOPD_DATABASE_URL, or LOOPD_URL for a remote daemon.",
      });
    }
    const daemon = liveDaemon(this.options.home);
    return (await import("../status.js")).status(await this.store(), {
      version: options.version,
      now: this.options.now(),
      daemon: daemon ? { url: daemon.url, pid: daemon.pid, workerId: daemon.workerId } : null,
    });
  }

  /** Best effort: a daemon that misses it still sees the change at its backstop pass. */
  async wake(): Promise<void> {
    const store = await this.store();
    await createWakeBus(store, storeOptionsFromEnv(this.options.home, this.options.env), this.options.home)
      .notify()
      .catch(() => {});
  }

  /** Waits for runs this process executes, then closes the store. */
  async close(): Promise<void> {
    await Promise.all(this.inline.values());
    if (this.storePromise) await (await this.storePromise.catch(() => undefined))?.close();
  }

  private async withStore<T>(use: (store: Store) => Promise<T>): Promise<T> {
    return use(await this.store());
  }

  private async requireRun(runId: number): Promise<RunView> {
    const run = await (await runs()).findRunView(await this.store(), runId);
    if (!run) throw noRun(this.face, runId);
    return run;
  }
}
