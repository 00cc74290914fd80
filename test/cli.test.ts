/**
 * The CLI end to end, as a user runs it: the built binary in a temp folder, against each
 * store. Covers the foundation's "done means": init → apply → ls, re-apply diffs, config
 * errors with codes and paths, not-found, JSON output.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, LOOPD_BIN, runCli } from "./helpers/cli.js";
import { openTestStore, type TestStore, testDialects } from "./helpers/stores.js";

interface RoutineJson {
  name: string;
  state: string;
  trigger: string;
  nextDueAt: string | null;
  source: string;
}

describe.each(await testDialects())("%s: loopd CLI", (dialect) => {
  let target: TestStore;
  let cwd: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]) => runCli(args, { cwd, env });

  beforeAll(async () => {
    target = await openTestStore(dialect);
    cwd = mkdtempSync(join(tmpdir(), "loopd-cli-"));
    env = target.env;
  });
  afterAll(async () => {
    await target?.dispose();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("init writes an example and refuses to overwrite it", async () => {
    const first = await loopd("init");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("loopd apply");
    const again = await loopd("init", "--json");
    expect(again.code).toBe(2);
    expect(json<{ error: { code: string } }>(again).error.code).toBe("LOOPD_CONFIG_EXISTS");
  });

  it("apply creates the example routines and ls lists them with next due times", async () => {
    const before = Date.now();
    const applied = json<{ changes: Array<{ action: string; name: string }> }>(
      await loopd("apply", "--json"),
    );
    expect(applied.changes.map((change) => change.action)).toEqual([
      "create",
      "create",
      "create",
      "create",
      "create",
    ]);

    const listed = await loopd("ls", "--json");
    expect(listed.code).toBe(0);
    const routines = json<RoutineJson[]>(listed);
    expect(routines.map((routine) => routine.name)).toEqual([
      "babysit-prs",
      "fix-docs",
      "launch-check",
      "nightly-todos",
      "tick",
    ]);
    const tick = routines.find((routine) => routine.name === "tick")!;
    expect(tick).toMatchObject({
      state: "active",
      trigger: "every 10 seconds",
      source: join(cwd, "loopd.yaml"),
    });
    const due = Date.parse(tick.nextDueAt!);
    expect(due).toBeGreaterThanOrEqual(before + 10_000);
    expect(due).toBeLessThanOrEqual(Date.now() + 10_000);
    const nightly = routines.find((routine) => routine.name === "nightly-todos")!;
    expect(nightly.trigger).toBe("at 03:00 (Europe/Berlin)");
    expect(new Date(nightly.nextDueAt!).getUTCHours()).toBe(2); // 03:00 CET
    expect(routines.find((routine) => routine.name === "fix-docs")).toMatchObject({
      state: "paused",
      nextDueAt: null,
    });
  });

  it("ls prints an aligned table with relative times", async () => {
    const result = await loopd("ls");
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+TRIGGER\s+NEXT\s+LAST RUN\s+HEALTH$/);
    expect(lines.find((line) => line.startsWith("tick"))).toMatch(/every 10 seconds\s+in \d+s\s+never/);
    const stateColumn = lines[0]!.indexOf("STATE");
    expect(lines.every((line) => line[stateColumn - 1] === " ")).toBe(true);
  });

  it("re-applying an edited file reports and applies the diff", async () => {
    const file = join(cwd, "loopd.yaml");
    const text = readFileSync(file, "utf8")
      .replace("every: 10s\n    timeout: 30s", "every: 20s\n    timeout: 45s")
      .replace(/ {2}# A cron routine[\s\S]*?tz: Europe\/Berlin\n\n/, "");
    writeFileSync(file, text);

    const dry = await loopd("apply", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/~ tick\s+would be updated\s+timeout, timeoutMs, trigger/);
    expect(dry.stdout).toMatch(/‖ nightly-todos\s+would be paused\s+no longer in loopd.yaml/);
    expect(json<RoutineJson[]>(await loopd("ls", "--json")).find((r) => r.name === "tick")!.trigger).toBe(
      "every 10 seconds",
    );

    const applied = await loopd("apply");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain("1 updated, 1 paused, 3 unchanged");
    const routines = json<RoutineJson[]>(await loopd("ls", "--json"));
    expect(routines.find((r) => r.name === "tick")!.trigger).toBe("every 20 seconds");
    expect(routines.find((r) => r.name === "nightly-todos")!.state).toBe("paused");

    const again = json<{ changes: Array<{ action: string }> }>(await loopd("apply", "--json"));
    expect(again.changes.every((change) => change.action === "unchanged")).toBe(true);

    const pruned = json<{ changes: Array<{ action: string; name: string }> }>(
      await loopd("apply", "--prune", "--json"),
    );
    expect(pruned.changes.filter((change) => change.action === "remove").map((c) => c.name)).toEqual([
      "nightly-todos",
    ]);
  });

  it.each([
    [
      "an invalid cron",
      'cron: "0 9 * * 1-5"',
      'cron: "61 * * * *"',
      "routines[2].cron",
      "not a valid cron expression",
    ],
    [
      "an unknown time zone",
      "tz: Europe/Berlin\n    catchUp",
      "tz: Europe/Bärlin\n    catchUp",
      "routines[2].tz",
      "IANA",
    ],
    ["a negative duration", "every: 20s", "every: -20s", "routines[0].every", "negative"],
    ["an unknown key", "timeout: 45s", "timeuot: 45s", "routines[0]", 'unknown key "timeuot"'],
  ])(
    "apply rejects %s with exit 2, LOOPD_CONFIG_INVALID and the field path",
    async (_, from, to, path, words) => {
      const file = join(cwd, "bad.yaml");
      const good = readFileSync(join(cwd, "loopd.yaml"), "utf8");
      expect(good).toContain(from);
      writeFileSync(file, good.replace(from, to));

      const asJson = await loopd("apply", "-f", "bad.yaml", "--json");
      expect(asJson.code).toBe(2);
      const { error } = json<{
        error: { code: string; message: string; details: { issues: Array<{ path: string; line: number }> } };
      }>(asJson);
      expect(error.code).toBe("LOOPD_CONFIG_INVALID");
      expect(error.details.issues[0]!.path).toBe(path);
      expect(error.message).toContain(words);
      expect(error.message).toMatch(new RegExp(`^bad\\.yaml:${error.details.issues[0]!.line}: `));

      const human = await loopd("apply", "-f", "bad.yaml");
      expect(human.code).toBe(2);
      expect(human.stdout).toBe("");
      expect(human.stderr).toMatch(/^error\[LOOPD_CONFIG_INVALID\]: bad\.yaml:\d+: /);
      expect(human.stderr).toContain(path);
      expect(human.stderr).toMatch(/\nhint: /);
      expect(human.stderr).not.toMatch(/\n\s+at /); // no stack trace
    },
  );

  it("apply of a missing file says how to make one", async () => {
    const result = await loopd("apply", "-f", "nope.yaml");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error[LOOPD_CONFIG_NOT_FOUND]: nope.yaml does not exist");
    expect(result.stderr).toContain("loopd init");
  });

  it("show prints a routine, and an unknown one exits 3 with LOOPD_NOT_FOUND", async () => {
    const shown = await loopd("show", "tick");
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/trigger\s+every 20 seconds/);
    expect(shown.stdout).toContain("Recent runs");
    const detail = json<{ name: string; spec: { task: { command: string } }; recentRuns: unknown[] }>(
      await loopd("show", "tick", "--json"),
    );
    expect(detail.spec.task.command).toContain("ticks.log");
    expect(detail.recentRuns).toEqual([]);

    const missing = await loopd("show", "nope");
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('error[LOOPD_NOT_FOUND]: no routine named "nope"');
    const missingJson = await loopd("show", "nope", "--json");
    expect(missingJson.code).toBe(3);
    expect(json<{ error: { code: string; exitCode: number } }>(missingJson).error).toMatchObject({
      code: "LOOPD_NOT_FOUND",
      exitCode: 3,
    });
  });

  it("pause, resume and rm change the routine", async () => {
    const paused = json<{ state: string; pausedReason: string; nextDueAt: null }>(
      await loopd("pause", "tick", "--reason", "holiday", "--json"),
    );
    expect(paused).toMatchObject({ state: "paused", pausedReason: "holiday", nextDueAt: null });
    const resumed = await loopd("resume", "tick");
    // On a 10 s grid the next slot may be under a second away when the CLI is slow: "now".
    expect(resumed.stdout).toMatch(/^Resumed tick; next run (in \d+s|now)\.$/m);
    expect(json<{ state: string }>(await loopd("show", "tick", "--json")).state).toBe("active");

    const removed = await loopd("rm", "tick");
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain("loopd apply` would create it again");
    expect((await loopd("show", "tick")).code).toBe(3);
    expect((await loopd("rm", "tick")).code).toBe(3);
  });

  it("runs lists nothing yet, and checks its routine", async () => {
    expect(json(await loopd("runs", "--json"))).toEqual([]);
    expect((await loopd("runs")).stdout).toBe("No runs yet.\n");
    expect((await loopd("runs", "nope")).code).toBe(3);
  });
});

describe("loopd CLI without a store", () => {
  it("prints its version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect((await runCli(["--version"])).stdout.trim()).toBe(pkg.version);
  });

  it("prints the committed JSON Schema", async () => {
    const result = await runCli(["schema"]);
    expect(result.code).toBe(0);
    const committed = readFileSync(new URL("../schema/loopd.schema.json", import.meta.url), "utf8");
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(committed));
  });

  it("reports usage errors with exit 2 and no stack trace", async () => {
    const unknown = await runCli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error\[LOOPD_USAGE\]: unknown command 'frobnicate'/);
    const badOption = await runCli(["ls", "--jsno", "--json"]);
    expect(badOption.code).toBe(2);
    expect(json<{ error: { code: string } }>(badOption).error.code).toBe("LOOPD_USAGE");
    const badCount = await runCli(["runs", "-n", "zero"]);
    expect(badCount.code).toBe(2);
    expect(badCount.stderr).toContain("expected a positive whole number");
  });

  it("stops quietly when its reader closes the pipe (`loopd schema | head`)", async () => {
    // 75 KB of schema: more than a pipe holds, so the rest is written after the reader left.
    const child = spawn(process.execPath, [LOOPD_BIN, "schema"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.once("data", () => child.stdout.destroy());
    const [code] = (await once(child, "exit")) as [number | null];
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("rejects a LOOPD_DATABASE_URL that is not PostgreSQL", async () => {
    const result = await runCli(["ls"], { env: { LOOPD_DATABASE_URL: "mysql://x" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error[LOOPD_DATABASE_URL_INVALID]");
  });

  it("uses $XDG_DATA_HOME/loopd when no home is given", async () => {
    const xdg = mkdtempSync(join(tmpdir(), "loopd-xdg-"));
    try {
      // cwd: a folder with no .loopd above it (a clone may have one from `npm start`).
      const result = await runCli(["apply", "-f", "/nonexistent/loopd.yaml"], {
        env: { XDG_DATA_HOME: xdg },
        cwd: xdg,
      });
      expect(result.code).toBe(2);
      expect((await runCli(["ls", "--json"], { env: { XDG_DATA_HOME: xdg }, cwd: xdg })).code).toBe(0);
      expect(readFileSync(join(xdg, "loopd", "loopd.db")).length).toBeGreaterThan(0);
    } finally {
      rmSync(xdg, { recursive: true, force: true });
    }
  });
});
