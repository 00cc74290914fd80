/** `loopd serve` and `loopd worker`: long-running processes; Ctrl-C / SIGTERM stop them cleanly. */
import { join, relative } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { resolveHome } from "../../app/home.js";
import { storeOptionsFromEnv } from "../../app/open-store.js";
import type { DaemonEvent } from "../../daemon/daemon.js";
import { formatDuration } from "../../domain/duration.js";
import { LoopdError, toLoopdError } from "../../domain/errors.js";
import { runOutcomeWord } from "../../domain/run-outcome.js";
import { RotatingLog } from "../../lib/rotating-log.js";
import type { CommandContext } from "../context.js";
import { outcomeMark, pc } from "../format.js";
import { packageVersion, type Run } from "../program.js";
import { parseCount } from "./routines.js";

interface DaemonFlags {
  lease: number;
  labels: string[];
  host?: string;
  port?: number;
  concurrency: number;
  file?: string;
  grace: number;
  /** serve: false with `--no-auth` (loopback hosts only). */
  auth?: boolean;
  /** serve: extra names requests may use in `Host` (repeatable, comma lists). */
  allowHost?: string[];
  /** false with `--no-log-file`. */
  logFile?: boolean;
}

export function registerDaemonCommands(program: Command, run: Run): void {
  const serve = program
    .command("serve")
    .description("run the scheduler, a worker, the HTTP API and the dashboard (on SQLite: the whole system)")
    .option("-f, --file <path>", "apply this loopd.yaml at start and whenever it changes")
    .option("--host <host>", "address to listen on (env LOOPD_HOST, default 127.0.0.1)")
    .option("--port <port>", "port; 0 picks a free one (env LOOPD_PORT, default 7878)", parsePort)
    .option("--no-auth", "serve the API without its token (refused unless --host is a loopback address)")
    .option(
      "--allow-host <names>",
      "also answer requests for these host names, e.g. a proxy's (comma list; env LOOPD_ALLOWED_HOSTS)",
      collectNames,
    );
  withWorkerOptions(serve).action(
    run(async (ctx: CommandContext, flags: DaemonFlags) => runDaemon(ctx, "serve", flags)),
  );

  const worker = program
    .command("worker")
    .description("claim and execute runs from a PostgreSQL store (scale-out; no scheduler, no HTTP)");
  withWorkerOptions(worker).action(
    run(async (ctx: CommandContext, flags: Omit<DaemonFlags, "host" | "port">) =>
      runDaemon(ctx, "worker", flags),
    ),
  );
}

async function runDaemon(ctx: CommandContext, mode: "serve" | "worker", flags: DaemonFlags): Promise<void> {
  const store = await ctx.localStore();
  // A copy of what is printed in the data dir, rotated by size: it outlives a closed terminal
  // and the journal's retention (a service's stdout goes to journald or ~/Library/Logs).
  const file = flags.logFile === false ? null : new RotatingLog(join(ctx.home, "logs", `${mode}.log`));
  const print = (text: string) => {
    ctx.io.stdout(text);
    file?.write(stripAnsi(text));
  };
  const log = (line: string) => print(`${line}\n`);
  const onEvent = (event: DaemonEvent) => {
    if (ctx.json) print(`${JSON.stringify(jsonEvent(event))}\n`);
    else {
      const line = describeEvent(event);
      if (line) log(`${pc.dim(clockTime(ctx.io.now()))} ${line}`);
    }
  };
  // Loaded on use: the server, API and channels are most of a second of start-up other commands skip.
  const { startDaemon } = await import("../../daemon/daemon.js");
  const daemon = await startDaemon({
    home: ctx.home,
    store,
    storeOptions: storeOptionsFromEnv(ctx.home, ctx.io.env),
    version: packageVersion(),
    mode,
    host: flags.host ?? ctx.io.env.LOOPD_HOST ?? "127.0.0.1",
    port: flags.port ?? (ctx.io.env.LOOPD_PORT ? portFromEnv(ctx.io.env.LOOPD_PORT) : 7878),
    concurrency: flags.concurrency,
    leaseMs: flags.lease * 1000,
    labels: flags.labels,
    ...(mode === "serve"
      ? {
          auth: flags.auth !== false,
          allowedHosts: flags.allowHost ?? collectNames(ctx.io.env.LOOPD_ALLOWED_HOSTS ?? "", []),
        }
      : {}),
    ...(flags.file ? { configFile: flags.file } : {}),
    onEvent,
  });
  // Hints name --home only when a bare `loopd …` from here would open another home.
  const homeFlag =
    resolveHome(undefined, ctx.io.env).path === ctx.home ? "" : ` --home ${shortPath(ctx.home)}`;
  // Under `npm start` the binary is not on PATH; say how to reach it.
  const loopd = ctx.io.env.npm_lifecycle_event ? "npx loopd" : "loopd";
  if (ctx.json) {
    print(
      `${JSON.stringify({ type: "ready", url: daemon.url, dashboardUrl: daemon.dashboardUrl, workerId: daemon.engine.workerId, store: store.location })}\n`,
    );
  } else {
    log(
      `${pc.bold(`loopd ${packageVersion()}`)} ${mode === "serve" ? `serving ${pc.cyan(daemon.url ?? "")}` : "worker"}` +
        pc.dim(` · ${store.dialect} ${store.location} · worker ${daemon.engine.workerId}`),
    );
    if (mode === "serve") {
      log(
        `  dashboard: ${pc.cyan(daemon.dashboardUrl ?? "")}${flags.auth === false ? pc.yellow(" (no API token: --no-auth)") : ""}`,
      );
      log(
        pc.dim(
          `  health: ${daemon.url}/healthz · stop: Ctrl-C · \`${loopd} open${homeFlag}\` opens the dashboard`,
        ),
      );
      log(
        pc.dim(
          `  next, in another terminal: ${loopd} ls${homeFlag} · ${loopd} runs${homeFlag} · ${loopd} logs <run> -f${homeFlag}`,
        ),
      );
    }
  }
  await waitForSignal();
  if (!ctx.json) log(pc.dim(`stopping: runs in progress get ${flags.grace}s to finish…`));
  await daemon.stop(flags.grace * 1000);
  if (!ctx.json) log(pc.dim("stopped"));
}

/** `--allow-host a,b --allow-host c` and LOOPD_ALLOWED_HOSTS="a, b": one list of names. */
function collectNames(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(/[\s,]+/).filter((name) => name.length > 0)];
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      // A second Ctrl-C while stopping means "now".
      process.once("SIGINT", () => process.exit(130));
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

function describeEvent(event: DaemonEvent): string | null {
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
        `store unreachable: ${toLoopdError(event.error).message} — retrying; runs going now keep their leases until they would expire`,
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

function jsonEvent(event: DaemonEvent): Record<string, unknown> {
  switch (event.type) {
    case "run-started":
      return {
        type: event.type,
        runId: event.run.id,
        routine: event.run.routineName,
        attempt: event.run.attempt,
      };
    case "run-finished":
      return {
        type: event.type,
        runId: event.run.id,
        routine: event.run.routineName,
        attempt: event.run.attempt,
        outcome: event.outcome,
        verdict: event.verdict ?? null,
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

function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" || rel.startsWith("..") ? path : rel;
}

function clockTime(epochMs: number): string {
  return new Date(epochMs).toTimeString().slice(0, 8);
}

/** What every process that executes runs is tuned with. */
function withWorkerOptions(command: Command): Command {
  return command
    .option("--concurrency <n>", "runs this process executes at once", parseCount, 4)
    .option(
      "--labels <list>",
      "labels this worker offers (comma-separated) for routines' `requires`",
      parseLabels,
      [],
    )
    .option("--lease <seconds>", "run lease; a worker silent this long is presumed dead", parseCount, 30)
    .option("--grace <seconds>", "on shutdown, how long running runs may finish", parseCount, 10)
    .option(
      "--no-log-file",
      "do not copy the output to <home>/logs/<serve|worker>.log (rotated at 10 MiB, 3 kept)",
    );
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI = /\u001b\[[0-9;]*m/g;

function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

function parseLabels(value: string): string[] {
  return value
    .split(",")
    .map((label) => label.trim())
    .filter(Boolean);
}

function portFromEnv(value: string): number {
  try {
    return parsePort(value);
  } catch {
    throw new LoopdError("LOOPD_USAGE", `LOOPD_PORT="${value}" is not a port`, {
      hint: "Use a number from 0 to 65535.",
    });
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(`"${value}" is not a port`);
  return port;
}
