import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { releaseLock, tryLock, waitForLock } from "./lock-file.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "loopd-lock-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function deadPid(): Promise<number> {
  const child = spawn("true");
  await new Promise((resolve) => child.on("exit", resolve));
  return child.pid!;
}

describe("lock files", () => {
  it("lets exactly one of many concurrent claimants take a lock", async () => {
    const path = join(dir, "slot.lock");
    const results = await Promise.all(Array.from({ length: 20 }, () => tryLock(path)));
    expect(results.filter((lock) => lock !== null)).toHaveLength(1);
  });

  it("lets exactly one of many claimants take over a stale lock", async () => {
    const path = join(dir, "slot.lock");
    writeFileSync(path, JSON.stringify({ pid: await deadPid(), token: "dead", at: 0 }));
    const results = await Promise.all(Array.from({ length: 20 }, () => tryLock(path)));
    expect(results.filter((lock) => lock !== null)).toHaveLength(1);
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
  });

  it("does not release a lock that was taken over by someone else", async () => {
    const path = join(dir, "slot.lock");
    const mine = (await tryLock(path))!;
    writeFileSync(path, JSON.stringify({ pid: process.pid, token: "someone-else", at: 0 }));
    await releaseLock(mine);
    expect(existsSync(path)).toBe(true);
  });

  it("waits for a lock until its holder releases it", async () => {
    const path = join(dir, "fetch.lock");
    const first = (await tryLock(path))!;
    let second = false;
    const waiting = waitForLock(path).then((lock) => {
      second = true;
      return lock;
    });
    // The behaviour under test is a non-event (no lock while it is held), so it takes a window:
    // 100 ms is several of the waiter's tries (20 ms, then 40 ms, 80 ms …), each refused.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(second).toBe(false);
    await releaseLock(first);
    await releaseLock(await waiting);
    expect(second).toBe(true);
  });
});
