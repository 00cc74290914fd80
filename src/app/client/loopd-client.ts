/**
 * What every face (the CLI, MCP) asks of loopd, whichever way it is reached: the daemon's HTTP
 * API (http-client.ts) or the store itself through the use-cases (local-client.ts). Both answer
 * with the same views, so a face renders one shape and never chooses the way itself;
 * `connectLoopd` (connect.ts) does. Every write wakes the daemon that schedules the change.
 */
import type { CostReportKey } from "../../domain/cost-report.js";
import type { DeliveryStatus } from "../../domain/delivery-status.js";
import type { RunStatus } from "../../domain/run-status.js";
import type { ApplyResult } from "../apply-config.js";
import type { CheckView } from "../checks.js";
import type { CostsView } from "../costs.js";
import type { DeliveryView } from "../deliveries.js";
import type { FeedbackClusterView } from "../feedback.js";
import type { FlakyTestView } from "../flaky-tests.js";
import type { MemoryView } from "../memory.js";
import type { PlannedReminder, RemindRequest } from "../remind.js";
import type { RoutineDetail, RoutineListItem } from "../routines.js";
import type { RunEventView } from "../run-event-view.js";
import type { RunDetail } from "../runs.js";
import type { StatusView } from "../status.js";
import type { RoutineView, RunView } from "../views.js";

/** Who is asking: each face words its hints its own way (face-words.ts). */
export type ClientFace = "cli" | "mcp";

export interface RunFilter {
  routine?: string;
  status?: RunStatus;
  limit?: number;
}

export interface FiredRun {
  runId: number;
  /** "daemon": queued for a daemon or worker; "this process": claimed and executed here. */
  executedBy: "daemon" | "this process";
  /** Whether a daemon is known to be there to execute it (false: queued for one to come). */
  daemonUp: boolean;
  /** Settles when a run executed in this process is final (at once otherwise). */
  done: Promise<void>;
}

/**
 * A followed run: its events as they come, `still-queued` once when nothing has started it for
 * a while (the local store only: no daemon may be running), then the run's final view.
 */
export type FollowedRun =
  | { kind: "event"; event: RunEventView }
  | { kind: "still-queued" }
  | { kind: "end"; run: RunView };

export interface ApplyRequest {
  file: string;
  dryRun: boolean;
  prune: boolean;
}

export interface LoopdClient {
  listRoutines(): Promise<RoutineListItem[]>;
  showRoutine(name: string, options: { runs: number }): Promise<RoutineDetail>;
  /** `loopd apply`: make the store match a loopd.yaml; `location` names the store written. */
  applyConfig(request: ApplyRequest): Promise<ApplyResult & { location: string }>;
  /** Create or replace a routine given in loopd.yaml's shape (relative repos from `cwd`). */
  upsertRoutine(
    name: string,
    routine: Record<string, unknown>,
    options: { cwd: string },
  ): Promise<{ routine: RoutineView; created: boolean }>;
  pauseRoutine(name: string, reason: string | undefined): Promise<RoutineView>;
  resumeRoutine(name: string): Promise<RoutineView>;
  removeRoutine(name: string): Promise<{ name: string; source: string | null }>;

  /** Queue a run now (the store without a daemon on SQLite: execute it in this process). */
  fireRoutine(name: string, options: { input?: string; force?: boolean }): Promise<FiredRun>;
  listRuns(filter: RunFilter): Promise<RunView[]>;
  showRun(runId: number): Promise<RunDetail>;
  /** The run's unified diff ("" when it changed nothing). */
  runDiff(runId: number): Promise<string>;
  listRunEvents(runId: number): Promise<RunEventView[]>;
  /** The run's log as it grows, then its final view. */
  followRun(runId: number): AsyncGenerator<FollowedRun>;

  /** The ledger grouped by `by` over `since` (a duration back from now, e.g. "7d"). */
  costs(options: { by: CostReportKey; since: string; routine?: string }): Promise<CostsView>;
  listChecks(options: { all: boolean }): Promise<CheckView[]>;
  /** `loopd flaky`: the tests of ci-health routines (one routine's, with `routine`), classified. */
  flakyTests(options: { routine?: string }): Promise<FlakyTestView[]>;
  /** `loopd feedback`: the themes of feedback-triage routines (resolved ones too with `all`). */
  feedbackClusters(options: { routine?: string; all?: boolean }): Promise<FeedbackClusterView[]>;
  listDeliveries(options: { failed?: boolean; limit?: number }): Promise<DeliveryView[]>;
  deliveryCounts(): Promise<Record<DeliveryStatus, number>>;
  /** Makes a pending or dead delivery due now; the short id the list shows is enough. */
  retryDelivery(idOrPrefix: string): Promise<DeliveryView>;

  showMemory(name: string): Promise<MemoryView>;
  setMemory(name: string, content: string): Promise<MemoryView>;
  forgetMemory(name: string): Promise<{ routine: string; cleared: boolean }>;

  /** A sentence → the watch it amounts to (nothing is written). */
  planReminder(request: ReminderRequest): Promise<PlannedReminder>;
  scheduleReminder(planned: PlannedReminder, request: ReminderRequest): Promise<RoutineView>;

  /** `loopd status`: the daemon, store, workers, next due, failing and paused routines, spend today. */
  status(options: { version: string }): Promise<StatusView>;

  /** Tells the daemon to look at the store now rather than at its next backstop pass. */
  wake(): Promise<void>;
  close(): Promise<void>;
}

/** What `remind` reads a sentence with; the client supplies the harnesses for the model fallback. */
export type ReminderRequest = Omit<RemindRequest, "harnesses" | "env">;
