/** `loopd ls`, `show`, `pause`, `resume`, `rm`. */

import { dirname } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import type { RoutineDetail, RoutineListItem } from "../../app/routines.js";
import type { RoutineView } from "../../app/views.js";
import type { describeCheck as DescribeCheck } from "../../domain/check.js";
import { formatUsd } from "../../domain/money.js";
import type { CommandContext } from "../context.js";
import { colourStatus, pc, relativeTime, table, UNVERIFIED } from "../format.js";
import type { Run } from "../program.js";
import { runsTable } from "./runs.js";

export function registerRoutineCommands(program: Command, run: Run): void {
  program
    .command("ls")
    .description("list routines with their trigger, next due time and health")
    .action(
      run(async (ctx: CommandContext) => {
        const routines = await (await ctx.client()).listRoutines();
        ctx.print(routines, () => renderList(routines, ctx.io.now(), ctx.storeLabel()));
      }),
    );

  program
    .command("show")
    .description("show one routine: its settings, health and recent runs")
    .argument("<routine>", "routine name")
    .option("--runs <n>", "recent runs to show", parseCount, 5)
    .option("--expanded", "print the plain routine as loopd.yaml (a template expanded), to copy and edit")
    .action(
      run(async (ctx: CommandContext, name: string, options: { runs: number; expanded?: boolean }) => {
        const detail = await (await ctx.client()).showRoutine(name, { runs: options.runs });
        if (options.expanded) {
          const { shownRoutineYaml } = await import("../../app/shown-routine-yaml.js");
          const yaml = shownRoutineYaml(detail.spec, {
            expanded: true,
            ...(detail.source ? { configDir: dirname(detail.source) } : {}),
          });
          ctx.print({ name: detail.name, yaml }, () => yaml.trimEnd());
          return;
        }
        // Loaded for `show` only: check descriptions come with the config schema.
        const { describeCheck } = await import("../../domain/check.js");
        ctx.print(detail, () => renderDetail(detail, ctx.io.now(), describeCheck));
      }),
    );

  program
    .command("pause")
    .description("stop scheduling a routine (runs already going finish)")
    .argument("<routine>", "routine name")
    .option("--reason <text>", "why, shown in `loopd ls`")
    .action(
      run(async (ctx: CommandContext, name: string, options: { reason?: string }) => {
        const routine = await (await ctx.client()).pauseRoutine(name, options.reason);
        ctx.print(routine, () => `Paused ${routine.name}.`);
      }),
    );

  program
    .command("resume")
    .description("schedule a paused routine again from now (missed occurrences are not run)")
    .argument("<routine>", "routine name")
    .action(
      run(async (ctx: CommandContext, name: string) => {
        const routine = await (await ctx.client()).resumeRoutine(name);
        ctx.print(
          routine,
          () => `Resumed ${routine.name}; next run ${relativeTime(routine.nextDueAt, ctx.io.now())}.`,
        );
      }),
    );

  program
    .command("rm")
    .description("delete a routine with its runs and memory (costs stay in the ledger)")
    .argument("<routine>", "routine name")
    .action(
      run(async (ctx: CommandContext, name: string) => {
        const removed = await (await ctx.client()).removeRoutine(name);
        ctx.print({ removed: removed.name, source: removed.source }, () =>
          [
            `Removed ${removed.name}.`,
            ...(removed.source
              ? [pc.dim(`It is still declared in ${removed.source}; \`loopd apply\` would create it again.`)]
              : []),
          ].join("\n"),
        );
      }),
    );
}

function renderList(routines: RoutineListItem[], now: number, store: string): string {
  if (routines.length === 0) {
    // Say which store: an empty list from the wrong home looks exactly like a fresh start.
    return [
      `No routines yet in ${store}.`,
      "Run `loopd init` to write an example loopd.yaml, then `loopd apply`; `--home <dir>` picks another store.",
    ].join("\n");
  }
  // TODAY only when something spent today: a store of shell routines keeps its narrow table.
  const spent = routines.some((routine) => routine.costTodayUsd > 0);
  return table(
    ["NAME", "STATE", "TRIGGER", "NEXT", "LAST RUN", ...(spent ? ["TODAY"] : []), "HEALTH"],
    routines.map((routine) => [
      routine.name,
      colourStatus(routine.state),
      routine.trigger,
      routine.state === "paused"
        ? pc.dim("—")
        : routine.misfire
          ? pc.red(`missed ${relativeTime(routine.misfire.dueAt, now)}`)
          : relativeTime(routine.nextDueAt, now),
      routine.health.lastRunAt === null
        ? pc.dim("never")
        : `${routine.lastVerdict && routine.health.lastOutcome === "succeeded" ? (routine.lastVerdict === "satisfied" ? pc.green("satisfied") : pc.yellow("unsatisfied")) : colourStatus(routine.health.lastOutcome ?? "")}${routine.health.lastUnverified ? pc.yellow(" unverified") : ""} ${relativeTime(routine.health.lastRunAt, now)}`,
      ...(spent ? [routine.costTodayUsd > 0 ? formatUsd(routine.costTodayUsd) : pc.dim("—")] : []),
      health(routine),
    ]),
  );
}

function health(routine: RoutineView): string {
  // A misfire is the louder news: nothing runs at all, so the run health below is stale.
  if (routine.misfire) return pc.red("misfire: nothing is scheduling it (see `loopd doctor`)");
  const { consecutiveFailures, lastError } = routine.health;
  if (consecutiveFailures === 0) return routine.health.lastRunAt === null ? pc.dim("—") : pc.green("ok");
  const error = lastError ? ` ${lastError.code ?? ""} ${lastError.message}`.trimEnd() : "";
  return pc.red(`${consecutiveFailures} failing${error ? ":" : ""}`) + error;
}

function renderDetail(detail: RoutineDetail, now: number, describeCheck: typeof DescribeCheck): string {
  const spec = detail.spec;
  const task =
    spec.task.kind === "command"
      ? `command: ${spec.task.command}`
      : spec.task.kind === "check"
        ? `check: ${spec.check ? describeCheck(spec.check) : "?"}`
        : spec.template
          ? `template: ${spec.template.name} ${JSON.stringify(spec.template.params)}`
          : `prompt: ${firstLine(spec.task.prompt)}`;
  const fields: Array<[string, string]> = [
    ["name", detail.name],
    ...(detail.description ? [["description", detail.description] as [string, string]] : []),
    ["state", colourStatus(detail.state) + (detail.pausedReason ? pc.dim(` (${detail.pausedReason})`) : "")],
    ...(detail.pauseHint ? [["", pc.dim(`hint: ${detail.pauseHint}`)] as [string, string]] : []),
    ...(detail.misfire
      ? ([
          ["misfire", pc.red(`due ${relativeTime(detail.misfire.dueAt, now)} and nothing ran`)],
          ["", pc.dim(`hint: ${detail.misfire.hint}`)],
        ] as Array<[string, string]>)
      : []),
    ["trigger", detail.trigger],
    ["next", detail.nextDueAt ? `${relativeTime(detail.nextDueAt, now)} (${detail.nextDueAt})` : "—"],
    ["task", task],
    [
      "harness",
      spec.task.kind === "check" && spec.check?.kind !== "agent"
        ? pc.dim("— (loopd evaluates the check itself)")
        : [spec.harness, spec.tier && `tier ${spec.tier}`, spec.model].filter(Boolean).join(", "),
    ],
    ["repo", `${spec.repo} (${spec.workspace})`],
    [
      "deliver",
      spec.deliver === "push" && spec.push
        ? `push to ${spec.push.remote} ${spec.push.branch}`
        : spec.deliver === "pr" && spec.push
          ? `pull request from ${spec.push.remote} ${spec.push.branch}${spec.pr?.base ? ` into ${spec.pr.base}` : ""}`
          : (spec.deliver ?? "none"),
    ],
    [
      "limits",
      [`timeout ${spec.timeout}`, spec.maxTurns && `max ${spec.maxTurns} turns`, `${spec.retries} retries`]
        .filter(Boolean)
        .join(", "),
    ],
    ["policies", `catch-up ${spec.catchUp}, overlap ${spec.overlap}`],
    ["health", healthLine(detail, now)],
    ["source", detail.source ?? "—"],
  ];
  const width = Math.max(...fields.map(([label]) => label.length));
  const lines = fields.map(([label, value]) => `${pc.dim(label.padEnd(width))}  ${value}`);
  if (detail.watching) {
    lines.push("", pc.bold("Watching"));
    if (detail.watching.length === 0) lines.push(pc.dim("  nothing yet (the first tick looks)"));
    for (const item of detail.watching) {
      const next = item.nextLookAt ? pc.dim(` (next look ${relativeTime(item.nextLookAt, now)})`) : "";
      lines.push(`  ${item.item.padEnd(6)} ${item.status.padEnd(9)} ${item.note}${next}`);
    }
  }
  lines.push("", pc.bold("Recent runs"));
  lines.push(
    detail.recentRuns.length === 0 ? pc.dim("  none yet") : runsTable(detail.recentRuns, now, false),
  );
  return lines.join("\n");
}

function healthLine(detail: RoutineView, now: number): string {
  const { lastRunAt, lastOutcome, consecutiveFailures, lastSuccessAt, lastError } = detail.health;
  if (lastRunAt === null) return "never run";
  const unverified = detail.health.lastUnverified ? pc.yellow(` unverified (${UNVERIFIED})`) : "";
  const parts = [`last ${lastOutcome}${unverified} ${relativeTime(lastRunAt, now)}`];
  if (lastSuccessAt) parts.push(`last success ${relativeTime(lastSuccessAt, now)}`);
  if (consecutiveFailures > 0) parts.push(pc.red(`${consecutiveFailures} consecutive failures`));
  if (lastError) parts.push(`${lastError.code ?? "error"}: ${lastError.message}`);
  return parts.join(", ");
}

function firstLine(text: string): string {
  const line = text.trim().split("\n", 1)[0] ?? "";
  return line.length > 80 ? `${line.slice(0, 77)}…` : line;
}

export function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1)
    throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return count;
}
