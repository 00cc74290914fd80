/** `loopd run <routine>` (fire now, optionally wait and stream) and `loopd logs <run>`. */
import { type Command, InvalidArgumentError } from "commander";
import type { DaemonClient } from "../../app/daemon-client.js";
import { storeOptionsFromEnv } from "../../app/open-store.js";
import { runEventView } from "../../app/run-event-view.js";
import { fireRoutine } from "../../app/run-now.js";
import { type RunView, runView } from "../../app/views.js";
import { formatDuration } from "../../domain/duration.js";
import { ERROR_CODES, type ErrorCode } from "../../domain/error-codes.js";
import { fillHint, isErrorCode } from "../../domain/error-hint.js";
import { LoopdError } from "../../domain/errors.js";
import { runOutcomeWord } from "../../domain/run-outcome.js";
import { createWakeBus, liveDaemon } from "../../engine/wake.js";
import { listRunEvents } from "../../store/run-events.js";
import { findRun, type Run as RunRecord } from "../../store/runs.js";
import { type ClaimedRun, claimRuns } from "../../store/sql/claim-runs.js";
import type { Store } from "../../store/store.js";
import type { CommandContext } from "../context.js";
import { colourOutcome, pc, UNVERIFIED } from "../format.js";
import { printEvent } from "../print-run-event.js";
import type { Run } from "../program.js";

const FINAL = new Set(["succeeded", "failed", "timed_out", "canceled", "skipped"]);
const POLL_MS = 250;

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
        const daemon = await ctx.daemon();
        if (daemon) {
          await runThroughDaemon(ctx, daemon, name, options);
          return;
        }
        const store = await ctx.store();
        const { runId } = await fireRoutine(store, name, { now: ctx.io.now(), ...fireOptions(options) });
        const inline =
          store.dialect === "sqlite" && !liveDaemon(ctx.home) ? await executeInline(store, runId, ctx) : null;
        if (!inline) await createWakeBus(store, storeOptionsFromEnv(ctx.home, ctx.io.env), ctx.home).notify();
        if (!options.wait) {
          ctx.print({ runId, executedBy: inline ? "this process" : "daemon" }, () =>
            inline
              ? `Ran ${name} as run ${runId}.`
              : `Queued ${name} as run ${runId}. Follow it with \`loopd logs ${runId} -f\`.`,
          );
          await inline?.done;
          return;
        }
        const final = await follow(store, runId, ctx, {
          quiet: ctx.json,
          afterDone: inline?.done,
          hints: false,
        });
        exitWithOutcome(ctx, runView(final));
      }),
    );

  program
    .command("logs")
    .description("print a run's log and events; -f follows it until it finishes")
    .argument("<run>", "run id", parseRunId)
    .option("-f, --follow", "keep printing until the run finishes")
    .action(
      run(async (ctx: CommandContext, runId: number, options: { follow?: boolean }) => {
        const daemon = await ctx.daemon();
        if (daemon) return logsThroughDaemon(ctx, daemon, runId, options.follow === true);
        const store = await ctx.store();
        const existing = await findRun(store.db, runId);
        if (!existing) {
          throw new LoopdError("LOOPD_NOT_FOUND", `no run ${runId}`, {
            hint: "Run `loopd runs` to see run ids.",
          });
        }
        if (ctx.json && !options.follow) {
          ctx.print((await listRunEvents(store.db, runId)).map(runEventView), () => "");
          return;
        }
        await follow(store, runId, ctx, { quiet: false, stopAtEnd: !options.follow });
      }),
    );
}

/** `loopd logs` against a daemon (local or LOOPD_URL): the same output as from the store. */
async function logsThroughDaemon(
  ctx: CommandContext,
  daemon: DaemonClient,
  runId: number,
  follow: boolean,
): Promise<void> {
  if (!follow) {
    const events = await daemon.listRunEvents(runId);
    if (ctx.json) ctx.print(events, () => "");
    else for (const event of events) printEvent(ctx, event);
    return;
  }
  for await (const followed of daemon.followRun(runId)) {
    if (followed.kind === "end") return;
    if (ctx.json) ctx.io.stdout(`${JSON.stringify(followed.event)}\n`);
    else printEvent(ctx, followed.event);
  }
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

/** The daemon queues and executes the run; --wait follows its event stream to the outcome. */
async function runThroughDaemon(
  ctx: CommandContext,
  daemon: DaemonClient,
  name: string,
  options: FireOptions,
): Promise<void> {
  const { runId } = await daemon.fireRoutine(name, fireOptions(options));
  if (!options.wait) {
    ctx.print(
      { runId, executedBy: "daemon" },
      () => `Queued ${name} as run ${runId}. Follow it with \`loopd logs ${runId} -f\`.`,
    );
    return;
  }
  for await (const followed of daemon.followRun(runId)) {
    if (followed.kind === "end") return exitWithOutcome(ctx, followed.run);
    if (!ctx.json) printEvent(ctx, followed.event, { hints: false });
  }
}

/**
 * No daemon serves this SQLite data dir: claim the run here and execute it in this process,
 * attempt after attempt (retries, escalation to a stronger tier) until it is final.
 */
async function executeInline(
  store: Store,
  runId: number,
  ctx: CommandContext,
): Promise<{ done: Promise<void> } | null> {
  // Loaded on use: only a run executed in this process needs the engine and the harnesses.
  const [{ workerRuntime }, { Engine }] = await Promise.all([
    import("../../app/worker-runtime.js"),
    import("../../engine/engine.js"),
  ]);
  const runtime = await workerRuntime(store, ctx.home);
  const engine = new Engine({
    store,
    harnesses: runtime.harnesses,
    workspaces: runtime.workspaces,
    roles: { schedule: false, work: false },
    clock: { now: ctx.io.now },
  });
  const claim = async () =>
    (
      await claimRuns(store, {
        workerId: engine.workerId,
        now: ctx.io.now(),
        limit: 1,
        leaseMs: 30_000,
        runId,
      })
    ).claimed[0];
  const first = await claim();
  if (!first) return null;
  const done = (async () => {
    let run: ClaimedRun | undefined = first;
    while (run) {
      await engine.startRun(run);
      const after = await findRun(store.db, runId);
      if (after?.status !== "queued") return;
      // Timers may fire a moment early: wait again until the claim takes it.
      await new Promise((resolve) => setTimeout(resolve, Math.max(10, after.notBefore - ctx.io.now() + 5)));
      run = await claim();
      while (!run && (await findRun(store.db, runId))?.status === "queued") {
        await new Promise((resolve) => setTimeout(resolve, 50));
        run = await claim();
      }
    }
  })();
  return { done };
}

/** Prints events as they arrive; returns the run once it is final (or at once with stopAtEnd). */
async function follow(
  store: Store,
  runId: number,
  ctx: CommandContext,
  options: { quiet: boolean; stopAtEnd?: boolean; afterDone?: Promise<void> | undefined; hints?: boolean },
): Promise<RunRecord> {
  let afterId: number | undefined;
  let waitingHintShown = false;
  const started = Date.now();
  for (;;) {
    const events = await listRunEvents(store.db, runId, afterId === undefined ? {} : { afterId });
    for (const event of events.map(runEventView)) {
      afterId = event.id;
      if (ctx.json && !options.quiet) ctx.io.stdout(`${JSON.stringify(event)}\n`);
      else if (!options.quiet) printEvent(ctx, event, { hints: options.hints ?? true });
    }
    const run = (await findRun(store.db, runId))!;
    if (FINAL.has(run.status) || options.stopAtEnd) {
      if (options.afterDone) await options.afterDone;
      return (await findRun(store.db, runId))!;
    }
    if (!waitingHintShown && run.status === "queued" && Date.now() - started > 10_000 && !options.quiet) {
      waitingHintShown = true;
      ctx.io.stderr(
        pc.yellow(
          `run ${runId} is still queued: is \`loopd serve\` (or a \`loopd worker\`) running on this store?\n`,
        ),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
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
