/** The command channel, running real shell commands. */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitUntil } from "../../../test/helpers/wait.js";
import type { NotificationEvent } from "../event.js";
import { deliverCommand } from "./command.js";

const event: NotificationEvent = {
  id: "evt_c1",
  type: "run.succeeded",
  at: "2026-03-01T09:00:00.000Z",
  routine: "babysit-prs",
  runId: 42,
  payload: { summary: "All green." },
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "loopd-command-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Running, as opposed to gone or a zombie waiting for a reaper (a container may lack one). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true; // no /proc: kill(0) is all there is
  }
}

describe("command channel", () => {
  it("gives the command the event as JSON on stdin and only a small environment", async () => {
    process.env.LOOPD_TEST_DAEMON_SECRET = "must-not-leak";
    const command = `cat > '${dir}/event.json'; env > '${dir}/env.txt'`;
    try {
      expect(await deliverCommand({ type: "command", command }, event)).toEqual({ ok: true });
    } finally {
      delete process.env.LOOPD_TEST_DAEMON_SECRET;
    }
    expect(JSON.parse(await readFile(join(dir, "event.json"), "utf8"))).toEqual(event);
    const env = await readFile(join(dir, "env.txt"), "utf8");
    expect(env).toContain("LOOPD_EVENT_TYPE=run.succeeded\n");
    expect(env).toContain("LOOPD_EVENT_ID=evt_c1\n");
    expect(env).toContain(`PATH=${process.env.PATH}\n`);
    expect(env).not.toContain("must-not-leak");
  });

  it("delivers with a command that ignores its input", async () => {
    expect(await deliverCommand({ type: "command", command: "true" }, event)).toEqual({ ok: true });
  });

  it("retries a non-zero exit and reports the end of stderr", async () => {
    const command = `echo "${"noise ".repeat(200)}" >&2; echo "curl: (7) Failed to connect" >&2; exit 3`;
    const result = await deliverCommand({ type: "command", command }, event);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.retryable).toBe(true);
    expect(result.error).toMatch(/^command exited with 3: …[a-z ]+\ncurl: \(7\) Failed to connect$/);
    expect(result.error.length).toBeLessThan(600);
  });

  it("stops a hanging command and what it started at the timeout", async () => {
    const pidFile = join(dir, "child.pid");
    const command = `sleep 30 & echo $! > '${pidFile}'; wait`;
    const started = Date.now();
    const result = await deliverCommand({ type: "command", command }, event, { timeoutMs: 300 });
    expect(result).toEqual({ ok: false, retryable: true, error: "command timed out after 300ms" });
    expect(Date.now() - started).toBeLessThan(5000);
    const child = Number(await readFile(pidFile, "utf8"));
    await waitUntil(() => !alive(child), `process ${child} gone`, { timeoutMs: 1000, everyMs: 20 });
  });

  it("runs the command through /bin/sh so pipes work", async () => {
    const command = `grep -o '"routine":"[a-z-]*"' | tr -d '"' > '${dir}/routine.txt'`;
    expect(await deliverCommand({ type: "command", command }, event)).toEqual({ ok: true });
    expect(existsSync(join(dir, "routine.txt"))).toBe(true);
    expect(await readFile(join(dir, "routine.txt"), "utf8")).toBe("routine:babysit-prs\n");
  });
});
