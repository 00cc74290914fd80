/**
 * Pause and shutdown together: a run in progress when its routine is paused is handed back to
 * the queue at shutdown; the next daemon must not execute it — it is skipped with the reason.
 * Against both stores, with real `loopd serve` processes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { openTestStore, type TestStore, testDialects } from "./helpers/stores.js";
import { waitUntil } from "./helpers/wait.js";

interface RunJson {
  id: number;
  status: string;
  reason: string | null;
}

describe.each(await testDialects())("%s: a paused routine's run handed back at shutdown", (dialect) => {
  let target: TestStore;
  let cwd: string;
  let env: Record<string, string>;
  const procs: LoopdProcess[] = [];
  const loopd = (...args: string[]) => runCli(args, { cwd, env });
  const serve = () => {
    const proc = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml", "--grace", "1"], { env, cwd });
    procs.push(proc);
    return proc;
  };

  beforeAll(async () => {
    target = await openTestStore(dialect);
    cwd = mkdtempSync(join(tmpdir(), "loopd-pause-restart-"));
    env = { LOOPD_HOME: join(cwd, "home"), ...target.env };
    writeFileSync(
      join(cwd, "loopd.yaml"),
      'routines:\n  - name: slow\n    command: "echo started >> starts.log && sleep 30"\n',
    );
  });
  afterAll(async () => {
    await Promise.all(procs.map((proc) => proc.stop("SIGKILL")));
    await target?.dispose();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("is skipped as 'routine paused' after a restart, never started", async () => {
    const first = serve();
    await first.waitFor((event) => event.type === "ready");
    expect((await loopd("run", "slow")).code).toBe(0);
    const started = await first.waitFor((event) => event.type === "run-started");
    expect((await loopd("pause", "slow")).code).toBe(0);
    expect(await first.stop("SIGTERM")).toBe(0);
    const [released] = json<RunJson[]>(await loopd("runs", "slow", "--json"));
    expect(released).toMatchObject({ id: started.runId, status: "queued" });

    const second = serve();
    await second.waitFor((event) => event.type === "ready");
    let run: RunJson | undefined;
    await waitUntil(async () => {
      [run] = json<RunJson[]>(await loopd("runs", "slow", "--json"));
      return run?.status !== "queued";
    }, "the released run to be decided");
    expect(run).toMatchObject({ id: started.runId, status: "skipped", reason: "routine paused" });
    expect(second.events.filter((event) => event.type === "run-started")).toEqual([]);
    expect(readFileSync(join(cwd, "starts.log"), "utf8")).toBe("started\n");
    await second.stop("SIGTERM");
  });
});
