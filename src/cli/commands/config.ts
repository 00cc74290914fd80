/** `loopd init`, `loopd apply`, `loopd schema`: config-as-code. */
import { basename } from "node:path";
import type { Command } from "commander";
import type { ApplyResult } from "../../app/apply-config.js";
import { writeExampleConfig, writeTemplateConfig } from "../../app/init-config.js";
import { configJsonSchema } from "../../domain/config-schema.js";
import type { CommandContext } from "../context.js";
import { pc } from "../format.js";

import type { Run } from "../program.js";

export function registerConfigCommands(program: Command, run: Run): void {
  program
    .command("init")
    .description("write a commented example loopd.yaml (or, with --template, a built-in template's routine)")
    .option("-f, --file <path>", "file to write", "loopd.yaml")
    .option(
      "--template <name>",
      "write this template's routine; appended when the file exists (`loopd templates`)",
    )
    .option("--force", "overwrite an existing file")
    .action(
      run(async (ctx: CommandContext, options: { file: string; force?: boolean; template?: string }) => {
        const force = options.force ?? false;
        const written = options.template
          ? await writeTemplateConfig(options.file, options.template, { force })
          : { ...(await writeExampleConfig(options.file, { force })), appended: false, chose: undefined };
        const apply = `loopd apply${options.file === "loopd.yaml" ? "" : ` -f ${options.file}`}`;
        const json = { file: written.path, schema: written.schema, appended: written.appended };
        ctx.print(written.chose !== undefined ? { ...json, testCommand: written.chose } : json, () =>
          [
            options.template
              ? `${written.appended ? "Added" : "Wrote"} the ${options.template} routine ${written.appended ? "to" : "in"} ${options.file} (and ${basename(written.schema)} beside it).`
              : `Wrote ${options.file} (and ${basename(written.schema)} beside it: the JSON Schema its $schema names, for editors).`,
            ...(written.chose !== undefined ? [`Test command: ${written.chose}.`] : []),
            "Next:",
            ...(options.template && written.chose === undefined
              ? [`  edit ${options.file}   fill in the repository (<owner>/<name>) and verify`]
              : []),
            `  ${apply}   create the routines in the store`,
            "  loopd ls      see them and when they are due",
          ].join("\n"),
        );
      }),
    );

  program
    .command("apply")
    .description("make the store match loopd.yaml: create, update and pause routines; print the diff")
    .option("-f, --file <path>", "config file", "loopd.yaml")
    .option("--dry-run", "show what would change, change nothing")
    .option("--prune", "remove (instead of pause) routines this file no longer declares")
    .action(
      run(async (ctx: CommandContext, options: { file: string; dryRun?: boolean; prune?: boolean }) => {
        // The client wakes the daemon (on PostgreSQL: every process) to schedule the change now.
        const { location, ...result } = await (await ctx.client()).applyConfig({
          file: options.file,
          dryRun: options.dryRun ?? false,
          prune: options.prune ?? false,
        });
        ctx.print(result, () => renderApply(result, options.file, location));
      }),
    );

  program
    .command("schema")
    .description("print the loopd.yaml JSON Schema")
    .action(
      run(async (ctx: CommandContext) => {
        // The schema is JSON either way.
        ctx.io.stdout(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      }),
    );
}

const SIGNS: Record<ApplyResult["changes"][number]["action"], string> = {
  create: pc.green("+"),
  update: pc.yellow("~"),
  unchanged: pc.dim("="),
  resume: pc.yellow("~"),
  pause: pc.yellow("‖"),
  remove: pc.red("-"),
};

const VERBS: Record<ApplyResult["changes"][number]["action"], string> = {
  create: "created",
  update: "updated",
  unchanged: "unchanged",
  resume: "resumed",
  pause: "paused",
  remove: "removed",
};

function renderApply(result: ApplyResult, file: string, location: string): string {
  const lines = [`${file} → ${location}${result.dryRun ? pc.yellow(" (dry run: nothing written)") : ""}`];
  const width = Math.max(0, ...result.changes.map((change) => change.name.length));
  for (const change of result.changes) {
    const verb =
      result.dryRun && change.action !== "unchanged"
        ? `would be ${VERBS[change.action]}`
        : VERBS[change.action];
    const detail = [change.reason, change.fields?.join(", ")].filter(Boolean).join(" · ");
    lines.push(
      `  ${SIGNS[change.action]} ${change.name.padEnd(width)}  ${verb}${detail ? pc.dim(`  ${detail}`) : ""}`,
    );
  }
  if (result.changes.length === 0) lines.push(pc.dim("  no routines declared"));
  if (result.settings.length > 0) {
    lines.push(
      `  ${pc.yellow("~")} settings${" ".repeat(Math.max(0, width - 8))}  ${result.dryRun ? "would be updated" : "updated"}${pc.dim(`  ${result.settings.join(", ")}`)}`,
    );
  }
  const counts = new Map<string, number>();
  for (const change of result.changes) counts.set(change.action, (counts.get(change.action) ?? 0) + 1);
  const summary = (["create", "update", "resume", "pause", "remove", "unchanged"] as const)
    .filter((action) => counts.has(action))
    .map((action) => `${counts.get(action)} ${VERBS[action]}`)
    .join(", ");
  if (summary) lines.push(summary);
  return lines.join("\n");
}
