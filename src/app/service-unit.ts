/**
 * The text of `loopd service install`'s files, as pure functions of what the unit runs: a
 * systemd user unit (Linux) and a launchd agent (macOS). No I/O here: `service.ts` decides the
 * paths, writes the file and talks to systemctl / launchctl.
 */

export type ServicePlatform = "systemd" | "launchd";

export const SYSTEMD_UNIT_NAME = "loopd.service";
export const LAUNCHD_LABEL = "dev.loopd";

export interface ServiceSpec {
  /** Absolute path of the node binary (the one running this CLI). */
  nodePath: string;
  /** Absolute path of loopd's `bin.js`. */
  binPath: string;
  /** Absolute data dir, passed as `--home` so the service never depends on a working directory. */
  home: string;
  /** Absolute loopd.yaml to apply and watch (`serve -f`), if given. */
  configFile?: string;
  /** Environment the service gets (PATH so agent CLIs are found, LOOPD_* settings). */
  env: Record<string, string>;
  /** launchd only: where stdout and stderr go (`~/Library/Logs/loopd`). */
  logDir?: string;
}

/** The variables copied from the installing shell into the unit when set. */
export const CAPTURED_ENV = [
  "PATH",
  "LOOPD_HOME",
  "LOOPD_DATABASE_URL",
  "LOOPD_HOST",
  "LOOPD_PORT",
  "LOOPD_ALLOWED_HOSTS",
] as const;

export function capturedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const captured: Record<string, string> = {};
  for (const name of CAPTURED_ENV) {
    const value = env[name];
    if (value !== undefined && value !== "") captured[name] = value;
  }
  return captured;
}

/** The command line the service runs: node, bin.js, `serve --home <home> [-f <file>]`. */
export function serviceArgv(spec: ServiceSpec): string[] {
  return [
    spec.nodePath,
    spec.binPath,
    "serve",
    "--home",
    spec.home,
    ...(spec.configFile ? ["-f", spec.configFile] : []),
  ];
}

/**
 * A systemd user unit. `Restart=always` brings it back after any exit (a crash, an OOM kill, a
 * failed store at start); `network-online.target` because PostgreSQL and the model APIs are
 * remote. Output goes to the journal (`journalctl --user -u loopd`). The optional
 * `<home>/service.env` takes secrets (API keys) that should not sit in the unit.
 */
export function systemdUnit(spec: ServiceSpec): string {
  const lines = [
    "# Written by `loopd service install`; `loopd service uninstall` removes it.",
    "[Unit]",
    "Description=loopd: coding agents as durable background workers",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${serviceArgv(spec).map(systemdArg).join(" ")}`,
    // "-": a home removed later is serve's error to report (with a code), not a chdir failure.
    `WorkingDirectory=-${systemdEscape(spec.home)}`,
    ...Object.entries(spec.env).map(([name, value]) => `Environment=${systemdQuote(`${name}=${value}`)}`),
    `EnvironmentFile=-${systemdEscape(`${spec.home}/service.env`)}`,
    "Restart=always",
    "RestartSec=5",
    // serve hands runs back within its grace period on SIGTERM; leave it that long and a bit.
    "TimeoutStopSec=60",
    "KillMode=mixed",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ];
  return lines.join("\n");
}

/** `%` starts a specifier everywhere in a unit file; `$` expands variables in ExecStart. */
function systemdEscape(value: string): string {
  return value.replace(/%/g, "%%");
}

function systemdQuote(value: string): string {
  return `"${systemdEscape(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** One ExecStart word: bare when it is plain, else double-quoted with `$` doubled. */
function systemdArg(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return systemdEscape(value);
  return systemdQuote(value).replace(/\$/g, "$$$$");
}

/**
 * A launchd agent: `RunAtLoad` starts it at login (and at `launchctl bootstrap`), `KeepAlive`
 * restarts it whenever it exits; `ThrottleInterval` spaces restarts like systemd's RestartSec.
 */
export function launchdPlist(spec: ServiceSpec): string {
  const logDir = spec.logDir ?? `${spec.home}/logs`;
  const env = Object.entries(spec.env)
    .map(([name, value]) => `      <key>${xml(name)}</key>\n      <string>${xml(value)}</string>`)
    .join("\n");
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "  <dict>",
    "    <key>Label</key>",
    `    <string>${LAUNCHD_LABEL}</string>`,
    "    <key>ProgramArguments</key>",
    "    <array>",
    ...serviceArgv(spec).map((arg) => `      <string>${xml(arg)}</string>`),
    "    </array>",
    "    <key>WorkingDirectory</key>",
    `    <string>${xml(spec.home)}</string>`,
    "    <key>EnvironmentVariables</key>",
    "    <dict>",
    ...(env ? [env] : []),
    "    </dict>",
    "    <key>RunAtLoad</key>",
    "    <true/>",
    "    <key>KeepAlive</key>",
    "    <true/>",
    "    <key>ThrottleInterval</key>",
    "    <integer>5</integer>",
    "    <key>ExitTimeOut</key>",
    "    <integer>60</integer>",
    "    <key>StandardOutPath</key>",
    `    <string>${xml(`${logDir}/loopd.log`)}</string>`,
    "    <key>StandardErrorPath</key>",
    `    <string>${xml(`${logDir}/loopd.err.log`)}</string>`,
    "  </dict>",
    "</plist>",
    "",
  ].join("\n");
}

function xml(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** `systemctl --user show` output (`Key=value` lines) as a record. */
export function parseSystemctlShow(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return fields;
}

/** `launchctl print gui/<uid>/dev.loopd`: the state, pid and last exit code lines. */
export function parseLaunchctlPrint(text: string): { state?: string; pid?: number; lastExit?: string } {
  const state = /^\s*state = (.+)$/m.exec(text)?.[1]?.trim();
  const pid = /^\s*pid = (\d+)$/m.exec(text)?.[1];
  const lastExit = /^\s*last exit code = (.+)$/m.exec(text)?.[1]?.trim();
  return {
    ...(state ? { state } : {}),
    ...(pid ? { pid: Number(pid) } : {}),
    ...(lastExit ? { lastExit } : {}),
  };
}
