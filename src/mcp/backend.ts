/**
 * What the MCP tools act on: loopd through app/client — the daemon's HTTP API when a daemon is
 * up (LOOPD_URL, or the one serving this data dir), otherwise the store itself with a wake-up
 * for a daemon that runs elsewhere (PostgreSQL) or starts later. Both answer with the same
 * views, so a tool never knows which one it used.
 */

import { connectLoopd } from "../app/client/connect.js";
import { LocalLoopdClient } from "../app/client/local-client.js";
import type { LoopdClient, ReminderRequest, RunFilter } from "../app/client/loopd-client.js";
import type { CostsView } from "../app/costs.js";
import type { FlakyTestView } from "../app/flaky-tests.js";
import type { PlannedReminder } from "../app/remind.js";
import type { RoutineDetail, RoutineListItem } from "../app/routines.js";
import type { RunEventView } from "../app/run-event-view.js";
import type { RunDetail } from "../app/runs.js";
import type { RoutineView, RunView } from "../app/views.js";
import type { CostReportKey } from "../domain/cost-report.js";
import { LoopdError } from "../domain/errors.js";

export interface BackendOptions {
  home: string;
  env: NodeJS.ProcessEnv;
  /** The agent's working directory: the default repo of what it creates. */
  cwd: string;
  now: () => number;
}

export class Backend {
  /** The store side, opened on first use and kept for the server's lifetime. */
  private readonly local: LocalLoopdClient;

  constructor(readonly options: BackendOptions) {
    this.local = new LocalLoopdClient({
      home: options.home,
      env: options.env,
      now: options.now,
      face: "mcp",
    });
  }

  /** Asked on every call: a daemon may start or stop while the agent's session goes on. */
  client(): Promise<LoopdClient> {
    const { home, env, now } = this.options;
    return connectLoopd({ home, env, now, face: "mcp", local: this.local });
  }

  async close(): Promise<void> {
    await this.local.close();
  }

  async upsertRoutine(
    name: string,
    routine: Record<string, unknown>,
  ): Promise<{ routine: RoutineView; created: boolean }> {
    return (await this.client()).upsertRoutine(name, routine, { cwd: this.options.cwd });
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

  async listRoutines(): Promise<RoutineListItem[]> {
    return (await this.client()).listRoutines();
  }

  async showRoutine(name: string, runs: number): Promise<RoutineDetail> {
    return (await this.client()).showRoutine(name, { runs });
  }

  async pauseRoutine(name: string, reason: string | undefined): Promise<RoutineView> {
    return (await this.client()).pauseRoutine(name, reason);
  }

  async resumeRoutine(name: string): Promise<RoutineView> {
    return (await this.client()).resumeRoutine(name);
  }

  async removeRoutine(name: string): Promise<{ name: string; source: string | null }> {
    return (await this.client()).removeRoutine(name);
  }

  /** Queues a run; `daemonUp` says whether something is there to execute it now. */
  async fireRoutine(
    name: string,
    text: string | undefined,
    force = false,
  ): Promise<{ runId: number; daemonUp: boolean }> {
    const options = { ...(text !== undefined ? { input: text } : {}), ...(force ? { force } : {}) };
    const { runId, daemonUp } = await (await this.client()).fireRoutine(name, options);
    return { runId, daemonUp };
  }

  async listRuns(filter: RunFilter): Promise<RunView[]> {
    return (await this.client()).listRuns(filter);
  }

  async showRun(runId: number): Promise<{ run: RunDetail; events: RunEventView[] }> {
    const client = await this.client();
    const run = await client.showRun(runId);
    return { run, events: await client.listRunEvents(runId) };
  }

  async costs(options: { by: CostReportKey; since: string; routine?: string }): Promise<CostsView> {
    return (await this.client()).costs(options);
  }

  async flakyTests(options: { routine?: string }): Promise<FlakyTestView[]> {
    return (await this.client()).flakyTests(options);
  }

  async planReminder(request: ReminderRequest): Promise<PlannedReminder> {
    return (await this.client()).planReminder(request);
  }

  async scheduleReminder(planned: PlannedReminder, request: ReminderRequest): Promise<RoutineView> {
    return (await this.client()).scheduleReminder(planned, request);
  }
}
