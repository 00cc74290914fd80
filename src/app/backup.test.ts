import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { waitUntil } from "../../test/helpers/wait.js";
import { listRoutines } from "../store/routines.js";
import { openStore } from "../store/store.js";
import { backupHome } from "./backup.js";

const dir = mkdtempSync(join(tmpdir(), "loopd-backup-"));
const home = join(dir, "home");
const file = join(home, "loopd.db");
const env = { LOOPD_HOME: home };
let writer: ChildProcess | undefined;

beforeAll(async () => {
  const store = await openStore({ kind: "sqlite", file });
  await store.db
    .insertInto("routines")
    .values({
      name: "nightly",
      source: null,
      spec: JSON.stringify(shellSpec("nightly")),
      spec_hash: "h",
      repo: null,
      state: "active",
      created_at: 0,
      updated_at: 0,
    })
    .execute();
  await store.close();
});

afterAll(() => {
  writer?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Another process writing ledger rows as fast as it can, one transaction each, `at` = 1, 2, 3, … */
function startWriter(): ChildProcess {
  const script = `
    import Database from "better-sqlite3";
    const db = new Database(process.argv[1]);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    const insert = db.prepare("insert into ledger (at, day, routine_name, harness, model, tokens_in, tokens_out, tokens_cached, tokens_reasoning, cost_usd, cost_source) values (?, '2026-12-01', 'nightly', 'shell', 'none', 1, 1, 0, 0, 0.001, 'priced')");
    let n = 0;
    const burst = () => { for (let i = 0; i < 20; i++) insert.run(++n); setImmediate(burst); };
    burst();
  `;
  return spawn(process.execPath, ["--input-type=module", "-e", script, file], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    stdio: "ignore",
  });
}

function ledgerRows(path: string): { count: number; maxAt: number } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("select count(*) as count, coalesce(max(at), 0) as maxAt from ledger").get() as {
      count: number;
      maxAt: number;
    };
    return row;
  } finally {
    db.close();
  }
}

describe("loopd backup on SQLite", () => {
  it("copies one consistent state while another process writes", async () => {
    writer = startWriter();
    await waitUntil(() => ledgerRows(file).count >= 2000, "the writer has written 2,000 rows");
    const before = ledgerRows(file).count;
    const target = join(dir, "copy.db");
    const result = await backupHome(home, env, target, { force: false });
    const after = ledgerRows(file).count;
    writer.kill("SIGKILL");

    expect(result).toMatchObject({
      file: target,
      source: file,
      check: "ok",
      schemaVersion: expect.any(Number),
    });
    expect(statSync(target).mode & 0o777).toBe(0o600);
    const copied = ledgerRows(target);
    // A prefix of the writer's rows, none half-written: rows 1..n, all there.
    expect(copied.count).toBeGreaterThanOrEqual(before);
    expect(copied.count).toBeLessThanOrEqual(after);
    expect(copied.maxAt).toBe(copied.count);
    expect(after).toBeGreaterThan(before); // the writer really was writing during the copy

    // The copy is a store loopd opens as it is (restore: copy it back to loopd.db).
    const restored = await openStore({ kind: "sqlite", file: target });
    try {
      expect((await listRoutines(restored.db)).map((routine) => routine.name)).toEqual(["nightly"]);
    } finally {
      await restored.close();
    }
  });

  it("refuses to overwrite a file unless forced, and never the store itself", async () => {
    const target = join(dir, "taken.db");
    writeFileSync(target, "not a database");
    await expect(backupHome(home, env, target, { force: false })).rejects.toMatchObject({
      code: "LOOPD_BACKUP_EXISTS",
    });
    await expect(backupHome(home, env, target, { force: true })).resolves.toMatchObject({ check: "ok" });
    await expect(backupHome(home, env, file, { force: true })).rejects.toMatchObject({
      code: "LOOPD_BACKUP_EXISTS",
      message: `${file} is the store itself`,
    });
  });

  it("on PostgreSQL, answers with the pg_dump command for the configured store", async () => {
    const postgres = {
      LOOPD_DATABASE_URL: "postgres://loopd:s3cret@db.internal:5432/ops",
      LOOPD_DATABASE_SCHEMA: "loopd",
    };
    await expect(backupHome(home, postgres, "/backups/loopd.dump", { force: false })).rejects.toMatchObject({
      code: "LOOPD_BACKUP_POSTGRES",
      hint: "Run: pg_dump --format=custom --file=/backups/loopd.dump --schema=loopd postgres://loopd@db.internal:5432/ops (password from PGPASSWORD or ~/.pgpass)",
    });
  });
});
