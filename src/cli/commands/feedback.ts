/** `loopd feedback [--routine name] [--all]`: the themes feedback-triage routines found, largest first. */
import type { Command } from "commander";
import type { FeedbackClusterView } from "../../app/feedback.js";
import type { CommandContext } from "../context.js";
import { pc, relativeTime, table } from "../format.js";
import type { Run } from "../program.js";

export function registerFeedbackCommands(program: Command, run: Run): void {
  program
    .command("feedback")
    .description(
      "list the feedback themes of feedback-triage routines: id, size, change, representative items",
    )
    .option("--routine <name>", "only this routine's themes")
    .option("--all", "resolved themes too")
    .action(
      run(async (ctx: CommandContext, options: { routine?: string; all?: boolean }) => {
        const clusters = await (await ctx.client()).feedbackClusters({
          ...(options.routine !== undefined ? { routine: options.routine } : {}),
          all: options.all === true,
        });
        ctx.print(clusters, () => render(clusters, ctx.io.now()));
      }),
    );
}

function render(clusters: FeedbackClusterView[], now: number): string {
  if (clusters.length === 0) {
    return "No feedback themes yet. A `template: feedback-triage` routine finds them each run (`loopd init --template feedback-triage`).";
  }
  const lines = [
    table(
      ["ROUTINE", "ID", "THEME", "ITEMS", "STATUS", "UPDATED"],
      clusters.map((cluster) => [
        cluster.routine,
        cluster.id,
        cluster.title ?? cluster.label,
        String(cluster.size),
        status(cluster),
        relativeTime(cluster.updatedAt, now),
      ]),
    ),
  ];
  for (const cluster of clusters.filter((c) => c.status !== "resolved").slice(0, 10)) {
    lines.push("", `${pc.bold(cluster.id)} ${cluster.title ?? cluster.label}`);
    for (const item of cluster.representatives) {
      const text = item.text.replace(/\s+/g, " ").trim();
      lines.push(
        `  - ${text.length > 90 ? `${text.slice(0, 89)}…` : text}${item.url ? pc.dim(` ${item.url}`) : ""}`,
      );
    }
  }
  return lines.join("\n");
}

function status(cluster: FeedbackClusterView): string {
  const delta = cluster.size - cluster.previousSize;
  switch (cluster.status) {
    case "new":
      return pc.cyan("new");
    case "growing":
      return pc.yellow(`growing +${delta}`);
    case "shrinking":
      return pc.green(`shrinking ${delta}`);
    case "resolved":
      return pc.dim("resolved");
    default:
      return "steady";
  }
}
