/**
 * `loopd export`, `loopd import` and `loopd backup`: this machine's store (the home's SQLite
 * file or LOOPD_DATABASE_URL), like `doctor`, whatever LOOPD_URL names.
 */
import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { backupHome } from "../../app/backup.js";
import { exportHome, type ImportReport, importHome, wakeAfterImport } from "../../app/portability.js";
import { LoopdError } from "../../domain/errors.js";
import { parseExportDocument } from "../../domain/export-document.js";
import type { CommandContext } from "../context.js";
import { packageVersion, type Run } from "../program.js";

export function registerDataCommands(program: Command, run: Run): void {
  program
    .command("export")
    .description("write this home's routines, watches, memory, settings and cost ledger as one JSON document")
    .argument("[file]", "where to write it (default or -: stdout)")
    .action(
      run(async (ctx: CommandContext, file: string | undefined) => {
        const store = await ctx.localStore();
        const document = await exportHome(store, { now: ctx.io.now(), loopdVersion: packageVersion() });
        const text = `${JSON.stringify(document, null, 2)}\n`;
        if (file === undefined || file === "-") {
          ctx.io.stdout(text);
          return;
        }
        try {
          // Specs may hold hook secrets and settings channel URLs: the file is private.
          await writeFile(file, text, { mode: 0o600 });
        } catch (error) {
          throw new LoopdError(
            "LOOPD_FILE_WRITE_FAILED",
            `cannot write ${file}: ${(error as Error).message}`,
          );
        }
        const counts = {
          routines: document.routines.length,
          memory: document.memory.length,
          loopItems: document.loopItems.length,
          ledger: document.ledger.length,
          settings: document.settings.length,
        };
        ctx.print(
          { file, store: store.location, ...counts },
          () =>
            `Exported ${counts.routines} routines, ${counts.memory} memories, ${counts.loopItems} loop items, ` +
            `${counts.ledger} ledger rows and ${counts.settings} settings from ${store.location} to ${file}.`,
        );
      }),
    );

  program
    .command("import")
    .description("merge a `loopd export` file into this home (refuses entries that differ unless --replace)")
    .argument("<file>", "the export file (- for stdin)")
    .option("--replace", "where an entry differs from this home's, the file's version wins")
    .action(
      run(async (ctx: CommandContext, file: string, options: { replace?: boolean }) => {
        const text = await readInput(file);
        const document = parseExportDocument(text, file === "-" ? "stdin" : file);
        const store = await ctx.localStore();
        const report = await importHome(store, document, { replace: options.replace ?? false });
        await wakeAfterImport(store, ctx.home, ctx.io.env);
        ctx.print({ store: store.location, ...report }, () => renderImport(report, store.location));
      }),
    );

  program
    .command("backup")
    .description(
      "copy this home's SQLite store to a file while the daemon runs (PostgreSQL: prints the pg_dump)",
    )
    .argument("<file>", "the copy to write (0600)")
    .option("--force", "overwrite the file if it exists")
    .action(
      run(async (ctx: CommandContext, file: string, options: { force?: boolean }) => {
        const result = await backupHome(ctx.home, ctx.io.env, file, { force: options.force ?? false });
        ctx.print(
          result,
          () =>
            `Backed up ${result.source} to ${result.file} (${result.bytes} bytes, schema version ` +
            `${result.schemaVersion}, check: ${result.check}).\nRestore: stop the daemon, copy it back to ${result.source}.`,
        );
        if (result.check !== "ok") {
          throw new LoopdError(
            "LOOPD_FILE_WRITE_FAILED",
            `the copy at ${result.file} failed its check: ${result.check}`,
          );
        }
      }),
    );
}

async function readInput(file: string): Promise<string> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new LoopdError("LOOPD_IMPORT_INVALID", `cannot read ${file}: ${(error as Error).message}`);
  }
}

function renderImport(report: ImportReport, location: string): string {
  const line = (name: string, section: { added: number; replaced?: number; unchanged: number }) =>
    `  ${name.padEnd(11)} ${section.added} added, ${section.replaced ?? 0} replaced, ${section.unchanged} already here`;
  return [
    `Imported into ${location}:`,
    line("routines", report.routines),
    line("memory", report.memory),
    line("loop items", report.loopItems),
    line("ledger", report.ledger),
    line("settings", report.settings),
  ].join("\n");
}
