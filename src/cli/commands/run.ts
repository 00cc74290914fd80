/** `loopd run <routine>` (fire now, optionally wait and stream) and `loopd logs <run>`. */
import { type Command, InvalidArgumentError } from "commander";
import type { RunView } from "../../app/views.js";
import { formatDuration } from "../../domain/duration.js";
import { ERROR_CODES, type ErrorCode } from "../../domain/error-codes.js";
import { fillHint, isErrorCode } from "../../domain/error-hint.js";
import { LoopdError } from "../../domain/errors.js";
import { runOutcomeWord } from "../../domain/run-outcome.js";
import type { CommandContext } from "../context.js";
import { colourOutcome, pc, UNVERIFIED } from "../format.js";
import { printEvent } from "../print-run-event.js";
import type { Run } from "../program.js";

export function registerRunNowCommands(program: Command, run: Run): void {
  program
    .command("run")
    .description("fire a routine now; with --wait, stream its log and exit with its outcome")
    .argument("<routine>", "routine name")
    .option("--wait", "wait for the run to finish, streaming its output")
    .option("--text <text>", "text handed to the run (LOOPD_INPUT; appended to an agent's prompt)")
    .option("--force", "run it even though it paused itself for auth (its login failed)")
    .action(
      run(async (ctx: CommandContext, name: string, options: FireOptions) => {
        const client = await ctx.client();
        // With no daemon on SQLite the client executes the run in this process.
        const { runId, executedBy, done } = await client.fireRoutine(name, fireOptions(options));
        if (!options.wait) {
          ctx.print({ runId, executedBy }, () =>
            executedBy === "this process"
              ? `Ran ${name} as run ${runId}.`
              : `Queued ${name} as run ${runId}. Follow it with \`loopd logs ${runId} -f\`.`,
          );
          await done;
          return;
        }
        for await (const followed of client.followRun(runId)) {
          if (followed.kind === "end") return exitWithOutcome(ctx, followed.run);
          if (ctx.json) continue;
          if (followed.kind === "still-queued") stillQueued(ctx, runId);
          else printEvent(ctx, followed.event, { hints: false });
        }
      }),
    );

  program
    .command("logs")
    .description("print a run's log and events; -f follows it until it finishes")
    .argument("<run>", "run id", parseRunId)
    .option("-f, --follow", "keep printing until the run finishes")
    .action(
      run(async (ctx: CommandContext, runId: number, options: { follow?: boolean }) => {
        const client = await ctx.client();
        if (!options.follow) {
          const events = await client.listRunEvents(runId);
          if (ctx.json) ctx.print(events, () => "");
          else for (const event of events) printEvent(ctx, event);
          return;
        }
        for await (const followed of client.followRun(runId)) {
          if (followed.kind === "end") return;
          if (followed.kind === "still-queued") stillQueued(ctx, runId);
          else if (ctx.json) ctx.io.stdout(`${JSON.stringify(followed.event)}\n`);
          else printEvent(ctx, followed.event);
        }
      }),
    );
}

interface FireOptions {
  wait?: boolean;
  text?: string;
  force?: boolean;
}

function fireOptions(options: FireOptions): { input?: string; force?: boolean } {
  return {
    ...(options.text !== undefined ? { input: options.text } : {}),
    ...(options.force ? { force: true } : {}),
  };
}

function stillQueued(ctx: CommandContext, runId: number): void {
  ctx.io.stderr(
    pc.yellow(
      `run ${runId} is still queued: is \`loopd serve\` (or a \`loopd worker\`) running on this store?\n`,
    ),
  );
}

function exitWithOutcome(ctx: CommandContext, view: RunView): void {
  if (view.status === "succeeded" && view.verdict === "unsatisfied") {
    // A watch that looked and found the condition unmet: exit 1, like a failed check.
    if (!ctx.json)
      ctx.io.stdout(`${pc.yellow("✗")} ${view.routine} #${view.id} unsatisfied: ${view.summary ?? ""}\n`);
    throw new LoopdError(
      "LOOPD_CHECK_UNSATISFIED",
      `run ${view.id}: ${view.summary ?? "the check is not met"}`,
      {
        hint: `See the evidence with \`loopd show-run ${view.id}\`.`,
        details: { run: view },
      },
    );
  }
  if (view.status === "succeeded") {
    ctx.print(view, () =>
      view.unverified
        ? `${pc.yellow("!")} ${view.routine} #${view.id} succeeded${duration(view.durationMs)}, ${pc.yellow(`unverified: ${UNVERIFIED}`)}`
        : `${pc.green("✓")} ${view.routine} #${view.id} ${runOutcomeWord(view)}${duration(view.durationMs)}`,
    );
    return;
  }
  if (view.status === "skipped") skipped(ctx, view);
  if (!ctx.json)
    ctx.io.stdout(
      `${pc.red("✗")} ${view.routine} #${view.id} ${colourOutcome(view)}${duration(view.durationMs)}\n`,
    );
  const errorCode = view.error?.code ?? null;
  const code: ErrorCode = errorCode !== null && isErrorCode(errorCode) ? errorCode : "LOOPD_RUN_FAILED";
  throw new LoopdError(
    code,
    `run ${view.id} ${view.status}${view.error ? `: ${view.error.message}` : view.reason ? `: ${view.reason}` : ""}`,
    { hint: outcomeHint(view, code), details: { run: view } },
  );
}

/**
 * A run that never started: not a failure of its work, so no "read the log" (there is none) —
 * say why, and what to do: the run that blocks it, or the pause.
 */
function skipped(ctx: CommandContext, view: RunView): never {
  const reason = view.reason ?? "it did not start";
  if (!ctx.json) ctx.io.stdout(`${pc.yellow("–")} ${view.routine} #${view.id} skipped: ${reason}\n`);
  const blocking = /run (\d+) still running/.exec(reason)?.[1];
  const hint =
    blocking !== undefined
      ? `Run ${blocking} of ${view.routine} is still running (overlap: skip): follow it with \`loopd logs ${blocking} -f\` and run again when it ends, or set \`overlap: queue\` on ${view.routine} so a run waits its turn.`
      : /paused/.test(reason)
        ? `${view.routine} is paused: \`loopd resume ${view.routine}\`, then run it again.`
        : fillHint(ERROR_CODES.LOOPD_RUN_SKIPPED.hint, { routine: view.routine });
  throw new LoopdError("LOOPD_RUN_SKIPPED", `run ${view.id} skipped: ${reason}`, {
    hint,
    details: { run: view },
  });
}

/** The error's own hint (stored with the run), then the log command unless the hint already names it. */
function outcomeHint(view: RunView, code: ErrorCode): string {
  const specific =
    view.error?.hint ?? fillHint(ERROR_CODES[code].hint, { runId: view.id, routine: view.routine });
  const logs = `\`loopd logs ${view.id}\``;
  return specific.includes(logs) ? specific : `${specific} See the whole log with ${logs}.`;
}

function duration(ms: number | null): string {
  return ms === null ? "" : ` in ${formatDuration(ms)}`;
}

export function parseRunId(value: string): number {
  const id = Number(value.replace(/^#/, ""));
  if (!Number.isInteger(id) || id < 1) throw new InvalidArgumentError(`"${value}" is not a run id`);
  return id;
}
