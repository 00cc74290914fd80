/** `loopd serve` and `loopd worker`: long-running processes; Ctrl-C / SIGTERM stop them cleanly. */
import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { resolveHome } from "../../app/home.js";
import { storeOptionsFromEnv } from "../../app/open-store.js";
import type { DaemonEvent } from "../../daemon/daemon.js";
import { LoopdError } from "../../domain/errors.js";
import { RotatingLog } from "../../lib/rotating-log.js";
import type { CommandContext } from "../context.js";
import { createDaemonLog, shortPath, stripAnsi, withoutDashboardToken } from "../daemon-log.js";
import { pc } from "../format.js";
import { packageVersion, type Run } from "../program.js";
import { parseCount } from "./routines.js";
import { registerStatusCommand } from "./status.js";

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
  /** worker: serve /metrics on this port (and host, default 127.0.0.1). */
  metricsPort?: number;
  metricsHost?: string;
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
    .description("claim and execute runs from a PostgreSQL store (scale-out; no scheduler, no HTTP API)")
    .option("--metrics-port <port>", "serve Prometheus /metrics on this port (0 picks a free one)", parsePort)
    .option("--metrics-host <host>", "address for --metrics-port (no token: keep it private)", "127.0.0.1");
  withWorkerOptions(worker).action(
    run(async (ctx: CommandContext, flags: Omit<DaemonFlags, "host" | "port">) =>
      runDaemon(ctx, "worker", flags),
    ),
  );

  registerStatusCommand(program, run);
}

async function runDaemon(ctx: CommandContext, mode: "serve" | "worker", flags: DaemonFlags): Promise<void> {
  const store = await ctx.localStore();
  // A copy of what is printed in the data dir, rotated by size: it outlives a closed terminal
  // and the journal's retention (a service's stdout goes to journald or ~/Library/Logs).
  const file = flags.logFile === false ? null : new RotatingLog(join(ctx.home, "logs", `${mode}.log`));
  const log = createDaemonLog({
    json: ctx.json,
    mode,
    now: ctx.io.now,
    write: (text) => {
      ctx.io.stdout(text);
      // The file (and a service's journal) outlives the terminal: it never holds the API token.
      file?.write(withoutDashboardToken(stripAnsi(text)));
    },
  });
  const onEvent = (event: DaemonEvent) => log.event(event);
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
    ...(mode === "worker" && flags.metricsPort !== undefined
      ? { metrics: { host: flags.metricsHost ?? "127.0.0.1", port: flags.metricsPort } }
      : {}),
    onEvent,
  });
  // Hints name --home only when a bare `loopd …` from here would open another home.
  const homeFlag =
    resolveHome(undefined, ctx.io.env).path === ctx.home ? "" : ` --home ${shortPath(ctx.home)}`;
  // Under `npm start` the binary is not on PATH; say how to reach it.
  const loopd = ctx.io.env.npm_lifecycle_event ? "npx loopd" : "loopd";
  const banner =
    `${pc.bold(`loopd ${packageVersion()}`)} ${mode === "serve" ? `serving ${pc.cyan(daemon.url ?? "")}` : "worker"}` +
    pc.dim(` · ${store.dialect} ${store.location} · worker ${daemon.engine.workerId}`);
  if (ctx.json) {
    log.line("info", banner, {
      type: "ready",
      url: daemon.url,
      // A JSON log is shipped and kept: the URL without its token (`loopd open` prints it whole).
      dashboardUrl: daemon.dashboardUrl === null ? null : withoutDashboardToken(daemon.dashboardUrl),
      workerId: daemon.engine.workerId,
      store: store.location,
      version: packageVersion(),
      metricsUrl: daemon.metricsUrl,
    });
  } else {
    log.line("info", banner);
    if (daemon.metricsUrl) log.line("info", `  metrics: ${pc.cyan(daemon.metricsUrl)}`);
    if (mode === "serve") {
      log.line(
        "info",
        `  dashboard: ${pc.cyan(daemon.dashboardUrl ?? "")}${flags.auth === false ? pc.yellow(" (no API token: --no-auth)") : ""}`,
      );
      log.line(
        "info",
        pc.dim(
          `  health: ${daemon.url}/healthz · stop: Ctrl-C · \`${loopd} open${homeFlag}\` opens the dashboard`,
        ),
      );
      log.line(
        "info",
        pc.dim(
          `  next, in another terminal: ${loopd} ls${homeFlag} · ${loopd} runs${homeFlag} · ${loopd} logs <run> -f${homeFlag}`,
        ),
      );
    }
  }
  await waitForSignal();
  log.line("info", pc.dim(`stopping: runs in progress get ${flags.grace}s to finish…`), {
    type: "stopping",
    graceMs: flags.grace * 1000,
  });
  await daemon.stop(flags.grace * 1000);
  log.line("info", pc.dim("stopped"), { type: "stopped" });
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
