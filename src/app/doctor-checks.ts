/**
 * `loopd doctor`'s checks of what a user can get wrong around the harnesses: the data dir's
 * and the API token's permissions, the store (reachable, its schema, the daemon's version),
 * the service, the clock against PostgreSQL, notify channels' endpoints, and the disk the
 * worktrees go on. Each check is ok, warn or fail, with a stable code, a one-line message and
 * a hint (the command that fixes it where there is one). doctor-channels.ts probes channels.
 */
import { statSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { join } from "node:path";
import { sql } from "kysely";
import { formatDuration } from "../domain/duration.js";
import { ERROR_CODES, type ErrorCode } from "../domain/error-codes.js";
import { toLoopdError } from "../domain/errors.js";
import type { ConfigSettings } from "../domain/settings.js";
import { liveDaemon } from "../engine/wake.js";
import { schemaVersion } from "../store/migrate.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import { API_TOKEN_FILE } from "./api-token.js";
import type { DoctorReport } from "./doctor.js";
import { channelChecks } from "./doctor-channels.js";
import { serviceStatus, serviceTarget } from "./service.js";

export type CheckStatus = "ok" | "warn" | "fail";

export interface DoctorCheck {
  /** Stable: scripts match on it (home.permissions, store.reachable, notify.reachable, …). */
  code: string;
  status: CheckStatus;
  /** What it is about when a code repeats: a channel's or a harness's name. */
  subject?: string;
  message: string;
  hint: string | null;
  /** The error a failed check amounts to (its exit code); null when ok or warn. */
  error: ErrorCode | null;
}

function check(
  code: string,
  status: CheckStatus,
  message: string,
  hint: string | null = null,
  error: ErrorCode | null = null,
): DoctorCheck {
  return { code, status, message, hint, error: status === "fail" ? error : null };
}

/** Group or other bits set on `mode`, as octal, or null when only the owner has access. */
function openBits(mode: number): string | null {
  const loose = mode & 0o077;
  return loose === 0 ? null : (mode & 0o777).toString(8).padStart(4, "0");
}

/** The data dir is 0700 (runs' logs, memory, the store); the API token 0600 (it is the API). */
export function permissionChecks(home: string): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  let homeMode: number;
  try {
    homeMode = statSync(home).mode;
  } catch {
    return [
      check(
        "home.permissions",
        "warn",
        `${home} does not exist yet`,
        "`loopd serve` (or any command that writes) creates it with mode 0700.",
      ),
    ];
  }
  const homeOpen = openBits(homeMode);
  checks.push(
    homeOpen
      ? check(
          "home.permissions",
          "warn",
          `${home} is ${homeOpen}: other users may read runs' logs and memory`,
          `chmod 700 ${home}`,
        )
      : check("home.permissions", "ok", `${home} is 0700`),
  );
  const token = join(home, API_TOKEN_FILE);
  let tokenMode: number | null = null;
  try {
    tokenMode = statSync(token).mode;
  } catch {
    // No token yet: the first `loopd serve` writes it 0600.
  }
  if (tokenMode === null) checks.push(check("token.permissions", "ok", "no API token yet (serve makes it)"));
  else {
    const tokenOpen = openBits(tokenMode);
    checks.push(
      tokenOpen
        ? check(
            "token.permissions",
            "fail",
            `${token} is ${tokenOpen}: other users can read the API token`,
            `chmod 600 ${token}`,
            "LOOPD_HOME_UNUSABLE",
          )
        : check("token.permissions", "ok", `${token} is 0600`),
    );
  }
  return checks;
}

/** The store could not be opened: why, with the error's own hint. */
export function storeUnreachable(error: unknown): DoctorCheck {
  const coded = toLoopdError(error);
  return check("store.reachable", "fail", coded.message, coded.hint, coded.code);
}

/**
 * The store answers (one round trip), its schema is this loopd's, and the daemon serving this
 * data dir runs this version (one started before an upgrade still runs the old code).
 */
export async function storeChecks(store: Store, home: string, version: string): Promise<DoctorCheck[]> {
  const started = performance.now();
  const schema = await schemaVersion(store.db);
  const latencyMs = Math.round(performance.now() - started);
  const checks = [
    check("store.reachable", "ok", `${store.dialect} ${store.location} answered in ${latencyMs} ms`),
    schema.current === schema.latest
      ? check("store.schema", "ok", `schema version ${schema.current} (this loopd's latest)`)
      : schema.current !== null && schema.current > schema.latest
        ? check(
            "store.schema",
            "fail",
            `the store is at schema ${schema.current}; this loopd knows up to ${schema.latest}`,
            "Upgrade this loopd to the version that migrated the store.",
            "LOOPD_STORE_TOO_NEW",
          )
        : check(
            "store.schema",
            "warn",
            `${schema.latest - (schema.current ?? 0)} migration(s) pending (schema ${schema.current ?? "none"} of ${schema.latest})`,
            "Restart `loopd serve` (or run any loopd command): migrations apply when the store is opened.",
          ),
  ];
  const daemon = liveDaemon(home);
  if (daemon && daemon.version !== version)
    checks.push(
      check(
        "daemon.version",
        "warn",
        `loopd serve (pid ${daemon.pid}) runs ${daemon.version}; this is ${version}`,
        "Restart it to run this version: `systemctl --user restart loopd` (launchd: `launchctl kickstart -k gui/$(id -u)/dev.loopd`) for the service, else stop it and start `loopd serve` again.",
      ),
    );
  return checks;
}

/** Installed and running as a service, or at least a `loopd serve` up for this home. */
export async function serviceCheck(env: NodeJS.ProcessEnv, home: string): Promise<DoctorCheck> {
  let target: ReturnType<typeof serviceTarget>;
  try {
    target = serviceTarget(env);
  } catch (error) {
    return check("service", "ok", `${toLoopdError(error).message} (not checked)`);
  }
  const status = await serviceStatus(target);
  const serving = liveDaemon(home);
  if (!status.installed) {
    return serving
      ? check(
          "service",
          "ok",
          `not installed as a service; loopd serve (pid ${serving.pid}) is up`,
          "`loopd service install` keeps it running across logouts and reboots.",
        )
      : check(
          "service",
          "warn",
          "no service installed and no loopd serve running: nothing schedules routines",
          "`loopd service install` (or run `loopd serve`).",
        );
  }
  if (status.running === false && !serving)
    return check(
      "service",
      "fail",
      `the service (${status.path}) is installed but not running${status.lastExit ? ` (last exit ${status.lastExit})` : ""}`,
      target.platform === "systemd"
        ? "`systemctl --user start loopd`; `journalctl --user -u loopd` shows why it stopped."
        : "`launchctl kickstart gui/$(id -u)/dev.loopd`; ~/Library/Logs/loopd shows why it stopped.",
      "LOOPD_SERVICE_FAILED",
    );
  if (status.running === null)
    return check(
      "service",
      serving ? "ok" : "warn",
      `installed at ${status.path}; the service manager cannot be asked (${status.managerUnavailable ?? "unknown"})${serving ? `; loopd serve (pid ${serving.pid}) is up` : ""}`,
      serving ? null : "Start it with the service manager, or run `loopd serve`.",
    );
  return check("service", "ok", `installed and running (${status.state ?? "running"})`);
}

/** Lease expiry and due times compare the database's clock with this host's: they must agree. */
export const CLOCK_SKEW_WARN_MS = 2000;

export async function clockSkewCheck(store: Store, now: () => number = Date.now): Promise<DoctorCheck> {
  if (store.dialect !== "postgres")
    return check("clock.skew", "ok", "SQLite: one host, one clock (not checked)");
  const before = now();
  const result = await sql<{ now: Date | string }>`select now() as now`.execute(store.db);
  const after = now();
  const database = new Date(result.rows[0]!.now).getTime();
  // The database read its clock somewhere in the round trip: compare with the middle of it.
  const skewMs = database - (before + after) / 2;
  const shown = `${skewMs >= 0 ? "+" : "-"}${formatDuration(Math.abs(Math.round(skewMs)))}`;
  return Math.abs(skewMs) > CLOCK_SKEW_WARN_MS
    ? check(
        "clock.skew",
        "warn",
        `PostgreSQL's clock is ${shown} from this host's: leases and due times drift by as much`,
        "Run NTP on both hosts (`timedatectl set-ntp true`; `chronyc tracking` shows the offset).",
      )
    : check("clock.skew", "ok", `PostgreSQL's clock is within ${shown} of this host's`);
}

export interface DiskThresholds {
  /** Warn under this many free bytes… */
  minFreeBytes: number;
  /** …or under this share of the disk. */
  minFreeRatio: number;
}

export const DISK_WARN: DiskThresholds = { minFreeBytes: 1024 ** 3, minFreeRatio: 0.05 };

/** Worktrees (`<home>/workspaces`) are checkouts of whole repositories: room for them. */
export async function diskCheck(home: string, thresholds: DiskThresholds = DISK_WARN): Promise<DoctorCheck> {
  let stats: Awaited<ReturnType<typeof statfs>>;
  let where = join(home, "workspaces");
  try {
    stats = await statfs(where);
  } catch {
    where = home;
    try {
      stats = await statfs(where);
    } catch (error) {
      return check(
        "disk.space",
        "warn",
        `cannot read the free space of ${home}: ${(error as Error).message}`,
      );
    }
  }
  const free = stats.bavail * stats.bsize;
  const total = stats.blocks * stats.bsize;
  const ratio = total > 0 ? free / total : 1;
  const shown = `${formatBytes(free)} free of ${formatBytes(total)} (${(ratio * 100).toFixed(1)}%) at ${where}`;
  return free < thresholds.minFreeBytes || ratio < thresholds.minFreeRatio
    ? check(
        "disk.space",
        "warn",
        `${shown}: below ${formatBytes(thresholds.minFreeBytes)} / ${thresholds.minFreeRatio * 100}%`,
        "Free space (kept worktrees under <home>/workspaces: `workspaces.pruneAfter` removes old ones), or move the home to a bigger disk.",
      )
    : check("disk.space", "ok", shown);
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export interface DoctorChecksOptions {
  home: string;
  env: NodeJS.ProcessEnv;
  version: string;
  /** The store, or null when it could not be opened (`storeError` says why). */
  store: Store | null;
  storeError?: unknown;
  now?: () => number;
  disk?: DiskThresholds;
}

/** Every check that does not need the harnesses, in the order doctor prints them. */
export async function doctorChecks(options: DoctorChecksOptions): Promise<DoctorCheck[]> {
  const { store } = options;
  const [service, disk, storeSide] = await Promise.all([
    serviceCheck(options.env, options.home),
    diskCheck(options.home, options.disk),
    store
      ? (async () => {
          const settings = await getSetting<ConfigSettings>(store.db, CONFIG_SETTING);
          return [
            ...(await storeChecks(store, options.home, options.version)),
            await clockSkewCheck(store, options.now),
            ...(await channelChecks(settings?.channels ?? {})),
          ];
        })()
      : Promise.resolve([storeUnreachable(options.storeError)]),
  ]);
  return [...permissionChecks(options.home), ...storeSide, service, disk];
}

/** The harness table's verdicts as checks: a harness some routine needs must be ready. */
export function harnessChecks(report: DoctorReport): DoctorCheck[] {
  return report.harnesses
    .filter((view) => view.routines.length > 0)
    .map((view) => {
      const base = { code: "harness.auth", subject: view.harness };
      if (view.error && view.failing.length > 0)
        return {
          ...base,
          status: "fail" as const,
          message: `${view.harness} is not ready for ${view.failing.join(", ")}: ${view.error.message}`,
          hint: view.error.hint,
          error: (view.error.code in ERROR_CODES ? view.error.code : "LOOPD_AUTH_MISSING") as ErrorCode,
        };
      if (view.auth === "unknown")
        return {
          ...base,
          status: "warn" as const,
          message: `${view.harness}: ${view.authDetail ?? "credentials could not be checked"}`,
          hint: "Runs go ahead; the next run's preflight checks again.",
          error: null,
        };
      return {
        ...base,
        status: "ok" as const,
        message:
          `${view.harness} ${view.version ?? ""}`.trim() + (view.authSource ? ` (${view.authSource})` : ""),
        hint: null,
        error: null,
      };
    });
}
