/**
 * Opens a fresh store per test file for each dialect, so one contract suite runs against
 * SQLite and PostgreSQL alike. PostgreSQL gets a schema of its own (dropped afterwards);
 * SQLite a file in a temp dir. Without a PostgreSQL server the Postgres half is reported as
 * skipped with one clear line, except under CI, where a missing server is a failure.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Dialect } from "../../src/store/migrations/migration.js";
import { openStore, type QueryObserver, type Store } from "../../src/store/store.js";

export const TEST_POSTGRES_URL =
  process.env.LOOPD_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let postgresAvailable: Promise<boolean> | undefined;

export function isPostgresAvailable(): Promise<boolean> {
  postgresAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query("select 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return postgresAvailable;
}

/**
 * For suites that only make sense on PostgreSQL (several processes sharing a store): whether
 * to run them. Without a server they are skipped with one line, except under CI, where a
 * missing server fails the file instead of passing it silently.
 */
export async function postgresSuiteEnabled(suite: string): Promise<boolean> {
  if (await isPostgresAvailable()) return true;
  if (process.env.CI) throw new Error(`CI needs PostgreSQL at ${TEST_POSTGRES_URL} for ${suite}`);
  console.warn(`skipped: no PostgreSQL at ${TEST_POSTGRES_URL} (${suite})`);
  return false;
}

/** The dialects to run a contract suite against. */
export async function testDialects(): Promise<Dialect[]> {
  if (await isPostgresAvailable()) return ["sqlite", "postgres"];
  if (process.env.CI)
    throw new Error(
      `CI needs PostgreSQL at ${TEST_POSTGRES_URL}; the pretest step of npm test should have started it`,
    );
  console.warn(
    `skipped: no PostgreSQL at ${TEST_POSTGRES_URL} (the postgres half of the store contract tests)`,
  );
  return ["sqlite"];
}

export interface TestStore {
  store: Store;
  /** For spawning processes (CLI, workers) against the same store. */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

export async function openTestStore(
  dialect: Dialect,
  options: { onQuery?: QueryObserver } = {},
): Promise<TestStore> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "loopd-test-"));
    const store = await openStore({ kind: "sqlite", file: join(dir, "loopd.db"), ...options });
    return {
      store,
      env: { LOOPD_HOME: dir },
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `loopd_test_${randomBytes(6).toString("hex")}`;
  const store = await openStore({ kind: "postgres", url: TEST_POSTGRES_URL, schema, ...options });
  return {
    store,
    env: { LOOPD_DATABASE_URL: TEST_POSTGRES_URL, LOOPD_DATABASE_SCHEMA: schema },
    async dispose() {
      await store.close();
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
