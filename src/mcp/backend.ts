/**
 * What the MCP tools act on: the daemon's HTTP API when a daemon is up (LOOPD_URL, or the one
 * serving this data dir), otherwise the store itself through the same `app/` use-cases, with a
 * wake-up for a daemon that starts later or runs elsewhere (Postgres). Both paths answer with
 * the same views, so a tool never knows which one it used.
 */
import type { CostsView } from "../app/costs.js";
import { costs } from "../app/costs.js";
import { connectDaemon, type DaemonClient } from "../app/daemon-client.js";
import { openStoreFromEnv, storeOptionsFromEnv } from "../app/open-store.js";
import { upsertRoutine } from "../app/routine-upsert.js";
import {
  listRoutineViews,
  pauseRoutine,
  type RoutineDetail,
  removeRoutine,
  resumeRoutine,
  showRoutine,
} from "../app/routines.js";
import type { RunEventView } from "../app/run-event-view.js";
import { fireRoutine } from "../app/run-now.js";
import { listRunLog, listRunViews, type RunDetail, showRun } from "../app/runs.js";
import type { RoutineView, RunView } from "../app/views.js";
import { parseDuration } from "../domain/duration.js";
import { LoopdError } from "../domain/errors.js";
import { createWakeBus } from "../engine/wake.js";
import type { CostReportKey } from "../store/ledger.js";
import type { RunStatus } from "../store/schema.js";
import type { Store } from "../store/store.js";

export interface BackendOptions {
  home: string;
  env: NodeJS.ProcessEnv;
  /** The agent's working directory: the default repo of what it creates. */
  cwd: string;
  now: () => number;
}

export interface RunFilter {
  routine?: string;
  status?: RunStatus;
  limit?: number;
}

export class Backend {
  private storePromise: Promise<Store> | undefined;

  constructor(readonly options: BackendOptions) {}

  /** The store, opened on first use and kept for the server's lifetime (remind always needs it). */
  store(): Promise<Store> {
    this.storePromise ??= openStoreFromEnv(this.options.home, this.options.env);
    return this.storePromise;
  }

  async close(): Promise<void> {
    if (this.storePromise) await (await this.storePromise.catch(() => undefined))?.close();
  }

  /** Tells a running daemon to look at the store now rather than at its next rescan. */
  async wake(): Promise<void> {
    const store = await this.store();
    await createWakeBus(store, storeOptionsFromEnv(this.options.home, this.options.env), this.options.home)
      .notify()
      .catch(() => {});
  }

  /** Asked on every call: a daemon may start or stop while the agent's session goes on. */
  daemon(): Promise<DaemonClient | null> {
    return connectDaemon(this.options.home, this.options.env, "mcp");
  }

  async upsertRoutine(
    name: string,
    routine: Record<string, unknown>,
  ): Promise<{ routine: RoutineView; created: boolean }> {
    const daemon = await this.daemon();
    if (daemon) return daemon.upsertRoutine(name, routine).catch(asConfigError);
    const result = await upsertRoutine(await this.store(), {
      name,
      routine,
      now: this.options.now(),
      cwd: this.options.cwd,
    });
    await this.wake();
    return result;
  }

  /** The routine, or null when there is none by that name. */
  async findRoutine(name: string): Promise<RoutineDetail | null> {
    try {
      return await this.showRoutine(name, 0);
    } catch (error) {
      if (error instanceof LoopdError && error.code === "LOOPD_NOT_FOUND") return null;
      throw error;
    }
  }

  async listRoutines(): Promise<RoutineView[]> {
    const daemon = await this.daemon();
    return daemon ? daemon.listRoutines() : listRoutineViews(await this.store());
  }

  async showRoutine(name: string, runs: number): Promise<RoutineDetail> {
    const daemon = await this.daemon();
    return daemon ? daemon.showRoutine(name, { runs }) : showRoutine(await this.store(), name, { runs });
  }

  async pauseRoutine(name: string, reason: string | undefined): Promise<RoutineView> {
    const daemon = await this.daemon();
    return daemon ? daemon.pauseRoutine(name, reason) : pauseRoutine(await this.store(), name, reason);
  }

  async resumeRoutine(name: string): Promise<RoutineView> {
    const daemon = await this.daemon();
    if (daemon) return daemon.resumeRoutine(name);
    const view = await resumeRoutine(await this.store(), name, this.options.now());
    await this.wake();
    return view;
  }

  async removeRoutine(name: string): Promise<{ name: string; source: string | null }> {
    const daemon = await this.daemon();
    return daemon ? daemon.removeRoutine(name) : removeRoutine(await this.store(), name);
  }

  /** Queues a run; `daemonUp` says whether something is there to execute it now. */
  async fireRoutine(
    name: string,
    text: string | undefined,
    force = false,
  ): Promise<{ runId: number; daemonUp: boolean }> {
    const options = { ...(text !== undefined ? { input: text } : {}), ...(force ? { force } : {}) };
    const daemon = await this.daemon();
    if (daemon) {
      const { runId } = await daemon.fireRoutine(name, options);
      return { runId, daemonUp: true };
    }
    const { runId } = await fireRoutine(await this.store(), name, { now: this.options.now(), ...options });
    await this.wake();
    return { runId, daemonUp: false };
  }

  async listRuns(filter: RunFilter): Promise<RunView[]> {
    const daemon = await this.daemon();
    return daemon ? daemon.listRuns(filter) : listRunViews(await this.store(), filter);
  }

  async showRun(runId: number): Promise<{ run: RunDetail; events: RunEventView[] }> {
    const daemon = await this.daemon();
    if (daemon) return { run: await daemon.showRun(runId), events: await daemon.listRunEvents(runId) };
    const store = await this.store();
    const run = await showRun(store, runId);
    return { run, events: await listRunLog(store, runId) };
  }

  async costs(options: { by: CostReportKey; since: string; routine?: string }): Promise<CostsView> {
    const daemon = await this.daemon();
    if (daemon) return daemon.costs(options);
    const window = parseDuration(options.since);
    if (!window.ok) {
      throw new LoopdError("LOOPD_USAGE", `since "${options.since}": ${window.reason}`, {
        hint: 'Give a duration with a unit, e.g. "24h", "7d" or "30d".',
      });
    }
    return costs(await this.store(), {
      by: options.by,
      since: this.options.now() - window.ms,
      ...(options.routine !== undefined ? { routine: options.routine } : {}),
    });
  }
}

/**
 * The API checks a routine body field by field before the use-case does (LOOPD_API_INVALID);
 * either way the routine did not validate, so the agent sees one code whichever path it took.
 */
function asConfigError(error: unknown): never {
  if (error instanceof LoopdError && error.code === "LOOPD_API_INVALID") {
    throw new LoopdError(
      "LOOPD_CONFIG_INVALID",
      error.message.replace(/^invalid request: /, "invalid routine: "),
      {
        hint: "Fix the fields named; the routine takes loopd.yaml's shape (`loopd schema`).",
        ...(error.details !== undefined ? { details: error.details } : {}),
      },
    );
  }
  throw error;
}
