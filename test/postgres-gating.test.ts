/**
 * Suites that need PostgreSQL fail under CI when it is missing instead of passing silently:
 * every test file that opens a PostgreSQL store decides whether to run through
 * `testDialects()` or `postgresSuiteEnabled()` (test/helpers/stores.ts, which throw under
 * `CI`) — or, for a server of its own, `privatePostgresSuiteEnabled()`
 * (test/helpers/private-postgres.ts, which throws there too) — never by asking `isPostgresAvailable()` itself or skipping on its own condition.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const SELF = fileURLToPath(import.meta.url);
const FILES = [...testFiles(join(ROOT, "test")), ...testFiles(join(ROOT, "src"))]
  .filter((path) => path !== SELF)
  .map((path) => ({ name: relative(ROOT, path), text: readFileSync(path, "utf8") }));
const USES_POSTGRES = /openTestStore\("postgres"|kind: "postgres"|TEST_POSTGRES_URL|testDialects\(/;

describe("PostgreSQL suites under CI", () => {
  it("decide through testDialects() or postgresSuiteEnabled()", () => {
    const ungated = FILES.filter(
      (file) =>
        USES_POSTGRES.test(file.text) &&
        !/testDialects\(\)|postgresSuiteEnabled\(|privatePostgresSuiteEnabled\(/.test(file.text),
    ).map((file) => file.name);
    expect(ungated).toEqual([]);
  });

  it("never ask isPostgresAvailable() themselves", () => {
    expect(
      FILES.filter((file) => file.text.includes("isPostgresAvailable(")).map((file) => file.name),
    ).toEqual([]);
  });
});
