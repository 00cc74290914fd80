/**
 * A routine that leaves loopd.yaml is paused ("no longer in loopd.yaml"); put back, `apply`
 * resumes it — and only a pause of that kind: a `loopd pause` survives the round trip.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { openTestStore, type TestStore, testDialects } from "./helpers/stores.js";

interface RoutineJson {
  name: string;
  state: string;
  pausedReason: string | null;
  pausedCode: string | null;
  nextDueAt: string | null;
}

/** The first test starts a dozen CLI processes one after another: room for a busy machine. */
const CLI_HEAVY_MS = 90_000;

const routine = (name: string) => [`  - name: ${name}`, "    command: echo hi", "    every: 1h"].join("\n");

describe.each(await testDialects())("%s: apply after a routine left the file and came back", (dialect) => {
  let target: TestStore;
  let cwd: string;
  const loopd = (...args: string[]) => runCli(args, { cwd, env: target.env });
  const write = (...names: string[]) =>
    writeFileSync(
      join(cwd, "loopd.yaml"),
      `routines:${names.length ? "\n" : " []\n"}${names.map(routine).join("\n")}\n`,
    );
  const show = async (name: string) => json<RoutineJson>(await loopd("show", name, "--json"));

  beforeAll(async () => {
    target = await openTestStore(dialect);
    cwd = mkdtempSync(join(tmpdir(), "loopd-apply-resume-"));
  });
  afterAll(async () => {
    await target?.dispose();
    rmSync(cwd, { recursive: true, force: true });
  });

  it(
    "resumes the routine apply paused, and keeps a user's pause",
    async () => {
      write("back", "held");
      expect((await loopd("apply")).code).toBe(0);
      expect((await loopd("pause", "held")).code).toBe(0);

      write();
      expect((await loopd("apply")).stdout).toMatch(/‖ back\s+paused\s+no longer in loopd.yaml/);
      expect(await show("back")).toMatchObject({ state: "paused", pausedCode: "removed" });
      expect(await show("held")).toMatchObject({ state: "paused", pausedCode: "user" });

      write("back", "held");
      const dry = await loopd("apply", "--dry-run");
      expect(dry.stdout).toMatch(/~ back\s+would be resumed\s+back in loopd.yaml/);
      expect(dry.stdout).toMatch(/= held\s+unchanged/);
      expect((await show("back")).state).toBe("paused");

      const applied = await loopd("apply");
      expect(applied.stdout).toMatch(/~ back\s+resumed\s+back in loopd.yaml/);
      expect(applied.stdout).toContain("1 resumed, 1 unchanged");
      expect(await show("back")).toMatchObject({ state: "active", pausedCode: null, pausedReason: null });
      expect((await show("back")).nextDueAt).not.toBeNull();
      expect(await show("held")).toMatchObject({
        state: "paused",
        pausedCode: "user",
        pausedReason: "paused by hand",
      });

      // Settled: a second apply changes nothing.
      const again = json<{ changes: Array<{ action: string }> }>(await loopd("apply", "--json"));
      expect(again.changes.map((change) => change.action)).toEqual(["unchanged", "unchanged"]);
    },
    CLI_HEAVY_MS,
  );

  it("a `loopd pause` of a routine that left the file makes it the user's pause", async () => {
    write("held");
    await loopd("apply");
    expect((await show("back")).pausedCode).toBe("removed");
    expect((await loopd("pause", "back")).code).toBe(0);
    expect(await show("back")).toMatchObject({ pausedCode: "user", pausedReason: "no longer in loopd.yaml" });
    write("back", "held");
    await loopd("apply");
    expect((await show("back")).state).toBe("paused");
  });
});
