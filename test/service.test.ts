/**
 * `loopd service` through the built CLI, into temporary XDG_CONFIG_HOME / HOME dirs: `--print`
 * writes nothing, `install` writes the unit where systemd's user manager looks and, with no
 * user session to enable it (XDG_RUNTIME_DIR pointing at an empty dir: no bus, as in a
 * container), keeps the file and fails with LOOPD_SERVICE_UNAVAILABLE; `status` says so
 * without failing; `uninstall` removes it and is idempotent. The launchd variant the same way.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, LOOPD_BIN, runCli } from "./helpers/cli.js";
import { waitFor } from "./helpers/wait.js";

interface ErrorJson {
  error: { code: string; message: string; hint: string; exitCode: number; details?: { path?: string } };
}

describe("loopd service (systemd user unit)", () => {
  let dir: string;
  let env: Record<string, string>;
  let unitPath: string;
  const loopd = (...args: string[]) => runCli(args, { env });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "loopd-service-"));
    env = {
      XDG_CONFIG_HOME: join(dir, "config"),
      XDG_RUNTIME_DIR: join(dir, "runtime-without-bus"),
      LOOPD_HOME: join(dir, "home"),
      LOOPD_DATABASE_URL: "postgres://127.0.0.1:5432/test",
    };
    unitPath = join(dir, "config", "systemd", "user", "loopd.service");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("install --print shows the unit and writes nothing", async () => {
    const result = await loopd(
      "service",
      "install",
      "--print",
      "--platform",
      "linux",
      "-f",
      "/srv/loops/loopd.yaml",
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `ExecStart=${process.execPath} ${LOOPD_BIN} serve --home ${join(dir, "home")} -f /srv/loops/loopd.yaml`,
    );
    expect(result.stdout).toContain("Restart=always");
    expect(result.stdout).toContain('Environment="LOOPD_DATABASE_URL=postgres://127.0.0.1:5432/test"');
    expect(result.stdout).toContain(`Environment="PATH=${process.env.PATH}"`);
    expect(existsSync(unitPath)).toBe(false);

    const asJson = json<{ platform: string; path: string; content: string }>(
      await loopd("--json", "service", "install", "--print", "--platform", "linux"),
    );
    expect(asJson).toMatchObject({ platform: "systemd", path: unitPath });
    expect(asJson.content).toContain("WantedBy=default.target");
  });

  it("install without a systemd user session writes the unit and fails with a code and a hint", async () => {
    const result = await loopd("service", "install", "--platform", "linux");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error[LOOPD_SERVICE_UNAVAILABLE]");
    expect(result.stderr).toContain(`wrote ${unitPath}`);
    expect(result.stderr).toContain("no systemd user session");
    expect(result.stderr).toContain(
      "hint: In a login session with systemd run `systemctl --user daemon-reload",
    );
    expect(readFileSync(unitPath, "utf8")).toContain(`serve --home ${join(dir, "home")}`);
    // It may carry LOOPD_DATABASE_URL's password: readable by its owner only.
    expect(statSync(unitPath).mode & 0o777).toBe(0o600);
    // The home is the unit's working directory: created by install, not left to the first start.
    expect(statSync(join(dir, "home")).isDirectory()).toBe(true);

    const asJson = json<ErrorJson>(await loopd("--json", "service", "install", "--platform", "linux"));
    expect(asJson.error).toMatchObject({
      code: "LOOPD_SERVICE_UNAVAILABLE",
      exitCode: 2,
      details: { path: unitPath },
    });
  });

  it("status reports installed, and unknown running/enabled with the reason, without failing", async () => {
    const result = await loopd("--json", "service", "status", "--platform", "linux");
    expect(result.code).toBe(0);
    const status = json<Record<string, unknown>>(result);
    expect(status).toMatchObject({
      platform: "systemd",
      path: unitPath,
      installed: true,
      running: null,
      enabled: null,
    });
    expect(String(status.managerUnavailable)).toContain("no systemd user session");

    const human = await loopd("service", "status", "--print", "--platform", "linux");
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`installed: yes (${unitPath})`);
    expect(human.stdout).toContain("running:   unknown");
    expect(human.stdout).toContain("[Service]");
  });

  it("uninstall removes the unit, and says so when there is nothing to remove", async () => {
    const first = json<{ removed: boolean; stopped: boolean; path: string }>(
      await loopd("--json", "service", "uninstall", "--platform", "linux"),
    );
    expect(first).toEqual({ platform: "systemd", path: unitPath, removed: true, stopped: false });
    expect(existsSync(unitPath)).toBe(false);
    const again = await loopd("service", "uninstall", "--platform", "linux");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("not installed");
    expect(
      json<{ installed: boolean }>(await loopd("--json", "service", "status", "--platform", "linux")),
    ).toMatchObject({
      installed: false,
    });
  });

  it.runIf(process.platform !== "darwin")(
    "the launchd agent goes to $HOME/Library/LaunchAgents; without launchctl it stays written with the code (not on macOS)",
    async () => {
      const home = join(dir, "mac-home");
      const macEnv = { ...env, HOME: home };
      const plist = join(home, "Library", "LaunchAgents", "dev.loopd.plist");
      const result = await runCli(["--json", "service", "install", "--platform", "darwin"], { env: macEnv });
      expect(json<ErrorJson>(result).error).toMatchObject({
        code: "LOOPD_SERVICE_UNAVAILABLE",
        details: { path: plist },
      });
      const content = readFileSync(plist, "utf8");
      expect(content).toContain("<key>KeepAlive</key>");
      expect(content).toContain(`<string>${join(home, "Library", "Logs", "loopd", "loopd.log")}</string>`);
      const removed = json<{ removed: boolean }>(
        await runCli(["--json", "service", "uninstall", "--platform", "darwin"], { env: macEnv }),
      );
      expect(removed.removed).toBe(true);
      expect(existsSync(plist)).toBe(false);
    },
  );

  it("status says whether a loopd serve is up for the home, whatever the manager knows", async () => {
    const serve = spawn(process.execPath, [LOOPD_BIN, "--json", "serve", "--port", "0", "--no-log-file"], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOOPD_HOME: env.LOOPD_HOME },
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    serve.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    try {
      const url = await waitFor(() => /"type":"ready","url":"([^"]+)"/.exec(out)?.[1], "serve", {
        timeoutMs: 30_000,
      });
      const status = json<{ serving: unknown; home: string }>(
        await loopd("--json", "service", "status", "--platform", "linux"),
      );
      expect(status).toMatchObject({ home: join(dir, "home"), serving: { pid: serve.pid, url } });
    } finally {
      const exited = new Promise((resolve) => serve.once("exit", resolve));
      serve.kill("SIGKILL");
      // Reaped, not a zombie: a zombie's pid still answers kill(pid, 0).
      await exited;
    }
    const human = await loopd("service", "status", "--platform", "linux");
    expect(human.stdout).toMatch(/^serving: {3}no /m);
  });

  it("refuses a platform with no service manager it knows", async () => {
    const result = await loopd("service", "status", "--platform", "win32");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error[LOOPD_SERVICE_UNSUPPORTED]");
  });
});
