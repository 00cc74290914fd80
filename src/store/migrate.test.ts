import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Kysely, sql } from "kysely";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../test/helpers/cli.js";
import { dropSchema, TEST_POSTGRES_URL, testDialects } from "../../test/helpers/stores.js";
import { exportHome } from "../app/portability.js";
import { fireRoutine } from "../app/run-now.js";
import { costReport, recordLedger, spentUsd } from "./ledger.js";
import { getMemory } from "./memory.js";
import { migrate } from "./migrate.js";
import { MIGRATIONS } from "./migrations/index.js";
import type { Dialect } from "./migrations/migration.js";
import { createPostgresDialect, createPostgresPool } from "./postgres/dialect.js";
import { listRoutines, setRoutineState } from "./routines.js";
import { listRunEvents } from "./run-events.js";
import { findRun, listRuns } from "./runs.js";
import type { Database } from "./schema.js";
import { getSetting } from "./settings.js";
import { createSqliteDialect } from "./sqlite/dialect.js";
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

/** A store at schema version 1, as the first loopd left it: migration 1 and its row, nothing else. */
async function openAtVersion1(location: StoreOptions): Promise<Kysely<Database>> {
  let db: Kysely<Database>;
  if (location.kind === "sqlite") db = new Kysely<Database>({ dialect: createSqliteDialect(location.file) });
  else {
    const admin = new pg.Client({ connectionString: location.url });
    await admin.connect();
    await admin.query(`create schema "${location.schema}"`);
    await admin.end();
    db = new Kysely<Database>({ dialect: createPostgresDialect(createPostgresPool(location)) });
  }
  await MIGRATIONS[0]!.up(db as Kysely<unknown>, location.kind);
  await sql`create table schema_migrations (version integer primary key, name text not null, applied_at bigint not null)`.execute(
    db,
  );
  await db.insertInto("schema_migrations").values({ version: 1, name: "initial", applied_at: 0 }).execute();
  return db;
}

const T0 = Date.parse("2026-03-01T08:00:00Z");
const DAY = 86_400_000;
/** A routine spec as version 1 stored it: no docs, memory, deliver, secrets, env or agents yet. */
const V1_SPEC = {
  name: "nightly",
  paused: false,
  repo: "/srv/app",
  workspace: "in-place",
  task: { kind: "command", command: "make nightly" },
  harness: "shell",
  escalate: [],
  trigger: { kind: "every", every: "1d", everyMs: DAY },
  timeout: "1h",
  timeoutMs: 3_600_000,
  retries: 1,
  catchUp: "latest",
  maxCatchup: 10,
  overlap: "skip",
  notify: [],
  labels: [],
  requires: ["shell"],
};

/** Rows in every table version 1 had, written with its columns only. */
async function insertVersion1Data(db: Kysely<Database>): Promise<void> {
  const routine = await db
    .insertInto("routines")
    .values({
      name: "nightly",
      source: "/srv/app/loopd.yaml",
      spec: JSON.stringify(V1_SPEC),
      spec_hash: "v1hash",
      state: "active",
      next_due_at: T0 + DAY,
      scheduled_runs: 3,
      last_run_at: T0,
      last_outcome: "succeeded",
      consecutive_failures: 0,
      last_success_at: T0,
      created_at: T0 - 2 * DAY,
      updated_at: T0,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  const routineId = Number(routine.id);
  const run = await db
    .insertInto("runs")
    .values({
      routine_id: routineId,
      due_at: T0,
      trigger: "schedule",
      status: "succeeded",
      attempt: 1,
      max_attempts: 2,
      not_before: T0,
      input: null,
      queued_at: T0,
      started_at: T0 + 1000,
      finished_at: T0 + 61_000,
      exit_code: 0,
      summary: "nightly passed",
      tokens_in: 1500,
      tokens_out: 200,
      cost_usd: 0.02,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  const runId = Number(run.id);
  await db
    .insertInto("run_events")
    .values([
      {
        run_id: runId,
        attempt: 1,
        at: T0 + 1000,
        type: "status",
        stream: null,
        data: JSON.stringify({ status: "running" }),
      },
      { run_id: runId, attempt: 1, at: T0 + 2000, type: "log", stream: "stdout", data: "all green" },
    ])
    .execute();
  await db
    .insertInto("ledger")
    .values({
      at: T0 + 61_000,
      day: "2026-03-01",
      routine_id: routineId,
      routine_name: "nightly",
      run_id: runId,
      harness: "claude",
      model: "sonnet",
      tokens_in: 1500,
      tokens_out: 200,
      tokens_cached: 0,
      tokens_reasoning: 0,
      cost_usd: 0.02,
      cost_source: "reported",
    })
    .execute();
  await db
    .insertInto("outbox")
    .values({
      id: "evt-1",
      type: "run.succeeded",
      channel: "me",
      routine_id: routineId,
      run_id: runId,
      payload: "{}",
      status: "delivered",
      next_attempt_at: T0,
      created_at: T0,
      delivered_at: T0 + 5,
    })
    .execute();
  await db
    .insertInto("memory")
    .values({ routine_id: routineId, content: "- make nightly is slow\n", updated_at: T0 })
    .execute();
  await db
    .insertInto("settings")
    .values({ key: "config", value: JSON.stringify({ channels: {} }), updated_at: T0 })
    .execute();
}

describe.each(await testDialects())("%s: upgrading from version 1", (dialect) => {
  it("migrates a store with data from the first schema to the latest, and the data stays usable", async () => {
    const location = freshLocation(dialect);
    const v1 = await openAtVersion1(location);
    await insertVersion1Data(v1);
    await v1.destroy();

    const store = await openStore(location);
    try {
      const versions = await store.db
        .selectFrom("schema_migrations")
        .select("version")
        .orderBy("version")
        .execute();
      expect(versions.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));

      const [routine] = await listRoutines(store.db);
      expect(routine).toMatchObject({
        name: "nightly",
        state: "active",
        nextDueAt: T0 + DAY,
        scheduledRuns: 3,
        lastOutcome: "succeeded",
        pausedCode: null,
        lastVerdict: null,
      });
      // Later fields get the defaults the config would give them now.
      expect(routine!.spec).toMatchObject({
        task: V1_SPEC.task,
        docs: [],
        memory: false,
        deliver: "none",
        secrets: [],
      });

      const [run] = await listRuns(store.db, { routineId: routine!.id });
      expect(run).toMatchObject({
        status: "succeeded",
        summary: "nightly passed",
        costUsd: 0.02,
        unverified: false,
        delivery: null,
      });
      expect(run!.usage.tokensIn).toBe(1500);
      expect((await listRunEvents(store.db, run!.id)).map((event) => event.type)).toEqual(["status", "log"]);
      expect(await getMemory(store.db, routine!.id)).toEqual({
        content: "- make nightly is slow\n",
        updatedAt: T0,
      });
      expect(await getSetting(store.db, "config")).toEqual({ channels: {} });
      expect(await spentUsd(store.db, { from: T0, to: T0 + DAY })).toBeCloseTo(0.02);

      // And the current code writes next to it: a new run, new spend, a pause.
      const { runId } = await fireRoutine(store, "nightly", { now: T0 + 2 * DAY });
      expect((await findRun(store.db, runId))?.status).toBe("queued");
      await recordLedger(store.db, [
        {
          at: T0 + 2 * DAY,
          routineId: routine!.id,
          routineName: "nightly",
          runId,
          attempt: 1,
          harness: "claude",
          model: "sonnet",
          tier: "cheap",
          usage: { tokensIn: 10, tokensOut: 5, tokensCached: 0, tokensReasoning: 0 },
          costUsd: 0.01,
          costSource: "gateway",
        },
      ]);
      expect(await costReport(store.db, { by: "routine", since: T0 })).toMatchObject([{ key: "nightly" }]);
      await setRoutineState(store.db, routine!.id, {
        state: "paused",
        pausedReason: "user",
        pausedCode: "user",
        nextDueAt: null,
        now: T0 + 2 * DAY,
      });
      const exported = await exportHome(store, { now: T0 + 3 * DAY, loopdVersion: "test" });
      expect(exported.routines.map((entry) => [entry.name, entry.state])).toEqual([["nightly", "paused"]]);
      expect(exported.ledger).toHaveLength(2);
    } finally {
      await store.close();
    }
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
