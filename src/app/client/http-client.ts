/**
 * loopd through a running daemon: a small typed client of /api/v1 (lib/http-request.ts) answering
 * with the same views the use-cases return. API error bodies become the LoopdErrors they were
 * on the daemon; a daemon that does not answer is LOOPD_DAEMON_UNREACHABLE. Every request names
 * its face in `X-Loopd-Client`, which also makes it one a web page cannot send
 * (server/request-guard.ts).
 *
 * `apply` and `remind` go to `storeSide` when there is one — the store of the data dir this
 * daemon serves, whose writes wake it: relative paths and the model fallback are then this
 * machine's — and to the API otherwise (a daemon named by LOOPD_URL elsewhere).
 */
import { readFile } from "node:fs/promises";
import type { CostReportKey } from "../../domain/cost-report.js";
import type { DeliveryStatus } from "../../domain/delivery-status.js";
import { ERROR_CODES, type ErrorCode } from "../../domain/error-codes.js";
import { LoopdError } from "../../domain/errors.js";
import { parseSince } from "../../domain/since.js";
import { type HttpAnswer, request } from "../../lib/http-request.js";
import type { ApplyResult } from "../apply-config.js";
import type { CheckView } from "../checks.js";
import type { CostsView } from "../costs.js";
import type { DeliveryView } from "../deliveries.js";
import type { FeedbackClusterView } from "../feedback.js";
import type { FlakyTestView } from "../flaky-tests.js";
import type { MemoryView } from "../memory.js";
import type { PlannedReminder } from "../remind.js";
import type { RoutineDetail, RoutineListItem } from "../routines.js";
import type { RunEventView } from "../run-event-view.js";
import type { RunDetail } from "../runs.js";
import type { StatusView } from "../status.js";
import type { RoutineView, RunView } from "../views.js";
import { aboutRun, sinceError } from "./face-words.js";
import type {
  ApplyRequest,
  ClientFace,
  FiredRun,
  FollowedRun,
  LoopdClient,
  ReminderRequest,
  RunFilter,
} from "./loopd-client.js";
import { sseMessages } from "./sse.js";

const API_BASE = "/api/v1";
/** A request (not a followed stream) that takes longer than this has a daemon that is stuck. */
const REQUEST_TIMEOUT_MS = 30_000;
/** How many recent runs GET /routines/{name} includes. */
const API_RECENT_RUNS = 5;

export class HttpLoopdClient implements LoopdClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token: string | undefined,
    private readonly face: ClientFace = "cli",
    private readonly storeSide?: LoopdClient,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  async listRoutines(): Promise<RoutineListItem[]> {
    return (await this.call<{ routines: RoutineListItem[] }>("GET", "/routines")).routines;
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

  /**
   * `POST /apply` with the file's text. It is checked here first, so a broken file is reported
   * without a round trip; relative paths in it resolve from its folder on the daemon's machine.
   */
  async applyConfig(request: ApplyRequest): Promise<ApplyResult & { location: string }> {
    if (this.storeSide) return this.storeSide.applyConfig(request);
    // Loaded here: the config schema (zod, YAML) is start-up only `apply` needs.
    const { loadConfigFile } = await import("../../config/load-config.js");
    const loaded = await loadConfigFile(request.file);
    return this.call("POST", "/apply", {
      text: await readFile(loaded.path, "utf8"),
      file: loaded.path,
      dir: loaded.dir,
      dryRun: request.dryRun,
      prune: request.prune,
    });
  }

  /** `PUT /routines/{name}`; the daemon resolves a relative repo itself, so `cwd` is not sent. */
  upsertRoutine(
    name: string,
    routine: Record<string, unknown>,
  ): Promise<{ routine: RoutineView; created: boolean }> {
    return this.call<{ routine: RoutineView; created: boolean }>(
      "PUT",
      `/routines/${encodeURIComponent(name)}`,
      routine,
    ).catch(asConfigError);
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

  async fireRoutine(name: string, options: { input?: string; force?: boolean }): Promise<FiredRun> {
    const { runId } = await this.call<{ runId: number }>(
      "POST",
      `/routines/${encodeURIComponent(name)}/run`,
      {
        ...(options.input !== undefined ? { text: options.input } : {}),
        ...(options.force ? { force: true } : {}),
      },
    );
    return { runId, executedBy: "daemon", daemonUp: true, done: Promise.resolve() };
  }

  async listRuns(filter: RunFilter): Promise<RunView[]> {
    const query = new URLSearchParams();
    if (filter.routine !== undefined) query.set("routine", filter.routine);
    if (filter.status !== undefined) query.set("status", filter.status);
    if (filter.limit !== undefined) query.set("limit", String(filter.limit));
    return (await this.call<{ runs: RunView[] }>("GET", `/runs?${query}`)).runs;
  }

  showRun(runId: number): Promise<RunDetail> {
    return aboutRun(this.face, () => this.call("GET", `/runs/${runId}`));
  }

  runDiff(runId: number): Promise<string> {
    return aboutRun(this.face, async () =>
      (
        await this.send("GET", `/runs/${runId}/diff`, undefined, {
          accept: "text/plain",
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        })
      ).text(),
    );
  }

  /** A run's stored events (`GET /runs/{id}/events`); LOOPD_NOT_FOUND for an unknown run. */
  async listRunEvents(runId: number): Promise<RunEventView[]> {
    return aboutRun(
      this.face,
      async () => (await this.call<{ events: RunEventView[] }>("GET", `/runs/${runId}/events`)).events,
    );
  }

  /**
   * `GET /runs/{id}/events?follow=1` (SSE). A stream that closes early is resumed after the
   * last event seen, so nothing is lost or doubled.
   */
  async *followRun(runId: number): AsyncGenerator<FollowedRun> {
    let after = 0;
    for (;;) {
      const response = await aboutRun(this.face, () =>
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

  /** `GET /costs`; the window is checked here first, so its error is worded for this face. */
  costs(options: { by: CostReportKey; since: string; routine?: string }): Promise<CostsView> {
    const window = parseSince(options.since, Date.now());
    if (!window.ok) throw sinceError(this.face, options.since, window.reason);
    const query = new URLSearchParams({ by: options.by, since: options.since });
    if (options.routine !== undefined) query.set("routine", options.routine);
    return this.call("GET", `/costs?${query}`);
  }

  async listChecks(options: { all: boolean }): Promise<CheckView[]> {
    return (await this.call<{ checks: CheckView[] }>("GET", `/checks${options.all ? "?all=1" : ""}`)).checks;
  }

  async flakyTests(options: { routine?: string }): Promise<FlakyTestView[]> {
    const query =
      options.routine !== undefined ? `?${new URLSearchParams({ routine: options.routine })}` : "";
    return (await this.call<{ tests: FlakyTestView[] }>("GET", `/flaky${query}`)).tests;
  }

  async feedbackClusters(options: { routine?: string; all?: boolean }): Promise<FeedbackClusterView[]> {
    const query = new URLSearchParams();
    if (options.routine !== undefined) query.set("routine", options.routine);
    if (options.all) query.set("all", "1");
    const suffix = query.size > 0 ? `?${query}` : "";
    return (await this.call<{ clusters: FeedbackClusterView[] }>("GET", `/feedback${suffix}`)).clusters;
  }

  async listDeliveries(options: { failed?: boolean; limit?: number }): Promise<DeliveryView[]> {
    return (await this.call<{ deliveries: DeliveryView[] }>("GET", `/deliveries?${deliveryQuery(options)}`))
      .deliveries;
  }

  /** Every list carries the counts of all deliveries; the shortest list is asked for. */
  async deliveryCounts(): Promise<Record<DeliveryStatus, number>> {
    return (await this.call<{ counts: Record<DeliveryStatus, number> }>("GET", "/deliveries?limit=1")).counts;
  }

  retryDelivery(idOrPrefix: string): Promise<DeliveryView> {
    return this.call("POST", `/deliveries/${encodeURIComponent(idOrPrefix)}/retry`);
  }

  showMemory(name: string): Promise<MemoryView> {
    return this.call("GET", `/routines/${encodeURIComponent(name)}/memory`);
  }

  setMemory(name: string, content: string): Promise<MemoryView> {
    return this.call("PUT", `/routines/${encodeURIComponent(name)}/memory`, { content });
  }

  forgetMemory(name: string): Promise<{ routine: string; cleared: boolean }> {
    return this.call("DELETE", `/routines/${encodeURIComponent(name)}/memory`);
  }

  /**
   * The daemon's store at hand (same data dir): read here, with this machine's harnesses for
   * the model fallback; else `POST /remind/plan`, read on the daemon with its own.
   */
  planReminder(request: ReminderRequest): Promise<PlannedReminder> {
    if (this.storeSide) return this.storeSide.planReminder(request);
    return this.call("POST", "/remind/plan", remindBody(request));
  }

  /** `POST /remind` (or the store at hand, which wakes the daemon itself). */
  scheduleReminder(planned: PlannedReminder, request: ReminderRequest): Promise<RoutineView> {
    if (this.storeSide) return this.storeSide.scheduleReminder(planned, request);
    const { sentence, timeZone, cwd, now } = request;
    return this.call("POST", "/remind", { sentence, timeZone, cwd, now, planned });
  }

  /** `POST /wake`: the API's own writes wake the daemon already; this is for the store side's. */
  /** `GET /status`: the daemon's own view (its version, its store). */
  status(_options: { version: string }): Promise<StatusView> {
    return this.call("GET", "/status");
  }

  async wake(): Promise<void> {
    await request(`${this.baseUrl}/wake`, {
      method: "POST",
      headers: { "x-loopd-client": this.face },
      signal: AbortSignal.timeout(1000),
    })
      .then((response) => response.text())
      .catch(() => {});
  }

  async close(): Promise<void> {
    await this.storeSide?.close();
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
  ): Promise<HttpAnswer> {
    const url = `${this.baseUrl}${API_BASE}${path}`;
    let response: HttpAnswer;
    try {
      response = await request(url, {
        method,
        headers: {
          accept: options.accept ?? "application/json",
          "x-loopd-client": this.face,
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
    // Node's network errors carry their `code`; an aborted request carries the signal's reason.
    const failure = error as { name?: string; code?: string; cause?: { name?: string; code?: string } };
    const timedOut = failure.name === "TimeoutError" || failure.cause?.name === "TimeoutError";
    const code = failure.cause?.code ?? failure.code;
    const why = timedOut
      ? `did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`
      : `is not answering (${code ?? (error instanceof Error ? error.message : String(error))})`;
    return new LoopdError("LOOPD_DAEMON_UNREACHABLE", `the loopd daemon at ${this.baseUrl} ${why}`, {
      cause: error,
    });
  }

  /** The daemon's `{ error }` body as the LoopdError it threw; anything else is not loopd's API. */
  private async errorOf(response: HttpAnswer): Promise<LoopdError> {
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
    // A newer daemon may answer with a code this client does not know: keep it in the message.
    return error.code in ERROR_CODES
      ? new LoopdError(error.code as ErrorCode, error.message, options)
      : new LoopdError("LOOPD_INTERNAL", `${error.code}: ${error.message}`, options);
  }
}

function deliveryQuery(options: { failed?: boolean; limit?: number }): URLSearchParams {
  const query = new URLSearchParams();
  if (options.failed) query.set("failed", "1");
  if (options.limit !== undefined) query.set("limit", String(options.limit));
  return query;
}

/**
 * The API checks a routine body field by field before the use-case does (LOOPD_API_INVALID);
 * either way the routine did not validate, so the caller sees one code whichever way it went.
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

/** The plan request as the API takes it: the sentence is read at the client's instant. */
function remindBody(request: ReminderRequest): Record<string, unknown> {
  const { sentence, now, timeZone, timeZoneGiven, cwd, to, name, useModel } = request;
  return { sentence, now, timeZone, timeZoneGiven, cwd, to, name, useModel };
}
