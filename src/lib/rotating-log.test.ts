import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RotatingLog } from "./rotating-log.js";

describe("RotatingLog", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "loopd-log-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("rotates by size, keeps `keep` old files and drops the oldest", () => {
    const path = join(dir, "logs", "serve.log");
    const log = new RotatingLog(path, { maxBytes: 20, keep: 2 });
    for (let i = 0; i < 6; i++) log.write(`line ${i} .......\n`); // 15 bytes each: one per file
    expect(readFileSync(path, "utf8")).toBe("line 5 .......\n");
    expect(readFileSync(`${path}.1`, "utf8")).toBe("line 4 .......\n");
    expect(readFileSync(`${path}.2`, "utf8")).toBe("line 3 .......\n");
    expect(existsSync(`${path}.3`)).toBe(false);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("appends to an existing file and counts its size", () => {
    const path = join(dir, "again.log");
    new RotatingLog(path, { maxBytes: 30 }).write("first line, 19 b\n");
    const log = new RotatingLog(path, { maxBytes: 30 });
    log.write("second line, 20 b\n");
    expect(readFileSync(path, "utf8")).toBe("second line, 20 b\n");
    expect(readFileSync(`${path}.1`, "utf8")).toBe("first line, 19 b\n");
  });
});
