import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import type { ExportDocument } from "../domain/export-document.js";
import { parseExportDocument } from "../domain/export-document.js";
import { recordLedger } from "../store/ledger.js";
import { putLoopItem } from "../store/loop-items.js";
import { getMemory, putMemory } from "../store/memory.js";
import type { Dialect } from "../store/migrations/migration.js";
import { findRoutineByName } from "../store/routines.js";
import { applyConfig } from "./apply-config.js";
import { exportHome, importHome } from "./portability.js";

const T0 = Date.parse("2026-12-01T09:00:00Z");
const dialects = await testDialects();
const dir = mkdtempSync(join(tmpdir(), "loopd-portability-"));
const stores: TestStore[] = [];

afterAll(async () => {
  for (const store of stores) await store.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function store(dialect: Dialect): Promise<TestStore> {
  const opened = await openTestStore(dialect);
  stores.push(opened);
  return opened;
}

/** A home with routines, a watch with a verdict, memory, a loop item, settings and spend. */
async function populate(home: TestStore): Promise<void> {
  const yaml = `channels:
  me: { type: webhook, url: "http://127.0.0.1:9/hook" }
routines:
  - name: nightly
    repo: .
    every: 1d
    command: echo nightly
  - name: release-ci
    repo: .
    every: 2h
    check: { command: "test -f RELEASED" }
    notify: { to: me }
`;
  await applyConfig(home.store, {
    file: join(dir, "loopd.yaml"),
    sent: { text: yaml, dir },
    dryRun: false,
    prune: false,
    now: T0,
  });
  const nightly = await findRoutineByName(home.store.db, "nightly");
  const watch = await findRoutineByName(home.store.db, "release-ci");
  await home.store.db
    .updateTable("routines")
    .set({
      last_verdict: "unsatisfied",
      unchanged_verdicts: 2,
      last_run_at: T0 + 60_000,
      last_outcome: "succeeded",
    })
    .where("id", "=", watch!.id)
    .execute();
  await putMemory(home.store.db, nightly!.id, "- the suite takes 4 minutes\n", T0 + 1);
  await putLoopItem(home.store.db, nightly!.id, "pr#12", { head: "abc", fixes: 1 }, T0 + 2);
  const usage = { tokensIn: 1200, tokensOut: 300, tokensCached: 50, tokensReasoning: 0 };
  await recordLedger(home.store.db, [
    {
      at: T0 + 10,
      routineId: nightly!.id,
      routineName: "nightly",
      runId: 7,
      attempt: 1,
      harness: "claude",
      model: "sonnet",
      tier: "cheap",
      usage,
      costUsd: 0.0125,
      costSource: "reported",
    },
    // Two equal rows are two requests: both travel.
    {
      at: T0 + 20,
      routineId: watch!.id,
      routineName: "release-ci",
      runId: 8,
      attempt: 1,
      harness: "builtin",
      model: "m",
      tier: null,
      usage,
      costUsd: 0.5,
      costSource: "gateway",
    },
    {
      at: T0 + 20,
      routineId: watch!.id,
      routineName: "release-ci",
      runId: 8,
      attempt: 1,
      harness: "builtin",
      model: "m",
      tier: null,
      usage,
      costUsd: 0.5,
      costSource: "gateway",
    },
    // Spend of a routine removed since keeps its name.
    {
      at: T0 + 30,
      routineId: null,
      routineName: "gone",
      runId: null,
      attempt: null,
      harness: "codex",
      model: "gpt",
      tier: null,
      usage,
      costUsd: 1,
      costSource: "priced",
    },
  ]);
}

/** What must survive a move: everything except when and by which loopd it was exported. */
function portable(document: ExportDocument) {
  const { exportedAt: _at, loopdVersion: _version, ...rest } = document;
  return rest;
}

function exportOf(home: TestStore, now = T0 + 3_600_000): Promise<ExportDocument> {
  return exportHome(home.store, { now, loopdVersion: "test" });
}

/** Through text, as the CLI does: what is written is what is read. */
function viaFile(document: ExportDocument): ExportDocument {
  return parseExportDocument(JSON.stringify(document), "export.json");
}

// Across dialects both ways (SQLite alone when there is no PostgreSQL server).
const pairs: Array<[Dialect, Dialect]> =
  dialects.length === 2
    ? [
        ["sqlite", "postgres"],
        ["postgres", "sqlite"],
      ]
    : [["sqlite", "sqlite"]];

describe.each(pairs)("export from %s, import into %s", (from, to) => {
  let source: TestStore;
  let target: TestStore;
  let exported: ExportDocument;

  beforeAll(async () => {
    source = await store(from);
    target = await store(to);
    await populate(source);
    exported = viaFile(await exportOf(source));
  });

  it("round-trips: the target's export equals the source's", async () => {
    expect(exported.routines.map((routine) => routine.name)).toEqual(["nightly", "release-ci"]);
    expect(exported.ledger).toHaveLength(4);
    const report = await importHome(target.store, exported, { replace: false });
    expect(report).toMatchObject({
      routines: { added: 2, replaced: 0, unchanged: 0 },
      memory: { added: 1 },
      loopItems: { added: 1 },
      settings: { added: 1 },
      ledger: { added: 4, unchanged: 0 },
      conflicts: [],
    });
    expect(portable(await exportOf(target))).toEqual(portable(exported));
    // Usable through the store API: memory is found by the new routine id.
    const nightly = await findRoutineByName(target.store.db, "nightly");
    expect((await getMemory(target.store.db, nightly!.id))?.content).toBe("- the suite takes 4 minutes\n");
    expect(nightly?.spec.task).toEqual({ kind: "command", command: "echo nightly" });
  });

  it("imports the same file again without change", async () => {
    const report = await importHome(target.store, exported, { replace: false });
    expect(report).toMatchObject({
      routines: { added: 0, replaced: 0, unchanged: 2 },
      ledger: { added: 0, unchanged: 4 },
      conflicts: [],
    });
    expect(portable(await exportOf(target))).toEqual(portable(exported));
  });

  it("refuses entries that differ, writing nothing, unless --replace", async () => {
    const changed = structuredClone(exported);
    changed.memory[0]!.content = "- something else\n";
    changed.routines[0]!.specHash = "other";
    changed.routines[0]!.spec = { ...changed.routines[0]!.spec, timeout: "2h" };
    changed.ledger.push({ ...changed.ledger[0]!, at: T0 + 99 });
    await expect(importHome(target.store, changed, { replace: false })).rejects.toMatchObject({
      code: "LOOPD_IMPORT_CONFLICT",
      details: { conflicts: ["routine nightly (its spec differs)", "memory of nightly"] },
    });
    expect(portable(await exportOf(target))).toEqual(portable(exported));

    const report = await importHome(target.store, changed, { replace: true });
    expect(report).toMatchObject({
      routines: { replaced: 1, unchanged: 1 },
      memory: { replaced: 1 },
      ledger: { added: 1 },
    });
    const after = await exportOf(target);
    expect(after.routines[0]).toEqual(changed.routines[0]);
    expect(after.memory[0]?.content).toBe("- something else\n");
    expect(after.ledger).toHaveLength(5);
  });
});

describe("reading an export file", () => {
  const valid = JSON.stringify({ format: "loopd-export", version: 1 });
  it("refuses a newer version with its own code and hint", () => {
    expect(() => parseExportDocument(valid.replace('"version":1', '"version":2'), "x.json")).toThrow(
      expect.objectContaining({
        code: "LOOPD_IMPORT_VERSION",
        hint: "Import it with the loopd that exported it, or upgrade this loopd first.",
      }),
    );
  });
  it("refuses what is not an export, and names the field that does not fit", () => {
    expect(() => parseExportDocument("{", "x.json")).toThrow(
      expect.objectContaining({ code: "LOOPD_IMPORT_INVALID" }),
    );
    expect(() => parseExportDocument('{"routines":[]}', "x.json")).toThrow(/not a loopd export/);
    expect(() => parseExportDocument(valid, "x.json")).toThrow(/x\.json: exportedAt: /);
  });
});
