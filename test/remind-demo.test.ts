/**
 * `loopd remind` against the demo's loopd.yaml, as the README tells a new user to try it
 * (issue 16): the demo declares a `log` channel, so the README's sentence is scheduled with
 * no setup, and a watch's notification is printed in `loopd serve`'s own output. A sentence
 * nothing can read says so in one line, whether no model tier is declared or its CLI is
 * missing; a CI-status watch looks every 5 minutes.
 */
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { spawnLoopd } from "./helpers/process.js";
import { useTempDirs } from "./helpers/temp-dirs.js";

const DEMO = fileURLToPath(new URL("../examples/demo/loopd.yaml", import.meta.url));
/** The README's "tell me when" sentence, word for word. */
const README_SENTENCE = "tell me when CI is green on https://github.com/acme/web/pull/7";
const UNREADABLE = "water the plants sometime";

const tempDir = useTempDirs();

function demoFolder(): { cwd: string; env: Record<string, string> } {
  const cwd = tempDir("loopd-remind-demo-");
  copyFileSync(DEMO, join(cwd, "loopd.yaml"));
  return { cwd, env: { LOOPD_HOME: join(cwd, "home") } };
}

describe("loopd remind with the demo config", () => {
  it("schedules the README's sentence on the demo's log channel, looking every 5 minutes", async () => {
    const { cwd, env } = demoFolder();
    expect((await runCli(["apply"], { cwd, env })).code).toBe(0);

    const planned = json<{ routine: { every: string; notify: { to: string } } }>(
      await runCli(["remind", README_SENTENCE, "--json"], { cwd, env }),
    );
    expect(planned.routine).toMatchObject({ every: "5m", notify: { to: "me" } });

    const scheduled = await runCli(["remind", README_SENTENCE, "--to", "me", "--yes"], { cwd, env });
    expect(scheduled.stderr).toBe("");
    expect(scheduled.code).toBe(0);
    expect(scheduled.stdout).toContain("Scheduled watch-web-pr-7");
  });

  it("explains an unreadable sentence in one line when no model can be asked", async () => {
    const { cwd, env } = demoFolder();
    expect((await runCli(["apply"], { cwd, env })).code).toBe(0);
    const none = await runCli(["remind", UNREADABLE, "--yes"], { cwd, env });
    expect(none.code).not.toBe(0);
    const [line] = none.stderr.split("\n");
    expect(line).toMatch(
      /^error\[LOOPD_REMIND_UNPARSED\]: could not read that as a reminder: .*no model tier/,
    );

    // A tier whose CLI is missing: "not installed", not the spawn error and its command line.
    writeFileSync(
      join(cwd, "loopd.yaml"),
      [
        "models: { cheap: { harness: claude, model: haiku } }",
        "harnesses: { claude: { command: /nonexistent/claude } }",
        "channels: { me: { type: log } }",
        "routines: []",
        "",
      ].join("\n"),
    );
    expect((await runCli(["apply"], { cwd, env })).code).toBe(0);
    const missing = await runCli(["remind", UNREADABLE, "--yes"], { cwd, env });
    expect(missing.code).not.toBe(0);
    const errorLines = missing.stderr
      .split("\n")
      .filter((text) => !text.startsWith("hint:") && !text.startsWith("  "));
    expect(errorLines.filter(Boolean)).toEqual([
      expect.stringMatching(
        /^error\[LOOPD_REMIND_UNPARSED\]: .*; no model is available to ask \(tier "cheap" uses claude, which is not installed here\)$/,
      ),
    ]);
    expect(missing.stderr).not.toMatch(/ENOENT|spawn|-p /);
  });

  it("prints a watch's notification in loopd serve's output through the log channel", async () => {
    const { cwd, env } = demoFolder();
    const daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], { env, cwd });
    try {
      await daemon.waitFor((event) => event.type === "ready");
      const scheduled = await runCli(["remind", "tell me when `test -f READY` passes", "--yes"], {
        cwd,
        env,
      });
      expect(scheduled.code, scheduled.stderr).toBe(0);
      writeFileSync(join(cwd, "READY"), "");
      expect((await runCli(["run", "watch-test-f-ready"], { cwd, env })).code).toBe(0);
      const printed = await daemon.waitFor((event) => event.type === "notification");
      expect(printed).toMatchObject({ channel: "me" });
      expect(String(printed.line)).toMatch(/^✅ watch-test-f-ready is satisfied/);
      await daemon.waitFor((event) => event.type === "delivered" && event.channel === "me");
    } finally {
      await daemon.stop();
    }
  });
});
