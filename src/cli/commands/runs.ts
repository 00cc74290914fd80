/** `loopd runs [routine]`. */

import { type Command, Option } from "commander";
import type { RunView } from "../../app/views.js";
import { formatDuration } from "../../domain/duration.js";
import { formatUsd } from "../../domain/money.js";
import { RUN_STATUSES, type RunStatus } from "../../domain/run-status.js";
import type { CommandContext } from "../context.js";
import { colourOutcome, pc, relativeTime, table } from "../format.js";
import type { Run } from "../program.js";
import { parseCount } from "./routines.js";

export function registerRunCommands(program: Command, run: Run): void {
  program
    .command("runs")
    .description("list recent runs, newest first")
    .argument("[routine]", "only this routine's runs")
    .addOption(new Option("--status <status>", "only runs in this state").choices(RUN_STATUSES))
    .option("-n, --limit <n>", "how many", parseCount, 20)
    .action(
      run(
        async (
          ctx: CommandContext,
          routine: string | undefined,
          options: { status?: RunStatus; limit: number },
        ) => {
          const filter = {
            ...(routine !== undefined ? { routine } : {}),
            ...(options.status !== undefined ? { status: options.status } : {}),
            limit: options.limit,
          };
          const runs = await (await ctx.client()).listRuns(filter);
          ctx.print(runs, () =>
            runs.length === 0
              ? `No runs${routine ? ` of ${routine}` : ""} yet.`
              : runsTable(runs, ctx.io.now(), routine === undefined),
          );
        },
      ),
    );
}

export function runsTable(runs: RunView[], now: number, withRoutine: boolean): string {
  const headers = [
    "RUN",
    ...(withRoutine ? ["ROUTINE"] : []),
    "DUE",
    "STATUS",
    "ATTEMPT",
    "DURATION",
    "COST",
    "WORK",
    "SUMMARY",
  ];
  return table(
    headers,
    runs.map((run) => [
      String(run.id),
      ...(withRoutine ? [run.routine] : []),
      relativeTime(run.dueAt, now),
      colourOutcome(run) + (run.unverified ? pc.yellow(" unverified") : ""),
      `${run.attempt}/${run.maxAttempts}`,
      run.durationMs === null ? pc.dim("—") : formatDuration(run.durationMs),
      formatCost(run.costUsd, run.usage.tokensIn + run.usage.tokensOut),
      workOf(run),
      summaryOf(run),
    ]),
  );
}

/** A run's cost; a free run says whether it used tokens loopd could not price. */
export function formatCost(usd: number, tokens: number): string {
  if (usd === 0) return tokens > 0 ? pc.dim("$0 (unpriced)") : pc.dim("—");
  return formatUsd(usd);
}

/** The run's delivered commit (↑ when pushed), or that its delivery failed. */
function workOf(run: RunView): string {
  const delivery = run.delivery;
  if (!delivery) return pc.dim("—");
  if (delivery.commit === null) return pc.red("not committed");
  const commit = delivery.commit.slice(0, 8);
  if (delivery.pushed) return `${commit} ↑`;
  return delivery.error ? `${commit} ${pc.red("push failed")}` : commit;
}

function summaryOf(run: RunView): string {
  const text = run.error?.message ?? run.reason ?? run.summary ?? "";
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}
