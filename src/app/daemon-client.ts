/**
 * The CLI's way to a running daemon: a small typed client of /api/v1 (global fetch) that
 * answers with the same views the use-cases return, so a command renders them with one
 * renderer whichever way they came. API error bodies become the LoopdErrors they were on the
 * daemon; a daemon that does not answer is LOOPD_DAEMON_UNREACHABLE.
 *
 * Which endpoint (`connectDaemon`): LOOPD_URL (token LOOPD_TOKEN, else <home>/api-token)
 * always; else the daemon serving this data dir (daemon.json) with the home's token; else none,
 * and the CLI opens the store itself. Every request names its client in `X-Loopd-Client`,
 * which also makes it one a web page cannot send (server/request-guard.ts).
 */
import { ERROR_CODES, type ErrorCode } from "../domain/error-codes.js";
import { LoopdError } from "../domain/errors.js";
import { liveDaemon } from "../engine/wake.js";
import type { CostReportKey } from "../store/ledger.js";
import type { RunStatus } from "../store/schema.js";
import { readApiToken } from "./api-token.js";
import type { CheckView } from "./checks.js";
import type { CostsView } from "./costs.js";
import type { RoutineDetail } from "./routines.js";
import type { RunEventView } from "./run-event-view.js";
import type { RunDetail } from "./runs.js";
import type { RoutineView, RunView } from "./views.js";

const API_BASE = "/api/v1";
/** A request (not a followed stream) that takes longer than this has a daemon that is stuck. */
const REQUEST_TIMEOUT_MS = 30_000;
/** How many recent runs GET /routines/{name} includes. */
const API_RECENT_RUNS = 5;

export type FollowedRun = { kind: "event"; event: RunEventView } | { kind: "end"; run: RunView };

export async function connectDaemon(
  home: string,
  env: NodeJS.ProcessEnv,
  client: DaemonClientName = "cli",
): Promise<DaemonClient | null> {
  const url = env.LOOPD_URL?.trim();
  if (url) return new DaemonClient(url, env.LOOPD_TOKEN?.trim() || (await readApiToken(home)), client);
  const daemon = liveDaemon(home);
  if (daemon && daemon.pid !== process.pid) {
    return new DaemonClient(daemon.url, await readApiToken(home), client);
  }
  return null;
}

/** Sent as `X-Loopd-Client`. */
export type DaemonClientName = "cli" | "mcp";

/** Where each face tells a user (or an agent) to find run ids. */
const RUN_IDS_HINT: Record<DaemonClientName, string> = {
  cli: "Run `loopd runs` to see run ids.",
  mcp: "Call list_runs to see run ids.",
};

export class DaemonClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token: string | undefined,
    private readonly client: DaemonClientName = "cli",
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  async listRoutines(): Promise<RoutineView[]> {
    const { routines } = await this.call<{ routines: Array<RoutineView & { costTodayUsd?: number }> }>(
      "GET",
      "/routines",
    );
    return routines.map(({ costTodayUsd: _, ...view }) => view);
  }

  async showRoutine(name: string, options: { runs: number }): Promise<RoutineDetail> {
    const {
      memory: _memory,
      checks: _checks,
      ...detail
    } = await this.call<RoutineDetail & { memory?: unknown; checks?: unknown }>(
      "GET",
      `/routines/${encodeURIComponent(name)}`,
    );
    const recentRuns =
      options.runs <= API_RECENT_RUNS
        ? detail.recentRuns.slice(0, options.runs)
        : await this.listRuns({ routine: name, limit: options.runs });
    return { ...detail, recentRuns };
  }

  pauseRoutine(name: string, reason: string | undefined): Promise<RoutineView> {
    return this.call("POST", `/routines/${encodeURIComponent(name)}/pause`, reason ? { reason } : {});
  }

  resumeRoutine(name: string): Promise<RoutineView> {
    return this.call("POST", `/routines/${encodeURIComponent(name)}/resume`);
  }

  /** DELETE answers 204 without a body; the routine's source is read first for the CLI's hint. */
  async removeRoutine(name: string): Promise<{ name: string; source: string | null }> {
    const path = `/routines/${encodeURIComponent(name)}`;
    const routine = await this.call<RoutineView>("GET", path);
    await this.call("DELETE", path);
    return { name: routine.name, source: routine.source };
  }

  fireRoutine(
    name: string,
    options: { input?: string; force?: boolean },
  ): Promise<{ runId: number; url: string | null }> {
    return this.call("POST", `/routines/${encodeURIComponent(name)}/run`, {
      ...(options.input !== undefined ? { text: options.input } : {}),
      ...(options.force ? { force: true } : {}),
    });
  }

  /** `PUT /routines/{name}`: create or replace a routine given in loopd.yaml's shape. */
  upsertRoutine(
    name: string,
    routine: Record<string, unknown>,
  ): Promise<{ routine: RoutineView; created: boolean }> {
    return this.call("PUT", `/routines/${encodeURIComponent(name)}`, routine);
  }

  /** `GET /costs`: the ledger grouped by `by` since `since` (a duration back from now, e.g. "7d"). */
  costs(options: { by: CostReportKey; since: string; routine?: string }): Promise<CostsView> {
    const query = new URLSearchParams({ by: options.by, since: options.since });
    if (options.routine !== undefined) query.set("routine", options.routine);
    return this.call("GET", `/costs?${query}`);
  }

  async listRuns(options: { routine?: string; status?: RunStatus; limit?: number }): Promise<RunView[]> {
    const query = new URLSearchParams();
    if (options.routine !== undefined) query.set("routine", options.routine);
    if (options.status !== undefined) query.set("status", options.status);
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    return (await this.call<{ runs: RunView[] }>("GET", `/runs?${query}`)).runs;
  }

  showRun(runId: number): Promise<RunDetail> {
    return this.aboutRun(() => this.call("GET", `/runs/${runId}`));
  }

  async listChecks(options: { all: boolean }): Promise<CheckView[]> {
    return (await this.call<{ checks: CheckView[] }>("GET", `/checks${options.all ? "?all=1" : ""}`)).checks;
  }

  /** A run's stored events (`GET /runs/{id}/events`); LOOPD_NOT_FOUND for an unknown run. */
  async listRunEvents(runId: number): Promise<RunEventView[]> {
    return this.aboutRun(
      async () => (await this.call<{ events: RunEventView[] }>("GET", `/runs/${runId}/events`)).events,
    );
  }

  /**
   * A run's log as it grows, then its final view (`GET /runs/{id}/events?follow=1`, SSE). A
   * stream that closes early is resumed after the last event seen, so nothing is lost or doubled.
   */
  async *followRun(runId: number): AsyncGenerator<FollowedRun> {
    let after = 0;
    for (;;) {
      const response = await this.aboutRun(() =>
        this.send("GET", `/runs/${runId}/events?follow=1&after=${after}`, undefined, {
          accept: "text/event-stream",
        }),
      );
      try {
        for await (const message of sseMessages(response)) {
          if (message.event === "end") {
            yield { kind: "end", run: JSON.parse(message.data) as RunView };
            return;
          }
          if (message.event === "message") {
            const event = JSON.parse(message.data) as RunEventView;
            after = event.id;
            yield { kind: "event", event };
          }
        }
      } catch {
        // The connection broke mid-stream: the request below tells a gone daemon from a blip.
      }
      await this.showRun(runId); // LOOPD_NOT_FOUND when the run went away with its routine
    }
  }

  /**
   * A run the daemon does not have: the API's hint speaks HTTP ("GET /api/v1/runs …"); the
   * face printing it gives its own way to find run ids.
   */
  private async aboutRun<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof LoopdError) || error.code !== "LOOPD_NOT_FOUND") throw error;
      throw new LoopdError(error.code, error.message, {
        hint: RUN_IDS_HINT[this.client],
        ...(error.details !== undefined ? { details: error.details } : {}),
      });
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    options: { accept?: string; signal?: AbortSignal },
  ): Promise<Response> {
    const url = `${this.baseUrl}${API_BASE}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: options.accept ?? "application/json",
          "x-loopd-client": this.client,
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw this.unreachable(error);
    }
    if (response.ok) return response;
    throw await this.errorOf(response);
  }

  private unreachable(error: unknown): LoopdError {
    const cause = (error as { cause?: { code?: string } }).cause;
    const why =
      error instanceof Error && error.name === "TimeoutError"
        ? `did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`
        : `is not answering (${cause?.code ?? (error instanceof Error ? error.message : String(error))})`;
    return new LoopdError("LOOPD_DAEMON_UNREACHABLE", `the loopd daemon at ${this.baseUrl} ${why}`, {
      cause: error,
    });
  }

  /** The daemon's `{ error }` body as the LoopdError it threw; anything else is not loopd's API. */
  private async errorOf(response: Response): Promise<LoopdError> {
    const text = await response.text().catch(() => "");
    let error: { code?: string; message?: string; hint?: string; details?: unknown } | undefined;
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error;
    } catch {
      error = undefined;
    }
    if (typeof error?.code !== "string" || typeof error.message !== "string") {
      return new LoopdError(
        "LOOPD_DAEMON_UNREACHABLE",
        `${this.baseUrl} answered HTTP ${response.status}, not with loopd's API`,
        { hint: "Point LOOPD_URL at the address `loopd serve` prints (without /api/v1)." },
      );
    }
    const options = {
      ...(error.hint !== undefined ? { hint: error.hint } : {}),
      ...(error.details !== undefined ? { details: error.details } : {}),
    };
    // A newer daemon may answer with a code this CLI does not know: keep it in the message.
    return error.code in ERROR_CODES
      ? new LoopdError(error.code as ErrorCode, error.message, options)
      : new LoopdError("LOOPD_INTERNAL", `${error.code}: ${error.message}`, options);
  }
}

/** Server-Sent Events of a response body: `event` (default "message") and joined `data` lines. */
async function* sseMessages(response: Response): AsyncGenerator<{ event: string; data: string }> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.search(/\r?\n/);
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(buffer[newline] === "\r" ? newline + 2 : newline + 1);
      if (line === "") {
        if (data.length > 0) yield { event, data: data.join("\n") };
        event = "message";
        data = [];
      } else if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      newline = buffer.search(/\r?\n/);
    }
  }
}
