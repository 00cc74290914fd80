#!/usr/bin/env node
/**
 * A fake `systemctl --user`: CI containers have no systemd user session, so `loopd service
 * install` could never be seen enabling and starting its unit. This speaks the calls loopd makes
 * (daemon-reload, enable [--now], disable [--now], start, restart, stop, show -p, show-environment)
 * against the real unit file in $XDG_CONFIG_HOME/systemd/user, and really runs its ExecStart with
 * its Environment=, EnvironmentFile=- and WorkingDirectory=-. A detached supervisor stands in for
 * the manager as the service's parent: it reaps it and records its exit (ExecMainStatus), so a
 * dead service is gone, not a zombie (a container's PID 1 may not reap orphans). No Restart= (a "reboot" is the test's `start`).
 * State and a log of calls (calls.log, one JSON argv a line) go to $FAKE_SYSTEMD_STATE.
 */
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";

const stateDir = process.env.FAKE_SYSTEMD_STATE;
const read = (name, fallback) => {
  const file = join(stateDir, name);
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : fallback;
};
/**
 * Written whole, then renamed into place: the supervisor and a concurrent systemctl call read
 * these files, and a reader must never see one half written (an empty main.json during a
 * restart failed a clean-clone run with "Unexpected end of JSON input").
 */
const write = (name, value) => {
  const partial = join(stateDir, `${name}.${process.pid}.tmp`);
  writeFileSync(partial, JSON.stringify(value));
  renameSync(partial, join(stateDir, name));
};

if (process.argv[2] === "--supervise") {
  // The manager's side: the service in its own process group (its "cgroup"), reaped on exit.
  const { argv, cwd, env } = JSON.parse(process.argv[3]);
  const child = spawn(argv[0], argv.slice(1), { cwd, env, detached: true, stdio: "inherit" });
  write("main.json", { pid: child.pid, status: null });
  child.on("exit", (code, signal) => {
    const status = code ?? constants.signals[signal];
    // systemd counts an exit on SIGTERM (its stop signal), SIGINT, SIGHUP or SIGPIPE as clean.
    const failed = signal ? !["SIGTERM", "SIGINT", "SIGHUP", "SIGPIPE"].includes(signal) : code !== 0;
    if (read("main.json", {}).pid === child.pid) write("main.json", { pid: child.pid, status, failed });
  });
} else {
  process.exitCode = await systemctl(process.argv.slice(2)).catch((error) => fail(error.message));
}

async function systemctl(args) {
  appendFileSync(join(stateDir, "calls.log"), `${JSON.stringify(args)}\n`);
  const [scope, verb, ...rest] = args;
  const now = rest.includes("--now");
  const names = rest.filter((arg) => !arg.startsWith("-"));
  if (scope !== "--user") return fail("this fake only knows the user manager (--user)");
  const unitFile = join(process.env.XDG_CONFIG_HOME, "systemd", "user", "loopd.service");
  if (names.length > 0 && names[0] !== "loopd.service") return fail(`Unit ${names[0]} not found.`);
  const state = read("state.json", { enabled: false });
  const main = read("main.json", { pid: 0, status: null });
  const running = main.pid > 0 && main.status === null && alive(main.pid);
  const missing = !existsSync(unitFile);
  switch (verb) {
    case "daemon-reload":
      return 0;
    case "show-environment":
      process.stdout.write(`HOME=${process.env.HOME}\nPATH=/usr/local/bin:/usr/bin:/bin\n`);
      return 0;
    case "enable":
      if (missing) return fail("Failed to enable unit: Unit file loopd.service does not exist.");
      write("state.json", { ...state, enabled: true });
      return now && !running ? start(unitFile) : 0;
    case "disable":
      write("state.json", { ...state, enabled: false });
      return now && running ? stop(main.pid) : 0;
    case "start":
    case "restart":
      if (missing) return fail(`Failed to ${verb} loopd.service: Unit loopd.service not found.`, 5);
      if (running && verb === "start") return 0;
      if (running) await stop(main.pid);
      return start(unitFile);
    case "stop":
      return running ? stop(main.pid) : 0;
    case "show": {
      const fields = {
        ActiveState: running ? "active" : main.failed ? "failed" : "inactive",
        SubState: running ? "running" : main.failed ? "failed" : "dead",
        UnitFileState: !missing ? (state.enabled ? "enabled" : "disabled") : "",
        ExecMainStatus: String(main.status ?? 0),
        ExecMainPID: String(running ? main.pid : 0),
      };
      const wanted = rest.includes("-p") ? rest[rest.indexOf("-p") + 1].split(",") : Object.keys(fields);
      for (const key of wanted) if (key in fields) process.stdout.write(`${key}=${fields[key]}\n`);
      return 0;
    }
    default:
      return fail(`Unknown command verb '${verb}'.`);
  }
}

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  return code;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Unit-file words as systemd reads them: double quotes with C escapes; specifiers (`%%` is a
 * `%`, `%h` the home, others refused); in ExecStart (`vars` given) `$$` is a `$` and `$NAME` or
 * `${NAME}` the service's variable. So a `%` or `$` the writer forgot to escape changes the word.
 */
function words(value, vars) {
  const out = [];
  for (const [, quoted, bare] of value.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const word = quoted === undefined ? bare : quoted.replace(/\\(.)/g, "$1");
    out.push(word.replace(/%(.)/g, (_, spec) => specifier(spec)));
  }
  if (!vars) return out;
  return out.map((word) =>
    word.replace(/\$\$|\$\{(\w+)\}|\$(\w+)/g, (match, a, b) => (match === "$$" ? "$" : (vars[a ?? b] ?? ""))),
  );
}

function specifier(spec) {
  if (spec === "%") return "%";
  if (spec === "h") return process.env.HOME;
  throw new Error(`Failed to resolve specifier %${spec} in loopd.service`);
}

function start(unitFile) {
  const unit = {};
  for (const line of readFileSync(unitFile, "utf8").split("\n")) {
    const [, key, value] = /^(\w+)=(.*)$/.exec(line) ?? [];
    if (key) unit[key] = [...(unit[key] ?? []), value];
  }
  // The user manager's own environment, then the unit's.
  const env = { HOME: process.env.HOME, PATH: "/usr/local/bin:/usr/bin:/bin" };
  for (const value of unit.Environment ?? []) for (const pair of words(value, null)) assign(env, pair);
  const envFile = optional(unit.EnvironmentFile?.[0]);
  if (envFile && existsSync(envFile))
    for (const line of readFileSync(envFile, "utf8").split("\n"))
      if (!line.startsWith("#")) assign(env, line.trim().replace(/^(\w+)="(.*)"$/, "$1=$2"));
  const cwd = optional(unit.WorkingDirectory?.[0]);
  const service = { argv: words(unit.ExecStart[0], env), cwd: cwd && existsSync(cwd) ? cwd : env.HOME, env };
  const journal = openSync(join(stateDir, "journal"), "a");
  write("main.json", { pid: 0, status: null });
  const supervisor = spawn(process.execPath, [process.argv[1], "--supervise", JSON.stringify(service)], {
    detached: true,
    stdio: ["ignore", journal, journal],
  });
  supervisor.unref();
  return waitFor(() => read("main.json", {}).pid > 0, 0);
}

/** `WorkingDirectory=-…`, `EnvironmentFile=-…`: "-" makes it optional. */
function optional(path) {
  return path?.replace(/^-/, "").replace(/%(.)/g, (_, spec) => specifier(spec));
}

async function stop(pid) {
  // KillMode=mixed: SIGTERM to the main process, then SIGKILL to what is left of its group.
  process.kill(pid, "SIGTERM");
  await waitFor(() => !alive(pid), 0);
  try {
    process.kill(-pid, "SIGKILL");
  } catch {}
  return 0;
}

function assign(env, pair) {
  const at = pair.indexOf("=");
  if (at > 0) env[pair.slice(0, at)] = pair.slice(at + 1);
}

async function waitFor(condition, result, timeoutMs = 60_000) {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) return fail("Job for loopd.service timed out.");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return result;
}
