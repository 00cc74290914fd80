/** `loopd status`: the daemon at a glance, from the store or through LOOPD_URL (GET /api/v1/status). */
import type { Command } from "commander";
import type { StatusView } from "../../app/status.js";
import { formatUsd } from "../../domain/money.js";
import type { CommandContext } from "../context.js";
import { pc, relativeTime } from "../format.js";
import { packageVersion, type Run } from "../program.js";

export function registerStatusCommand(program: Command, run: Run): void {
  program
    .command("status")
    .description(
      "the daemon at a glance: version, store and schema, workers seen in the last two minutes, next due, failing and paused routines, spend today",
    )
    .action(
      run(async (ctx: CommandContext) => {
        const view = await (await ctx.client()).status({ version: packageVersion() });
        ctx.print(view, () => renderStatus(view, ctx.io.now()));
      }),
    );
}

export function renderStatus(view: StatusView, now: number): string {
  const { store } = view;
  const schema =
    store.schemaVersion === store.latestSchemaVersion
      ? `schema ${store.schemaVersion}`
      : pc.yellow(`schema ${store.schemaVersion ?? "none"} of ${store.latestSchemaVersion}`);
  const daemon = view.daemon
    ? `${pc.green("up")} ${pc.dim(`pid ${view.daemon.pid}${view.daemon.url ? ` · ${view.daemon.url}` : ""}`)}`
    : pc.yellow("no `loopd serve` for this data dir");
  const workers =
    view.workers.length === 0
      ? pc.yellow("none seen in the last two minutes")
      : view.workers
          .map(
            (worker) =>
              `${worker.id} ${pc.dim(`(${worker.host} pid ${worker.pid}${worker.labels.length > 0 ? ` · ${worker.labels.join(",")}` : ""})`)}`,
          )
          .join(", ");
  const next = view.next
    ? `${view.next.routine} ${pc.dim(`${relativeTime(view.next.dueAt, now)} (${view.next.dueAt})`)}`
    : pc.dim("nothing scheduled");
  const lines = [
    `${pc.bold(`loopd ${view.version}`)}`,
    `store:    ${store.kind} ${store.location} ${pc.dim(`· ${schema}`)}`,
    `daemon:   ${daemon}`,
    `workers:  ${workers}`,
    `runs:     ${view.runs.running} running · ${view.runs.queued} queued`,
    `next due: ${next}`,
    `spend:    ${formatUsd(view.spendToday.costUsd)} today ${pc.dim(`(${view.spendToday.day} UTC)`)}`,
  ];
  if (view.failing.length > 0) {
    lines.push(
      "",
      pc.red(`failing (${view.failing.length}):`),
      ...view.failing.map(
        (entry) =>
          `  ${pc.red("✗")} ${entry.routine} ${pc.dim(`${entry.consecutiveFailures} in a row${entry.lastError ? ` · ${entry.lastError.code ?? "error"}: ${entry.lastError.message}` : ""}`)}`,
      ),
    );
  }
  if (view.paused.length > 0) {
    lines.push(
      "",
      pc.yellow(`paused (${view.paused.length}):`),
      ...view.paused.map(
        (entry) =>
          `  ‖ ${entry.routine} ${pc.dim([entry.code, entry.reason].filter(Boolean).join(" · "))} ${pc.dim(`— \`loopd resume ${entry.routine}\``)}`,
      ),
    );
  }
  return lines.join("\n");
}
