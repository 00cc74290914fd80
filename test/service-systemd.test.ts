/**
 * `loopd service` end to end against a fake systemd user manager (test/support/fake-systemd):
 * install writes the unit, reloads, enables and restarts it, and the unit really runs
 * `loopd serve` for the home, which runs the loopd.yaml's routine; a re-install restarts it onto
 * a new process; after a "reboot" (the service's processes SIGKILLed, then the boot-time
 * `systemctl --user start`) it serves and runs the routine again; uninstall stops it for good.
 */
import { execFile } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { environOf } from "./helpers/processes.js";
import { waitFor, waitUntil } from "./helpers/wait.js";

const FAKE_SYSTEMCTL = fileURLToPath(new URL("./support/fake-systemd/systemctl.mjs", import.meta.url));

interface Status {
  installed: boolean;
  running: boolean | null;
  enabled: boolean | null;
  state: string | null;
  lastExit: string | null;
  serving: { pid: number; url: string } | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.runIf(process.platform === "linux")("loopd service under a (fake) systemd user manager", () => {
  let dir: string;
  let bin: string;
  let stateDir: string;
  let home: string;
  let beats: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]) => runCli(args, { env });
  const status = async () => json<Status>(await loopd("--json", "service", "status"));
  const calls = () =>
    readFileSync(join(stateDir, "calls.log"), "utf8")
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as string[]).join(" "));
  const mainPid = () =>
    (JSON.parse(readFileSync(join(stateDir, "main.json"), "utf8")) as { pid: number }).pid;
  const journal = () =>
    existsSync(join(stateDir, "journal")) ? readFileSync(join(stateDir, "journal"), "utf8") : "";
  const beatCount = () => (existsSync(beats) ? readFileSync(beats, "utf8").split("\n").length - 1 : 0);
  /** The daemon the unit started, once it serves: its pid is the unit's main process. */
  const serving = (not?: number) =>
    waitFor(
      async () => {
        const { serving } = await status();
        if (!serving || serving.pid === not) return undefined;
        const health = await fetch(new URL("/healthz", serving.url)).catch(() => null);
        return health?.ok ? serving : undefined;
      },
      "the service's loopd serve answers /healthz",
      { timeoutMs: 20_000, state: journal },
    );

  beforeAll(() => {
    // What the unit must quote and escape for systemd: a space, a `$` (expanded in ExecStart), a
    // `%` (a specifier everywhere).
    dir = mkdtempSync(join(tmpdir(), "loopd systemd $HOME %h-"));
    bin = join(dir, "bin");
    stateDir = join(dir, "systemd-state");
    home = join(dir, "home");
    beats = join(dir, "beats.log");
    mkdirSync(bin);
    mkdirSync(stateDir);
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\nexec node ${JSON.stringify(FAKE_SYSTEMCTL)} "$@"\n`);
    chmodSync(join(bin, "systemctl"), 0o755);
    writeFileSync(
      join(dir, "loopd.yaml"),
      [
        "routines:",
        "  - name: beat",
        `    command: ${JSON.stringify(`echo beat >> '${beats}'`)}`,
        "    every: 1s",
        "",
      ].join("\n"),
    );
    env = {
      PATH: `${bin}:${process.env.PATH}`,
      XDG_CONFIG_HOME: join(dir, "config"),
      LOOPD_HOME: home,
      // Captured into the unit: the service picks a free port instead of 7878.
      LOOPD_PORT: "0",
      // No /var/lib/systemd/linger entry for this user: the linger hint is always there.
      USER: "loopd-test-user",
      FAKE_SYSTEMD_STATE: stateDir,
    };
  });
  afterAll(() => {
    const pid = existsSync(join(stateDir, "main.json")) ? mainPid() : 0;
    if (pid > 0 && alive(pid)) process.kill(-pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("install → the unit runs loopd serve → reboot → uninstall", async () => {
    const unitPath = join(dir, "config", "systemd", "user", "loopd.service");
    // Secrets go to <home>/service.env, which the unit reads (EnvironmentFile=-).
    mkdirSync(home);
    writeFileSync(join(home, "service.env"), "LOOPD_TEST_SECRET=from-service-env\n");
    const installed = await loopd("service", "install", "-f", join(dir, "loopd.yaml"));
    expect(installed.stderr).toBe("");
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain(`✓ installed ${unitPath} and started loopd serve --home ${home}`);
    expect(installed.stdout).toContain("logs: journalctl --user -u loopd -f");
    expect(installed.stdout).toContain("run `loginctl enable-linger loopd-test-user`");
    const doubled = (path: string) => path.replace(/[$%]/g, (char) => char + char);
    expect(readFileSync(unitPath, "utf8")).toContain(
      `serve --home "${doubled(home)}" -f "${doubled(dir)}/loopd.yaml"`,
    );
    expect(calls()).toEqual([
      "--user show-environment",
      "--user daemon-reload",
      "--user enable loopd.service",
      "--user restart loopd.service",
    ]);

    const first = await serving();
    expect(first.pid).toBe(mainPid());
    // Run as the unit says: in the home, with the installing shell's LOOPD_* settings.
    expect(environOf(first.pid).get("LOOPD_PORT")).toBe("0");
    expect(environOf(first.pid).get("LOOPD_HOME")).toBe(home);
    expect(environOf(first.pid).get("LOOPD_TEST_SECRET")).toBe("from-service-env");
    expect(readlinkSync(`/proc/${first.pid}/cwd`)).toBe(home);
    await waitUntil(() => beatCount() >= 1, "the routine ran under the service", { state: journal });
    expect(await status()).toMatchObject({
      installed: true,
      running: true,
      enabled: true,
      state: "active/running",
      lastExit: "0",
      serving: first,
    });

    // A re-install (after an upgrade) restarts the service onto a new process.
    const again = json<Record<string, unknown>>(
      await loopd("--json", "service", "install", "-f", join(dir, "loopd.yaml")),
    );
    expect(again).toMatchObject({
      platform: "systemd",
      path: unitPath,
      home,
      started: true,
      logs: "journalctl --user -u loopd -f",
      lingerHint: expect.stringContaining("loginctl enable-linger loopd-test-user"),
    });
    expect(alive(first.pid)).toBe(false);
    const second = await serving(first.pid);
    expect(second.pid).toBe(mainPid());

    // "Reboot": everything of the service dies at once; at boot the manager starts enabled units.
    process.kill(-second.pid, "SIGKILL");
    await waitUntil(() => !alive(second.pid), "the killed daemon is gone");
    expect(await status()).toMatchObject({
      running: false,
      enabled: true,
      state: "failed/failed",
      lastExit: "9",
    });
    const before = beatCount();
    await new Promise<void>((resolve, reject) =>
      execFile(join(bin, "systemctl"), ["--user", "start", "loopd.service"], { env }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    const third = await serving(second.pid);
    expect(third.pid).toBe(mainPid());
    await waitUntil(() => beatCount() > before, "the routine runs again after the reboot", {
      state: journal,
    });
    expect(await status()).toMatchObject({ running: true, enabled: true, state: "active/running" });

    const removed = json<{ stopped: boolean; removed: boolean }>(
      await loopd("--json", "service", "uninstall"),
    );
    expect(removed).toMatchObject({ stopped: true, removed: true });
    expect(alive(third.pid)).toBe(false);
    expect(existsSync(unitPath)).toBe(false);
    expect(calls().slice(-4)).toEqual([
      "--user show-environment",
      "--user disable --now loopd.service",
      "--user show-environment",
      "--user daemon-reload",
    ]);
    expect(await status()).toMatchObject({ installed: false, running: false, enabled: false, serving: null });
  });
});
