/** `loopd checks [--all]`: open watches, their next evaluation, deadline and last evidence. */
import type { Command } from "commander";
import type { CheckView } from "../../app/checks.js";
import type { CommandContext } from "../context.js";
import { pc, relativeTime, table } from "../format.js";
import type { Run } from "../program.js";

export function registerCheckCommands(program: Command, run: Run): void {
  program
    .command("checks")
    .description("list open watches: their check, next evaluation, deadline and last evidence")
    .option("--all", "include watches that are over (satisfied, deadline passed, one-shots done)")
    .action(
      run(async (ctx: CommandContext, options: { all?: boolean }) => {
        const all = options.all === true;
        const views = await (await ctx.client()).listChecks({ all });
        ctx.print(views, () =>
          views.length === 0
            ? options.all
              ? 'No watches. Create one with `loopd remind "<sentence>"` or a `check:` in loopd.yaml.'
              : "No open watches (`--all` shows finished ones)."
            : checksTable(views, ctx.io.now()),
        );
      }),
    );
}

function checksTable(views: CheckView[], now: number): string {
  return table(
    ["ROUTINE", "STATE", "CHECK", "NEXT", "DEADLINE", "LAST"],
    views.map((view) => [
      view.routine,
      colourState(view.state),
      view.check,
      view.nextEvaluationAt ? relativeTime(view.nextEvaluationAt, now) : pc.dim("—"),
      view.deadline ? relativeTime(view.deadline, now) : pc.dim("—"),
      lastEvidence(view),
    ]),
  );
}

function lastEvidence(view: CheckView): string {
  if (!view.last) return pc.dim("not evaluated yet");
  const mark =
    view.last.status === "satisfied"
      ? pc.green("✓")
      : view.last.status === "unsatisfied"
        ? pc.yellow("✗")
        : pc.red("!");
  const summary = view.last.summary ?? "";
  return `${mark} ${summary.length > 80 ? `${summary.slice(0, 79)}…` : summary}`;
}

function colourState(state: CheckView["state"]): string {
  switch (state) {
    case "open":
      return pc.cyan(state);
    case "satisfied":
      return pc.green(state);
    case "missed":
      return pc.red(state);
    default:
      return pc.dim(state);
  }
}
