/** Temporary folders for one test file, removed after each test. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

/** Registers the cleanup; returns `tempDir(prefix, parent?)`. Call at the top level of a test file. */
export function useTempDirs(): (prefix: string, parent?: string) => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix, parent = tmpdir()) => {
    const dir = mkdtempSync(join(parent, prefix));
    dirs.push(dir);
    return dir;
  };
}
