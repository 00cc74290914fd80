/**
 * `loopd service install | uninstall | status`: the unit file of service-unit.ts written to
 * where the platform's user service manager looks (systemd: $XDG_CONFIG_HOME/systemd/user,
 * launchd: ~/Library/LaunchAgents) and the manager asked to start, stop or describe it.
 * Both roots follow the environment (XDG_CONFIG_HOME, HOME) so tests install into a temp dir.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { LoopdError } from "../domain/errors.js";
import {
  capturedEnv,
  LAUNCHD_LABEL,
  launchdPlist,
  parseLaunchctlPrint,
  parseSystemctlShow,
  type ServicePlatform,
  type ServiceSpec,
  SYSTEMD_UNIT_NAME,
  systemdUnit,
} from "./service-unit.js";

export interface ServiceTarget {
  platform: ServicePlatform;
  /** The unit or plist file. */
  path: string;
  env: NodeJS.ProcessEnv;
}

export function serviceTarget(env: NodeJS.ProcessEnv, platform: string = process.platform): ServiceTarget {
  const home = env.HOME || homedir();
  if (platform === "linux" || platform === "systemd") {
    const config = env.XDG_CONFIG_HOME || join(home, ".config");
    return { platform: "systemd", path: join(config, "systemd", "user", SYSTEMD_UNIT_NAME), env };
  }
  if (platform === "darwin" || platform === "launchd")
    return {
      platform: "launchd",
      path: join(home, "Library", "LaunchAgents", `${LAUNCHD_LABEL}.plist`),
      env,
    };
  throw new LoopdError(
    "LOOPD_SERVICE_UNSUPPORTED",
    `loopd can install a service on Linux (systemd) and macOS (launchd), not on ${platform}`,
  );
}

export interface ServiceFile {
  platform: ServicePlatform;
  path: string;
  content: string;
}

export function serviceFile(
  target: ServiceTarget,
  options: { nodePath: string; binPath: string; home: string; configFile?: string },
): ServiceFile {
  const spec: ServiceSpec = { ...options, env: capturedEnv(target.env) };
  if (target.platform === "systemd") return { ...target, content: systemdUnit(spec) };
  const logDir = join(target.env.HOME || homedir(), "Library", "Logs", "loopd");
  return { platform: target.platform, path: target.path, content: launchdPlist({ ...spec, logDir }) };
}

export interface InstallResult extends Omit<ServiceFile, "content"> {
  /** The manager enabled and (re)started it. */
  started: boolean;
  /** systemd: lingering is off, so the service stops when the user's last session ends. */
  lingerHint?: string;
  /** Where its output goes. */
  logs: string;
}

/**
 * Writes the file, then asks the manager to load it and (re)start the service: a re-install
 * after an upgrade restarts onto the new unit. Without a reachable manager the file stays
 * written and LOOPD_SERVICE_UNAVAILABLE says what to run where there is one.
 */
export async function installService(
  file: ServiceFile,
  env: NodeJS.ProcessEnv,
  home: string,
): Promise<InstallResult> {
  try {
    // launchd's WorkingDirectory must exist when it starts the agent (a fresh install may come first).
    mkdirSync(home, { recursive: true, mode: 0o700 });
    mkdirSync(dirname(file.path), { recursive: true });
    // It may hold LOOPD_DATABASE_URL's password.
    writeFileSync(file.path, file.content, { mode: 0o600 });
  } catch (error) {
    throw new LoopdError("LOOPD_FILE_WRITE_FAILED", `could not write ${file.path}: ${String(error)}`, {
      cause: error,
    });
  }
  const base = { platform: file.platform, path: file.path };
  if (file.platform === "systemd") {
    await requireSystemd(file.path);
    await manager("systemctl", ["--user", "daemon-reload"]);
    await manager("systemctl", ["--user", "enable", SYSTEMD_UNIT_NAME]);
    await manager("systemctl", ["--user", "restart", SYSTEMD_UNIT_NAME]);
    const linger = lingerHint(env);
    return {
      ...base,
      started: true,
      logs: "journalctl --user -u loopd -f",
      ...(linger ? { lingerHint: linger } : {}),
    };
  }
  mkdirSync(join(env.HOME || homedir(), "Library", "Logs", "loopd"), { recursive: true });
  const domain = await requireLaunchd(file.path);
  // bootout first: bootstrap refuses a label that is already loaded (a re-install).
  await manager("launchctl", ["bootout", `${domain}/${LAUNCHD_LABEL}`]).catch(() => {});
  await manager("launchctl", ["bootstrap", domain, file.path]);
  return { ...base, started: true, logs: "~/Library/Logs/loopd/loopd.log" };
}

export interface UninstallResult {
  platform: ServicePlatform;
  path: string;
  /** The file was there and is gone now. */
  removed: boolean;
  /** The manager was reachable and stopped/disabled it. */
  stopped: boolean;
}

/** Stops and disables it where the manager is reachable, then removes the file. Idempotent. */
export async function uninstallService(target: ServiceTarget): Promise<UninstallResult> {
  let stopped = false;
  if (target.platform === "systemd" && (await systemdReachable())) {
    // Not loaded (never enabled here) is fine: the file is removed all the same.
    stopped = await manager("systemctl", ["--user", "disable", "--now", SYSTEMD_UNIT_NAME]).then(
      () => true,
      () => false,
    );
  } else if (target.platform === "launchd" && (await launchdDomain()) !== null) {
    const domain = await launchdDomain();
    stopped = await manager("launchctl", ["bootout", `${domain}/${LAUNCHD_LABEL}`]).then(
      () => true,
      () => false,
    );
  }
  const removed = existsSync(target.path);
  rmSync(target.path, { force: true });
  if (target.platform === "systemd" && removed && (await systemdReachable()))
    await manager("systemctl", ["--user", "daemon-reload"]).catch(() => {});
  return { platform: target.platform, path: target.path, removed, stopped };
}

export interface ServiceStatus {
  platform: ServicePlatform;
  path: string;
  installed: boolean;
  /** null: the service manager could not be asked (no systemd user session, no launchctl). */
  running: boolean | null;
  enabled: boolean | null;
  /** systemd ActiveState/SubState, launchd state. */
  state: string | null;
  /** The main process's last exit status (systemd ExecMainStatus, launchd "last exit code"). */
  lastExit: string | null;
  /** Why running/enabled are unknown. */
  managerUnavailable?: string;
}

export async function serviceStatus(target: ServiceTarget): Promise<ServiceStatus> {
  const base = { platform: target.platform, path: target.path, installed: existsSync(target.path) };
  const unknown = { running: null, enabled: null, state: null, lastExit: null };
  if (target.platform === "systemd") {
    const reason = await systemdUnavailableReason();
    if (reason) return { ...base, ...unknown, managerUnavailable: reason };
    const shown = await manager("systemctl", [
      "--user",
      "show",
      SYSTEMD_UNIT_NAME,
      "-p",
      "ActiveState,SubState,UnitFileState,ExecMainStatus,ExecMainPID",
    ]);
    const fields = parseSystemctlShow(shown);
    return {
      ...base,
      running: fields.ActiveState === "active",
      enabled: fields.UnitFileState === "enabled",
      state: [fields.ActiveState, fields.SubState].filter(Boolean).join("/") || null,
      lastExit: fields.ExecMainStatus ?? null,
    };
  }
  const domain = await launchdDomain();
  if (domain === null) return { ...base, ...unknown, managerUnavailable: "launchctl is not available" };
  const printed = await manager("launchctl", ["print", `${domain}/${LAUNCHD_LABEL}`]).catch(() => null);
  if (printed === null)
    return { ...base, running: false, enabled: false, state: "not loaded", lastExit: null };
  const parsed = parseLaunchctlPrint(printed);
  return {
    ...base,
    running: parsed.state === "running",
    enabled: true,
    state: parsed.state ?? null,
    lastExit: parsed.lastExit ?? null,
  };
}

/** The file as installed, for `status --print`. */
export function installedContent(target: ServiceTarget): string | null {
  return existsSync(target.path) ? readFileSync(target.path, "utf8") : null;
}

function manager(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: "utf8", timeout: 30_000 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const detail = (stderr || error.message).trim().split("\n")[0] ?? "";
      reject(
        new LoopdError("LOOPD_SERVICE_FAILED", `\`${command} ${args.join(" ")}\` failed: ${detail}`, {
          details: { command, args, stderr: stderr.trim() },
          cause: error,
        }),
      );
    });
  });
}

/** Null when `systemctl --user` answers; else why not (container, WSL, no login session). */
async function systemdUnavailableReason(): Promise<string | null> {
  return manager("systemctl", ["--user", "show-environment"]).then(
    () => null,
    (error: LoopdError) => {
      const stderr = (error.details as { stderr?: string } | undefined)?.stderr;
      return `no systemd user session (container/WSL?): ${stderr || error.message}`;
    },
  );
}

async function systemdReachable(): Promise<boolean> {
  return (await systemdUnavailableReason()) === null;
}

async function requireSystemd(path: string): Promise<void> {
  const reason = await systemdUnavailableReason();
  if (reason === null) return;
  throw new LoopdError("LOOPD_SERVICE_UNAVAILABLE", `wrote ${path} but could not enable it: ${reason}`, {
    hint: "In a login session with systemd run `systemctl --user daemon-reload && systemctl --user enable --now loopd` (and `loginctl enable-linger $USER` so it runs without a login session); without systemd, run `loopd serve` under your own supervisor.",
    details: { path, written: true },
  });
}

/** launchd's per-user GUI domain (`gui/<uid>`), or null without launchctl. */
async function launchdDomain(): Promise<string | null> {
  const domain = `gui/${userInfo().uid}`;
  return manager("launchctl", ["print", domain]).then(
    () => domain,
    () => null,
  );
}

async function requireLaunchd(path: string): Promise<string> {
  const domain = await launchdDomain();
  if (domain !== null) return domain;
  throw new LoopdError(
    "LOOPD_SERVICE_UNAVAILABLE",
    `wrote ${path} but launchctl is not available to load it`,
    {
      hint: "Run `launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/dev.loopd.plist` in a macOS login session.",
      details: { path, written: true },
    },
  );
}

/**
 * systemd stops a user's services when their last session ends unless lingering is on
 * (`/var/lib/systemd/linger/<user>` is how logind records it).
 */
function lingerHint(env: NodeJS.ProcessEnv): string | null {
  const user = env.USER || userInfo().username;
  if (existsSync(join("/var/lib/systemd/linger", user))) return null;
  return `run \`loginctl enable-linger ${user}\` so loopd runs without a login session and starts at boot`;
}
