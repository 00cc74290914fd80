import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../test/helpers/cli.js";
import { dropSchema, TEST_POSTGRES_URL, testDialects } from "../../test/helpers/stores.js";
import { migrate } from "./migrate.js";
import { MIGRATIONS } from "./migrations/index.js";
import type { Dialect } from "./migrations/migration.js";
import { openStore, type StoreOptions } from "./store.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

function freshLocation(dialect: Dialect): StoreOptions {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "loopd-migrate-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return { kind: "sqlite", file: join(dir, "loopd.db") };
  }
  const schema = `loopd_migrate_${randomBytes(5).toString("hex")}`;
  cleanups.push(() => dropSchema(schema));
  return { kind: "postgres", url: TEST_POSTGRES_URL, schema };
}

describe.each(await testDialects())("%s: migrations", (dialect) => {
  it("migrates once when several processes open a new store at the same time", async () => {
    const location = freshLocation(dialect);
    const env =
      location.kind === "sqlite"
        ? { LOOPD_HOME: dirname(location.file) }
        : { LOOPD_DATABASE_URL: location.url, LOOPD_DATABASE_SCHEMA: location.schema };
    const results = await Promise.all([1, 2, 3, 4].map(() => runCli(["ls", "--json"], { env })));
    expect(results.map((result) => [result.code, result.stderr])).toEqual(results.map(() => [0, ""]));
    const store = await openStore(location);
    try {
      const rows = await store.db.selectFrom("schema_migrations").selectAll().execute();
      expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
      // A store that is up to date does nothing more.
      expect(await migrate(store)).toEqual({ applied: [], version: MIGRATIONS.at(-1)!.version });
    } finally {
      await store.close();
    }
  });

  it("refuses a store written by a newer loopd", async () => {
    const location = freshLocation(dialect);
    const store = await openStore(location);
    await store.db
      .insertInto("schema_migrations")
      .values({ version: 999, name: "future", applied_at: 0 })
      .execute();
    await store.close();
    await expect(openStore(location)).rejects.toMatchObject({ code: "LOOPD_STORE_TOO_NEW" });
  });
});

describe("opening a store", () => {
  it("reports an unreachable PostgreSQL as LOOPD_STORE_UNAVAILABLE", async () => {
    await expect(
      openStore({ kind: "postgres", url: "postgres://nobody@127.0.0.1:1/none" }),
    ).rejects.toMatchObject({
      code: "LOOPD_STORE_UNAVAILABLE",
    });
  });
});
