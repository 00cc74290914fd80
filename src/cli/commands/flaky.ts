/** `loopd flaky [--routine name] [--all]`: the tests of ci-health routines, broken and flaky first. */
import type { Command } from "commander";
import type { FlakyTestView } from "../../app/flaky-tests.js";
import type { CommandContext } from "../context.js";
import { pc, relativeTime, table } from "../format.js";
import type { Run } from "../program.js";

export function registerFlakyCommands(program: Command, run: Run): void {
  program
    .command("flaky")
    .description("list the tests of ci-health routines: broken, flaky (with flake rate), new, recovered")
    .option("--routine <name>", "only this routine's tests")
    .option("--all", "list passing tests too (--json always has every test)")
    .action(
      run(async (ctx: CommandContext, options: { routine?: string; all?: boolean }) => {
        const tests = await (await ctx.client()).flakyTests(
          options.routine !== undefined ? { routine: options.routine } : {},
        );
        ctx.print(tests, () => render(tests, options.all === true, ctx.io.now()));
      }),
    );
}

function render(tests: FlakyTestView[], all: boolean, now: number): string {
  if (tests.length === 0) {
    return "No test results yet. A `template: ci-health` routine records them each run (`loopd init --template ci-health`).";
  }
  const shown = all ? tests : tests.filter((test) => test.class !== "passing" && test.class !== "skipped");
  const hidden = tests.length - shown.length;
  const lines: string[] = [];
  if (shown.length > 0) {
    lines.push(
      table(
        ["ROUTINE", "TEST", "CLASS", "FLAKE RATE", "SINCE", "LAST FAILURE"],
        shown.map((test) => [
          test.routine,
          test.testId,
          colourClass(test.class),
          test.runs > 0 ? `${Math.round(test.flakeRate * 100)}% of ${test.runs}` : "—",
          test.since
            ? `${relativeTime(test.since, now)}${test.sinceCommit ? ` @ ${short(test.sinceCommit)}` : ""}`
            : pc.dim("—"),
          firstLine(test.lastFailure),
        ]),
      ),
    );
  }
  if (hidden > 0) lines.push(pc.dim(`${hidden} passing or skipped test(s) not shown (--all lists them).`));
  return lines.join("\n");
}

function colourClass(name: FlakyTestView["class"]): string {
  switch (name) {
    case "broken":
      return pc.red(name);
    case "flaky":
      return pc.yellow(name);
    case "recovered":
    case "passing":
      return pc.green(name);
    default:
      return pc.cyan(name);
  }
}

function firstLine(message: string | null): string {
  const line = message
    ?.split("\n")
    .find((text) => text.trim() !== "")
    ?.trim();
  if (!line) return pc.dim("—");
  return line.length > 70 ? `${line.slice(0, 69)}…` : line;
}

function short(commit: string): string {
  return /^[0-9a-f]{40}$/.test(commit) ? commit.slice(0, 7) : commit;
}
