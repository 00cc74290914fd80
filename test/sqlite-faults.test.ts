/**
 * SQLite's disk faults, on real mounts in a mount namespace of the daemon's own (`unshare -m`;
 * as root a chmod would not bite):
 *   - the data dir on a 4 MiB tmpfs that fills up while `loopd serve` runs: one store-down
 *     with LOOPD_STORE_FULL (not an error per retry, no crash, no stack trace), /healthz 503
 *     with the code; once space is freed, store-up and runs go on by themselves;
 *   - the data dir mounted read-only: `loopd serve` exits at once with LOOPD_STORE_READONLY
 *     and its hint, no stack trace (a service manager's restarts each print that one line).
 * The test process reaches the daemon's tmpfs through /proc/<pid>/root.
 */
import { execFile, execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPD_BIN, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { waitFor, waitUntil } from "./helpers/wait.js";

/** Whether this process may make mounts in a namespace of its own (root, or a permissive host). */
function mountsAllowed(): boolean {
  try {
    execFileSync("unshare", ["-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"], { stdio: "ignore" });
    return true;
  } catch (error) {
    // Under CI a missing capability is a failure, not a quiet skip (as for PostgreSQL).
    if (process.env.CI)
      throw new Error(
        `CI needs mounts in a mount namespace (unshare -m) for the SQLite disk fault tests: ${String(error)}`,
      );
    console.warn(
      "skipped: cannot mount in a mount namespace here (unshare -m; needs root) — the SQLite disk fault tests",
    );
    return false;
  }
}

const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

describe.runIf(mountsAllowed())("SQLite disk faults", () => {
  let cwd: string;
  let home: string;
  let serve: LoopdProcess | undefined;

  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), "loopd-sqlite-faults-"));
    home = join(cwd, "home");
    mkdirSync(home);
    writeFileSync(
      join(cwd, "loopd.yaml"),
      "routines:\n  - name: tick\n    every: 1s\n    command: echo tick\n",
    );
  });
  afterAll(async () => {
    await serve?.stop("SIGKILL");
    rmSync(cwd, { recursive: true, force: true });
  });

  it("a full disk is one coded outage, not a crash or an error per retry; freed, runs go on", async () => {
    const env = { LOOPD_HOME: home };
    serve = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], {
      env,
      cwd,
      wrap: [
        "unshare",
        "-m",
        "sh",
        "-c",
        `mount -t tmpfs -o size=4m,mode=700 tmpfs '${home}' && exec "$@"`,
        "sh",
      ],
    });
    const ready = await serve.waitFor((event) => event.type === "ready", 30_000);
    const finished = () =>
      serve!.events.filter((event) => event.type === "run-finished" && event.outcome === "succeeded").length;
    await waitUntil(() => finished() >= 2, "tick succeeding", { timeoutMs: 20_000 });

    // Fill the daemon's tmpfs (its mount, seen through its root) until the disk says no.
    const fill = join(`/proc/${serve.child.pid}/root`, home, "fill");
    const fd = openSync(fill, "w");
    const chunk = Buffer.alloc(64 * 1024);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
    } finally {
      closeSync(fd);
    }
    const seen = serve.events.length;
    const down = await waitFor(
      () => serve!.events.slice(seen).find((event) => event.type === "store-down"),
      "serve reports the store down",
      { timeoutMs: 20_000, state: () => serve!.events.slice(-3) },
    );
    expect(down.error).toMatchObject({ code: "LOOPD_STORE_FULL" });
    expect(String((down.error as { hint: string }).hint)).toContain("Free space");
    const health = await fetch(`${String(ready.url)}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      ok: false,
      storeError: expect.stringMatching(/^the disk holding .*loopd\.db is full/),
      storeErrorCode: "LOOPD_STORE_FULL",
    });
    // Several retries later (250 ms doubling to 5 s): still one report, and alive.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const during = serve.events.slice(seen);
    expect(during.filter((event) => event.type === "store-down")).toHaveLength(1);
    expect(during.filter((event) => event.type === "error").length).toBeLessThanOrEqual(2);
    expect(serve.child.exitCode).toBeNull();

    rmSync(fill);
    const up = await waitFor(
      () => serve!.events.slice(seen).find((event) => event.type === "store-up"),
      "serve reports the store back once there is room",
      { timeoutMs: 20_000, state: () => serve!.events.slice(-3) },
    );
    const after = finished();
    await waitUntil(() => finished() >= after + 2, "tick succeeding again", { timeoutMs: 20_000 });
    expect(serve.stderr()).not.toMatch(STACK_FRAME);
    expect(await serve.stop("SIGTERM")).toBe(0);
    console.log(
      `sqlite-faults: disk full → one store-down (LOOPD_STORE_FULL), ${during.filter((e) => e.type === "error").length} other error lines; ` +
        `space freed → store-up after ${Number(up.downForMs)} ms down, runs succeeding again`,
    );
    serve = undefined;
  }, 120_000);

  it("a read-only data dir stops serve at once with LOOPD_STORE_READONLY and its hint", async () => {
    // A store with a routine in it, then the same folder mounted read-only.
    const env = { LOOPD_HOME: home };
    expect((await runCli(["apply", "-f", "loopd.yaml"], { env, cwd })).code).toBe(0);
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        "unshare",
        [
          "-m",
          "sh",
          "-c",
          `mount --bind '${home}' '${home}' && mount -o remount,ro,bind '${home}' && exec "$@"`,
          "sh",
          process.execPath,
          LOOPD_BIN,
          "serve",
          "--port",
          "0",
        ],
        {
          cwd,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...env },
          timeout: 30_000,
        },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
    expect(code).toBe(10);
    expect(stderr).toMatch(
      /^error\[LOOPD_STORE_READONLY\]: cannot open the store at .*loopd\.db: its folder .* cannot be written$/m,
    );
    expect(stderr).toMatch(/^hint: Make the data dir writable/m);
    expect(stderr).not.toMatch(STACK_FRAME);
  }, 60_000);
});
