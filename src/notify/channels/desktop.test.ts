/**
 * Desktop notifications through node-notifier. This Linux test host has no desktop, so a
 * stand-in `notify-send` executable on PATH records what it was asked to show, and fails
 * when told to, the way a real one does without a notification daemon.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NotificationEvent } from "../event.js";
import { deliverDesktop, desktopMessage } from "./desktop.js";

const event: NotificationEvent = {
  id: "evt_n1",
  type: "run.failed",
  at: "2026-03-01T09:00:00.000Z",
  routine: "babysit-prs",
  runId: 42,
  payload: {
    summary: "Tests fail on main.\nDetails follow.",
    error: { code: "LOOPD_RUN_FAILED", message: "exit 1" },
  },
};

let dir: string;
const originalPath = process.env.PATH;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "loopd-desktop-"));
  const script = `#!/bin/sh
if [ -e '${dir}/fail' ]; then echo "Cannot autolaunch D-Bus without X11 \\$DISPLAY" >&2; exit 1; fi
printf '%s\\n' "$@" > '${dir}/args.txt'
`;
  await writeFile(join(dir, "notify-send"), script);
  await chmod(join(dir, "notify-send"), 0o755);
  process.env.PATH = `${dir}:${originalPath}`;
});
afterAll(async () => {
  process.env.PATH = originalPath;
  await rm(dir, { recursive: true, force: true });
});

describe("desktop channel", () => {
  it("shows the title and the first lines of the message", async () => {
    expect(await deliverDesktop({ type: "desktop" }, event)).toEqual({ ok: true });
    const args = await readFile(join(dir, "args.txt"), "utf8");
    expect(args.startsWith("❌ babysit-prs failed\nTests fail on main.")).toBe(true);
    expect(args).toContain("Error: LOOPD_RUN_FAILED: exit 1");
  });

  it("reports a notifier failure as not retryable instead of throwing", async () => {
    await writeFile(join(dir, "fail"), "");
    try {
      const result = await deliverDesktop({ type: "desktop" }, event);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.retryable).toBe(false);
      expect(result.error).toContain("D-Bus");
    } finally {
      await rm(join(dir, "fail"));
    }
  });

  it("keeps the toast short: first line of each of the first three lines", () => {
    expect(desktopMessage(event)).toEqual({
      title: "❌ babysit-prs failed",
      message: "Tests fail on main.\nError: LOOPD_RUN_FAILED: exit 1\nRun: #42",
    });
  });
});
