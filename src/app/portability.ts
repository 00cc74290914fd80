/**
 * `loopd export` / `loopd import`: a home's state as one versioned JSON document
 * (domain/export-document.ts), read from and written to either store.
 *
 * Import merges, keyed by name: a setting by its key, a routine by its name, memory by its
 * routine, a loop item by routine and item, a ledger row by all its fields. What the home
 * lacks is added; what it holds already and equals the file's is left alone, so importing the
 * same file twice changes nothing. A routine with the same spec (hash) counts as equal and
 * keeps this home's scheduling and health state. Anything else that differs is a conflict:
 * the import refuses (LOOPD_IMPORT_CONFLICT) and writes nothing, unless `replace` lets the
 * file's version win. Entries of the home the file does not mention are kept. All of it is
 * one write transaction.
 */
import { canonicalJson } from "../domain/canonical-json.js";
import { LoopdError } from "../domain/errors.js";
import {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type ExportDocument,
  type ExportedLedgerRow,
} from "../domain/export-document.js";
import { createWakeBus } from "../engine/wake.js";
import {
  insertLedgerRows,
  readPortableState,
  routineIdsByName,
  writeLoopItem,
  writeMemory,
  writeRoutine,
  writeSetting,
} from "../store/portable.js";
import type { Db, Store } from "../store/store.js";
import { storeOptionsFromEnv } from "./open-store.js";

export async function exportHome(
  store: Store,
  options: { now: number; loopdVersion: string },
): Promise<ExportDocument> {
  const state = await snapshot(store, readPortableState);
  const { schemaVersion, ...rest } = state;
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date(options.now).toISOString(),
    loopdVersion: options.loopdVersion,
    schemaVersion,
    ...rest,
  };
}

export interface SectionReport {
  added: number;
  replaced: number;
  unchanged: number;
}

export interface ImportReport {
  settings: SectionReport;
  routines: SectionReport;
  memory: SectionReport;
  loopItems: SectionReport;
  ledger: { added: number; unchanged: number };
  /** What differed from this home (written over only with `replace`). */
  conflicts: string[];
}

export async function importHome(
  store: Store,
  document: ExportDocument,
  options: { replace: boolean },
): Promise<ImportReport> {
  checkReferences(document);
  return store.writeTransaction(async (trx) => {
    const current = await readPortableState(trx);
    const report: ImportReport = {
      settings: section(),
      routines: section(),
      memory: section(),
      loopItems: section(),
      ledger: { added: 0, unchanged: 0 },
      conflicts: [],
    };
    const writes: Array<(db: Db, ids: Map<string, number>) => Promise<void>> = [];

    const settings = new Map(current.settings.map((setting) => [setting.key, setting]));
    for (const setting of document.settings) {
      const held = settings.get(setting.key);
      const verdict = compare(held, same(held?.value, setting.value), equal(held, setting));
      tally(report, "settings", verdict, options.replace, `setting ${setting.key}`);
      if (shouldWrite(verdict, options.replace)) writes.push((db) => writeSetting(db, setting));
    }

    const routines = new Map(current.routines.map((routine) => [routine.name, routine]));
    const ids = await routineIdsByName(trx);
    for (const routine of document.routines) {
      const held = routines.get(routine.name);
      const verdict = compare(held, held?.specHash === routine.specHash, equal(held, routine));
      tally(report, "routines", verdict, options.replace, `routine ${routine.name} (its spec differs)`);
      if (shouldWrite(verdict, options.replace)) {
        writes.push(async (db, routineIds) => {
          routineIds.set(routine.name, await writeRoutine(db, routine, routineIds.get(routine.name)));
        });
      }
    }

    const memory = new Map(current.memory.map((entry) => [entry.routine, entry]));
    for (const entry of document.memory) {
      const held = memory.get(entry.routine);
      const verdict = compare(held, held?.content === entry.content, equal(held, entry));
      tally(report, "memory", verdict, options.replace, `memory of ${entry.routine}`);
      if (shouldWrite(verdict, options.replace)) {
        writes.push((db, routineIds) => writeMemory(db, routineIds.get(entry.routine)!, entry));
      }
    }

    const items = new Map(current.loopItems.map((entry) => [`${entry.routine}\n${entry.item}`, entry]));
    for (const entry of document.loopItems) {
      const held = items.get(`${entry.routine}\n${entry.item}`);
      const verdict = compare(held, same(held?.state, entry.state), equal(held, entry));
      tally(report, "loopItems", verdict, options.replace, `loop item ${entry.item} of ${entry.routine}`);
      if (shouldWrite(verdict, options.replace)) {
        writes.push((db, routineIds) => writeLoopItem(db, routineIds.get(entry.routine)!, entry));
      }
    }

    const ledger = newLedgerRows(current.ledger, document.ledger);
    report.ledger = { added: ledger.length, unchanged: document.ledger.length - ledger.length };

    if (report.conflicts.length > 0 && !options.replace) {
      const shown = report.conflicts.slice(0, 5).join("; ");
      const more = report.conflicts.length > 5 ? `; and ${report.conflicts.length - 5} more` : "";
      throw new LoopdError(
        "LOOPD_IMPORT_CONFLICT",
        `${report.conflicts.length} entr${report.conflicts.length === 1 ? "y differs" : "ies differ"} from this home's: ${shown}${more}; nothing was imported`,
        { details: { conflicts: report.conflicts } },
      );
    }
    for (const write of writes) await write(trx, ids);
    await insertLedgerRows(trx, ledger, ids);
    return report;
  });
}

/** Tells a running daemon (any worker, on PostgreSQL) that routines changed. */
export async function wakeAfterImport(store: Store, home: string, env: NodeJS.ProcessEnv): Promise<void> {
  const bus = createWakeBus(store, storeOptionsFromEnv(home, env), home);
  try {
    await bus.notify();
  } finally {
    await bus.close();
  }
}

/** Memory and loop items name routines the file itself defines. */
function checkReferences(document: ExportDocument): void {
  const names = new Set(document.routines.map((routine) => routine.name));
  for (const entry of [...document.memory, ...document.loopItems]) {
    if (!names.has(entry.routine)) {
      throw new LoopdError(
        "LOOPD_IMPORT_INVALID",
        `the file holds state for routine ${entry.routine}, which it does not define`,
      );
    }
  }
}

/** PostgreSQL: one repeatable-read snapshot; SQLite: one read transaction (a snapshot in WAL). */
function snapshot<T>(store: Store, read: (db: Db) => Promise<T>): Promise<T> {
  const transaction = store.db.transaction();
  return (
    store.dialect === "postgres" ? transaction.setIsolationLevel("repeatable read") : transaction
  ).execute(read);
}

type Verdict = "absent" | "identical" | "equivalent" | "conflict";

/** absent; identical (every field); equivalent (same content, other bookkeeping); conflict. */
function compare(held: unknown, sameContent: boolean, identical: boolean): Verdict {
  if (held === undefined) return "absent";
  if (identical) return "identical";
  return sameContent ? "equivalent" : "conflict";
}

function shouldWrite(verdict: Verdict, replace: boolean): boolean {
  if (verdict === "absent") return true;
  return replace && verdict !== "identical";
}

function tally(
  report: ImportReport,
  key: "settings" | "routines" | "memory" | "loopItems",
  verdict: Verdict,
  replace: boolean,
  conflict: string,
): void {
  if (verdict === "conflict") report.conflicts.push(conflict);
  if (verdict === "absent") report[key].added++;
  else if (shouldWrite(verdict, replace)) report[key].replaced++;
  else report[key].unchanged++;
}

function section(): SectionReport {
  return { added: 0, replaced: 0, unchanged: 0 };
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function equal(held: unknown, incoming: unknown): boolean {
  return held !== undefined && same(held, incoming);
}

/** The file's ledger rows this home lacks, counting repeats (two equal rows are two rows). */
function newLedgerRows(
  held: readonly ExportedLedgerRow[],
  incoming: readonly ExportedLedgerRow[],
): ExportedLedgerRow[] {
  const counts = new Map<string, number>();
  for (const row of held) counts.set(canonicalJson(row), (counts.get(canonicalJson(row)) ?? 0) + 1);
  return incoming.filter((row) => {
    const key = canonicalJson(row);
    const left = counts.get(key) ?? 0;
    if (left === 0) return true;
    counts.set(key, left - 1);
    return false;
  });
}
