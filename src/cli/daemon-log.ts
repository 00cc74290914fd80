/**
 * What `loopd serve` and `loopd worker` print about their events: a coloured line each for a
 * person (the default), or with --json one pino record per line — `level` (a label), `time`
 * (ISO), `pid`, `hostname`, `mode`, the event's `type` and ids (`runId`, `routineId`,
 * `routine`, `channel`, …) and `msg`, the human line without colour. Both go to stdout and to
 * the rotating log file the caller hands in.
 */
import { hostname } from "node:os";
import { relative } from "node:path";
import { type Logger, pino } from "pino";
import type { DaemonEvent } from "../daemon/daemon.js";
import { formatDuration } from "../domain/duration.js";
import { toLoopdError } from "../domain/errors.js";
import { runOutcomeWord } from "../domain/run-outcome.js";
import { outcomeMark, pc } from "./format.js";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface DaemonLog {
  /** One daemon event: a human line (some events have none) or a JSON record (every event). */
  event(event: DaemonEvent): void;
  /** A line of the process's own (ready, stopping…): `fields` only reach the JSON record. */
  line(level: LogLevel, text: string, fields?: Record<string, unknown>): void;
}

export interface DaemonLogOptions {
  json: boolean;
  mode: "serve" | "worker";
  now: () => number;
  /** Where each finished line goes (stdout and the log file); text ends with a newline. */
  write: (text: string) => void;
}

export function createDaemonLog(options: DaemonLogOptions): DaemonLog {
  if (!options.json) {
    const line = (text: string) => options.write(`${pc.dim(clockTime(options.now()))} ${text}\n`);
    return {
      event(event) {
        const text = describeEvent(event);
        if (text) line(text);
      },
      line: (_level, text) => options.write(`${text}\n`),
    };
  }
  const logger: Logger<never, boolean> = pino(
    {
      // Every event is written as today; `idle` ones are `debug` so a log shipper can drop them.
      level: "debug",
      base: { pid: process.pid, hostname: hostname(), mode: options.mode },
      timestamp: () => `,"time":"${new Date(options.now()).toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous and in-process (no transport thread): a line is out before the next event.
    { write: (text: string) => options.write(text) },
  );
  const line = (level: LogLevel, text: string, fields: Record<string, unknown> = {}) =>
    logger[level](fields, stripAnsi(text));
  return {
    event(event) {
      line(eventLevel(event), describeEvent(event) ?? quietLine(event), jsonEvent(event));
    },
    line,
  };
}

/** How much an event matters to whoever watches the log. */
export function eventLevel(event: DaemonEvent): LogLevel {
  switch (event.type) {
    case "idle":
    case "deliveries-idle":
    case "materialised":
      return event.type === "materialised" && event.skipped > 0 ? "warn" : "debug";
    case "run-finished":
      if (event.returned || !event.accepted || event.retryAt) return "warn";
      return event.outcome === "succeeded" ? "info" : "warn";
    case "recovered":
    case "woke-late":
    case "retry":
      return "warn";
    case "store-down":
    case "routine-paused":
    case "misfired":
    case "dead":
    case "apply-failed":
    case "error":
      return "error";
    default:
      return "info";
  }
}

/** The words for the events a person's log leaves out. */
function quietLine(event: DaemonEvent): string {
  switch (event.type) {
    case "idle":
      return `idle for ${formatDuration(event.inMs)}`;
    case "deliveries-idle":
      return event.inMs === null
        ? "deliveries idle until woken (the engine's wake-up read plans them)"
        : `deliveries idle for ${formatDuration(event.inMs)}`;
    case "materialised":
      return `scheduled ${event.queued} run(s)`;
    default:
      return event.type;
  }
}

export function describeEvent(event: DaemonEvent): string | null {
  switch (event.type) {
    case "run-started":
      return `${pc.cyan("▶")} ${event.run.routineName} #${event.run.id} started${event.run.attempt > 1 ? ` (attempt ${event.run.attempt})` : ""}`;
    case "run-finished": {
      if (event.returned)
        return pc.yellow(`↩ ${event.run.routineName} #${event.run.id} returned to the queue (shutdown)`);
      const outcome = { status: event.outcome, verdict: event.verdict ?? null };
      const retry = event.retryAt
        ? pc.yellow(` · retry in ${formatDuration(event.retryAt - Date.now())}`)
        : "";
      const stale = event.accepted ? "" : pc.yellow(" · not recorded (no longer this worker's)");
      return `${outcomeMark(outcome)} ${event.run.routineName} #${event.run.id} ${runOutcomeWord(outcome)} in ${formatDuration(event.durationMs)}${retry}${stale}`;
    }
    case "materialised":
      return event.skipped > 0 ? pc.yellow(`catch-up: ${event.skipped} missed occurrence(s) skipped`) : null;
    case "recovered":
      return pc.yellow(
        `recovered runs from a dead worker: ${[...event.requeued.map((id) => `#${id} re-queued`), ...event.failed.map((id) => `#${id} failed`)].join(", ")}`,
      );
    case "woke-late":
      return pc.yellow(`woke ${formatDuration(event.lateByMs)} late (sleep or clock change): catching up`);
    case "idle":
    case "deliveries-idle":
      return null;
    case "store-down":
      return pc.red(
        `store unavailable: ${toLoopdError(event.error).message} — retrying; runs going now keep their leases until they would expire`,
      );
    case "store-up":
      return pc.green(`store reachable again after ${formatDuration(event.downForMs)}`);
    case "routine-paused":
      return event.reason === "auth"
        ? pc.red(
            `‖ ${event.routine} paused itself: ${event.error?.code ?? "auth"} on consecutive runs — fix the login, then \`loopd resume ${event.routine}\``,
          )
        : pc.red(
            `‖ ${event.routine} paused itself after failed runs in a row${event.error ? ` (last: ${event.error.code})` : ""} — \`loopd show ${event.routine}\`, fix it, then \`loopd resume ${event.routine}\``,
          );
    case "misfired":
      return pc.red(
        `⚠ misfire: ${event.routines.map((misfire) => `${misfire.routine} (due ${new Date(misfire.dueAt).toISOString()})`).join(", ")} — nothing scheduled it; is a \`loopd serve\` running on this store?`,
      );
    case "applied": {
      const changed = event.result.changes.filter((change) => change.action !== "unchanged");
      if (changed.length === 0 && event.result.settings.length === 0)
        return pc.dim(`${shortPath(event.result.file)}: no changes`);
      const signs = {
        create: "+",
        update: "~",
        resume: "~",
        pause: "‖",
        remove: "-",
        unchanged: "=",
      } as const;
      const settings =
        event.result.settings.length > 0 ? [`settings (${event.result.settings.join(", ")})`] : [];
      return `applied ${shortPath(event.result.file)}: ${[...changed.map((change) => `${signs[change.action]}${change.name}`), ...settings].join(" ")}`;
    }
    case "settings-reloaded":
      return pc.dim(
        `${event.sections.join(", ")} reloaded from the applied settings: the next run uses them`,
      );
    case "delivered":
      return pc.dim(
        `→ ${event.channel}: delivered ${event.id}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ""}`,
      );
    case "notification":
      // The `log` channel: the notification itself, where the user is looking.
      return `${event.line} ${pc.dim(`(→ ${event.channel})`)}`;
    case "retry":
      return pc.yellow(
        `→ ${event.channel}: ${event.id} failed (${event.error}); retrying in ${formatDuration(event.at - Date.now())}`,
      );
    case "dead":
      return pc.red(
        `→ ${event.channel}: gave up on ${event.id}: ${event.error} — \`loopd deliveries retry ${event.id}\``,
      );
    case "apply-failed": {
      const error = toLoopdError(event.error);
      return `${pc.red(`error[${error.code}]`)}: ${error.message} ${pc.dim("(still running the last good config)")}`;
    }
    case "runs-pruned":
      return pc.dim(
        `retention: ${event.runs} finished run(s) deleted with their events · ${event.deliveries} finished notification(s) · ${event.reservations} settled budget reservation(s) · ${event.testResults} test result(s) · ${event.inbound} inbound delivery id(s)`,
      );
    case "pruned": {
      const { removed, deletedBranches, keptBranches } = event.result;
      return pc.dim(
        `pruned: ${removed.length} kept worktree(s) removed · ${deletedBranches.length} run branch(es) without commits deleted · ${keptBranches.length} with commits kept`,
      );
    }
    case "error": {
      const error = toLoopdError(event.error);
      return `${pc.red(`error[${error.code}]`)}: ${error.message}`;
    }
  }
}

/** The ids every run record carries, flat, so a log query can filter on them. */
function runIds(run: { id: number; routineId: number; routineName: string; attempt: number }) {
  return { runId: run.id, routineId: run.routineId, routine: run.routineName, attempt: run.attempt };
}

/** The event's fields for its JSON record: ids flat, errors as coded objects, times ISO. */
export function jsonEvent(event: DaemonEvent): Record<string, unknown> {
  switch (event.type) {
    case "run-started":
      return { type: event.type, ...runIds(event.run), workerId: event.run.workerId };
    case "run-finished":
      return {
        type: event.type,
        ...runIds(event.run),
        outcome: event.outcome,
        verdict: event.verdict ?? null,
        // false: the lease was lost (another worker recovered the run); the outcome is not recorded.
        accepted: event.accepted,
        returned: event.returned ?? false,
        durationMs: event.durationMs,
        retryAt: event.retryAt ? new Date(event.retryAt).toISOString() : null,
      };
    case "apply-failed":
    case "store-down":
    case "error":
      return { type: event.type, error: toLoopdError(event.error).toJSON() };
    default:
      return event;
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI = /\u001b\[[0-9;]*m/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

export function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" || rel.startsWith("..") ? path : rel;
}

function clockTime(epochMs: number): string {
  return new Date(epochMs).toTimeString().slice(0, 8);
}

/**
 * `text` with a dashboard link's token fragment (`#token=…`) cut off, for what is written down
 * (the log file, JSON records): the token is the API's key, and `loopd open` prints the link whole.
 */
export function withoutDashboardToken(text: string): string {
  return text.replace(/#token=[^\s"]+/g, "");
}
