/** `loopd doctor`, `loopd memory <routine>` and `loopd show-run <run>`: the agent side of loopd. */

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Command, Option } from "commander";
import type { CostsView } from "../../app/costs.js";
import { type DoctorReport, doctor } from "../../app/doctor.js";
import { doctorChecks, harnessChecks } from "../../app/doctor-checks.js";
import type { MemoryView } from "../../app/memory.js";
import type { RunDetail } from "../../app/runs.js";
import { type StoreDoctorView, storeDoctor } from "../../app/store-doctor.js";
import { COST_REPORT_KEYS, type CostReportKey } from "../../domain/cost-report.js";
import { formatDuration } from "../../domain/duration.js";
import { ERROR_CODES, type ErrorCode } from "../../domain/error-codes.js";
import { LoopdError } from "../../domain/errors.js";
import { formatUsd } from "../../domain/money.js";
import { DEFAULT_SINCE } from "../../domain/since.js";
import type { CommandContext } from "../context.js";
import { checksFailure, renderChecks } from "../doctor-checks.js";
import { colourStatus, pc, relativeTime, table, UNVERIFIED } from "../format.js";
import { packageVersion, type Run } from "../program.js";
import { parseRunId } from "./run.js";

export function registerAgentCommands(program: Command, run: Run): void {
  program
    .command("doctor")
    .description(
      "check what a user can get wrong: data dir and token permissions, the store and its schema, the service, clock skew, every harness (installed, credentials), notify channels, disk space",
    )
    .action(
      run(async (ctx: CommandContext) => {
        // The harnesses and the store of this machine, whichever daemon is up.
        let store: Awaited<ReturnType<CommandContext["localStore"]>> | null = null;
        let storeError: unknown;
        try {
          store = await ctx.localStore();
        } catch (error) {
          storeError = error;
        }
        const checks = await doctorChecks({
          home: ctx.home,
          env: ctx.io.env,
          version: packageVersion(),
          store,
          storeError,
        });
        if (!store) {
          // Without a store the harness checks cannot say which routines need what.
          ctx.print({ checks, ok: false }, () => renderChecks(checks));
          const failure = checksFailure(checks);
          if (failure && ctx.json) ctx.exitCode = ERROR_CODES[failure.code].exitCode;
          else if (failure) throw failure;
          return;
        }
        // Loaded on use: the harnesses (the AI SDK among them) are start-up other commands skip.
        const { workerRuntime } = await import("../../app/worker-runtime.js");
        const { harnesses } = await workerRuntime(store, ctx.home);
        const report = await doctor(store, harnesses, ctx.io.env);
        const storeView = await storeDoctor(store, ctx.home);
        const all = [...checks, ...harnessChecks(report)];
        ctx.print(
          {
            ...report,
            ok: report.ok && !all.some((entry) => entry.status === "fail"),
            checks: all,
            store: storeView,
          },
          () =>
            [
              renderChecks(all),
              "",
              renderDoctor(report, ctx.io.now()),
              renderStore(storeView, ctx.io.now()),
            ].join("\n"),
        );
        const failure = doctorFailure(report) ?? storeFailure(storeView) ?? checksFailure(all);
        if (failure) {
          // Under --json the report above is the answer; the exit code still says it is not ready.
          if (ctx.json) {
            ctx.exitCode = ERROR_CODES[failure.code].exitCode;
            return;
          }
          throw failure;
        }
      }),
    );

  program
    .command("memory")
    .description("show a routine's memory; --edit, --set or --clear change it")
    .argument("<routine>", "routine name")
    .option("--edit", "open it in $VISUAL / $EDITOR")
    .option("--set <file>", "replace it with a file's content (- for stdin)")
    .option("--clear", "forget everything")
    .action(
      run(
        async (
          ctx: CommandContext,
          name: string,
          options: { edit?: boolean; set?: string; clear?: boolean },
        ) => {
          const client = await ctx.client();
          if (options.clear) {
            const result = await client.forgetMemory(name);
            ctx.print(result, () =>
              result.cleared ? `Cleared ${name}'s memory.` : `${name} had no memory.`,
            );
            return;
          }
          if (options.set !== undefined) {
            const content = options.set === "-" ? await readStdin() : await readFile(options.set, "utf8");
            const view = await client.setMemory(name, content);
            ctx.print(view, () => `Saved ${name}'s memory (${view.bytes} of ${view.maxBytes} bytes).`);
            return;
          }
          if (options.edit) {
            const view = await editMemory(ctx, name);
            ctx.print(view, () => `Saved ${name}'s memory (${view.bytes} of ${view.maxBytes} bytes).`);
            return;
          }
          const view = await client.showMemory(name);
          ctx.print(view, () => renderMemory(view, ctx.io.now()));
        },
      ),
    );

  program
    .command("costs")
    .description("what runs cost, from the ledger: by routine, model, tier, day or harness")
    .addOption(new Option("--by <key>", "group by").choices(COST_REPORT_KEYS).default("routine"))
    .option("--since <duration>", "how far back (e.g. 24h, 7d, 30d)", DEFAULT_SINCE)
    .option("--routine <name>", "only this routine")
    .action(
      run(async (ctx: CommandContext, options: { by: CostReportKey; since: string; routine?: string }) => {
        const view = await (await ctx.client()).costs({
          by: options.by,
          since: options.since,
          ...(options.routine !== undefined ? { routine: options.routine } : {}),
        });
        ctx.print(view, () => renderCosts(view, options.since));
      }),
    );

  program
    .command("show-run")
    .description("show one run: outcome, workspace and branch, tokens and cost, changed files")
    .argument("<run>", "run id", parseRunId)
    .option("--diff", "print the run's diff")
    .action(
      run(async (ctx: CommandContext, runId: number, options: { diff?: boolean }) => {
        const client = await ctx.client();
        if (options.diff && !ctx.json) {
          ctx.io.stdout((await client.runDiff(runId)) || pc.dim(`run ${runId} recorded no diff\n`));
          return;
        }
        const detail = await client.showRun(runId);
        ctx.print(detail, () => renderRun(detail, ctx.io.now()));
      }),
    );
}

function renderCosts(view: CostsView, since: string): string {
  const scope = `${view.routine ? `${view.routine}, ` : ""}last ${since}`;
  if (view.rows.length === 0) return pc.dim(`No spend recorded (${scope}).`);
  const rows = view.rows.map((row) => [
    row.key,
    String(row.runs),
    tokens(row.tokensIn),
    tokens(row.tokensOut),
    tokens(row.tokensCached),
    formatUsd(row.costUsd),
  ]);
  return [
    table([view.by.toUpperCase(), "RUNS", "IN", "OUT", "CACHED", "COST"], rows),
    pc.dim(`total ${formatUsd(view.total.costUsd)} · ${scope}`),
  ].join("\n");
}

function tokens(count: number): string {
  if (count >= 1_000_000) return `${(count / 1_000_000).toFixed(1)}M`;
  return count >= 1000 ? `${(count / 1000).toFixed(1)}k` : String(count);
}

/** What makes doctor fail: a harness a routine needs is not ready, else a routine paused for auth. */
function doctorFailure(report: DoctorReport): LoopdError | null {
  const blocking = report.harnesses.find((view) => view.error && view.failing.length > 0);
  if (blocking?.error) {
    const code =
      blocking.error.code in ERROR_CODES ? (blocking.error.code as ErrorCode) : "LOOPD_AUTH_MISSING";
    return new LoopdError(code, `${blocking.harness} is not ready for ${blocking.failing.join(", ")}`, {
      hint: blocking.error.hint,
    });
  }
  const { sandbox } = report;
  if (!sandbox.works && sandbox.required.length > 0) {
    return new LoopdError(
      "LOOPD_SANDBOX_UNAVAILABLE",
      `${sandbox.required.join(", ")} ${sandbox.required.length === 1 ? "requires" : "require"} a sandbox, but ${sandbox.problem}`,
      {
        hint: "Install bubblewrap (`sudo apt-get install bubblewrap`) and let the daemon's user create user namespaces, or point `sandbox.bwrap` at a working binary.",
      },
    );
  }
  const paused = report.pausedForAuth;
  if (paused.length === 0) return null;
  return new LoopdError(
    "LOOPD_ROUTINE_PAUSED_AUTH",
    `${paused.map((entry) => entry.routine).join(", ")} ${paused.length === 1 ? "is" : "are"} paused for auth`,
    { hint: `Once the login is fixed: ${paused.map((entry) => `\`${entry.resume}\``).join(", ")}.` },
  );
}

/** Whether runs are confined here; loud when routines that ask for it would run unconfined. */
function sandboxLine(sandbox: DoctorReport["sandbox"]): string {
  if (sandbox.works)
    return `sandbox: ${pc.green("confinement works")} ${pc.dim(`(${sandbox.bwrap}; ${sandbox.on.length + sandbox.required.length} routine(s) confined)`)}`;
  const parts = [
    ...(sandbox.required.length > 0
      ? [pc.red(`✗ ${sandbox.required.join(", ")} (required) cannot run`)]
      : []),
    ...(sandbox.on.length > 0
      ? [pc.yellow(`UNCONFINED: ${sandbox.on.join(", ")} (on) run with the daemon's full access`)]
      : []),
  ];
  return [
    `sandbox: ${parts.length > 0 ? "" : pc.dim("unavailable: ")}${sandbox.problem}`,
    ...parts.map((part) => `    ${part}`),
    `    ${pc.dim("install: sudo apt-get install bubblewrap")}`,
  ].join("\n");
}

function renderDoctor(report: DoctorReport, now: number): string {
  const rows = report.harnesses.map((view) => [
    view.harness,
    view.installed ? pc.green("yes") : pc.red("no"),
    view.version ?? "—",
    view.auth === "ok"
      ? pc.green(`ok${view.authSource ? ` (${view.authSource})` : ""}`)
      : view.auth === "n/a"
        ? pc.dim("n/a")
        : view.auth === "unknown"
          ? pc.yellow("unknown")
          : pc.red(view.auth),
    view.routines.length > 0 ? String(view.routines.length) : pc.dim("0"),
    view.lastError ? `${view.lastError.code} ${pc.dim(relativeTime(view.lastError.at, now))}` : pc.dim("—"),
  ]);
  const problems = report.harnesses.flatMap((view) => {
    if (view.error) {
      const who = view.failing.length > 0 ? ` (${view.failing.join(", ")})` : "";
      return [
        `${view.failing.length > 0 ? pc.red("✗") : pc.dim("·")} ${view.harness}${who}: ${view.error.message}\n    ${pc.dim(view.error.hint)}`,
      ];
    }
    // A key that could not be tried (network, 5xx): runs go ahead, but say so.
    if (view.auth === "unknown" && view.authDetail)
      return [`${pc.yellow("?")} ${view.harness}: ${view.authDetail}`];
    return [];
  });
  const paused = report.pausedForAuth.map(
    (entry) =>
      `${pc.red("✗")} ${entry.routine} (${entry.harness}): ${entry.reason ?? entry.code}\n    fix:  ${entry.fix}\n    then: ${pc.bold(entry.resume)}`,
  );
  return [
    table(["HARNESS", "INSTALLED", "VERSION", "AUTH", "ROUTINES", "LAST ERROR"], rows),
    `git: ${report.git.installed ? `${report.git.version ?? "installed"}` : pc.red("not found (worktrees need git)")}`,
    sandboxLine(report.sandbox),
    ...(problems.length > 0 ? ["", ...problems] : []),
    ...(paused.length > 0 ? ["", "Paused for auth:", ...paused] : []),
    ...(report.misfires.length > 0
      ? [
          "",
          "Misfires (nothing is scheduling these):",
          ...report.misfires.map(
            (entry) =>
              `${pc.red("✗")} ${entry.routine}: due ${relativeTime(entry.dueAt, now)}, no run since\n    ${pc.dim(entry.hint)}`,
          ),
        ]
      : []),
  ].join("\n");
}

/** A daemon that cannot reach the store it serves. */
function storeFailure(view: StoreDoctorView): LoopdError | null {
  if (view.daemon?.storeStatus !== "degraded") return null;
  return new LoopdError(
    "LOOPD_STORE_UNAVAILABLE",
    `the daemon at ${view.daemon.url} cannot reach the store at ${view.location}${view.daemon.storeError ? `: ${view.daemon.storeError}` : ""}`,
    {
      hint: "It retries with backoff and keeps the leases of runs going for as long as they last; check the database server and the network between them.",
    },
  );
}

function renderStore(view: StoreDoctorView, now: number): string {
  const daemon = view.daemon;
  const lines = [
    "",
    `store: ${view.dialect} ${view.location} · ${view.latencyMs} ms`,
    ...(daemon
      ? [
          daemon.storeStatus === "ok"
            ? `daemon: ${daemon.url} · store ok${daemon.listening === false ? pc.yellow(" · not listening (reconnecting): wake-ups wait for the backstop") : ""}`
            : `${pc.red("✗")} daemon: ${daemon.url} · store unreachable since ${daemon.storeDownSince ? relativeTime(Date.parse(daemon.storeDownSince), now) : "?"}: ${daemon.storeError ?? ""}`,
        ]
      : []),
  ];
  for (const worker of view.workers) {
    const state =
      worker.alive === false
        ? pc.red("gone (its runs come back when a loopd process on this host looks, or at lease expiry)")
        : pc.dim(`active ${relativeTime(Date.parse(worker.seenAt), now)}`);
    lines.push(`worker ${worker.id} (${worker.host}, pid ${worker.pid}): ${state}`);
  }
  return lines.join("\n");
}

function renderMemory(view: MemoryView, now: number): string {
  if (!view.content)
    return pc.dim(`${view.routine} has no memory yet. Runs add to it; \`--edit\` writes it by hand.`);
  return `${view.content.trimEnd()}\n${pc.dim(`── ${view.bytes} of ${view.maxBytes} bytes · updated ${relativeTime(view.updatedAt, now)}`)}`;
}

/** How spend was counted; a harness report that disagrees with the gateway is shown beside it. */
function meteringLines(run: RunDetail): string[] {
  if (run.metering === null) return [];
  const lines = [
    `metering:  ${run.metering}${run.metering === "gateway" ? pc.dim(" (every model request, as it happened)") : pc.dim(" (the harness's own report at the end)")}`,
  ];
  if (run.reported) {
    const { reported } = run;
    lines.push(
      pc.yellow(
        `reported:  the harness said ${formatUsd(reported.costUsd)} · in ${reported.tokensIn} · out ${reported.tokensOut} · cached ${reported.tokensCached}; the gateway saw ${formatUsd(run.costUsd)} (the ledger counts the gateway's)`,
      ),
    );
  }
  return lines;
}

/** The confinement the run had (harness/sandbox/), or that it had none though one was asked for. */
function sandboxLines(run: RunDetail): string[] {
  const box = run.sandbox;
  if (!box) return [];
  if (!box.confined)
    return [pc.yellow(`sandbox:   ${box.mode}, UNCONFINED: ${box.reason ?? "no reason recorded"}`)];
  const network =
    box.network === "all" ? "all" : [...(box.loopback ?? []), ...(box.network ?? [])].join(", ") || "none";
  return [
    `sandbox:   ${box.mode} · write ${(box.write ?? []).join(", ")}`,
    `           network ${network}`,
    ...(box.note ? [pc.dim(`           ${box.note}`)] : []),
  ];
}

/** Tokens and cost; a run that called no model (a shell command) says so instead of rows of zeros. */
function costLines(run: RunDetail): string[] {
  const usage = run.usage;
  const tokens = usage.tokensIn + usage.tokensOut + usage.tokensCached + usage.tokensReasoning;
  const extra = `${run.turns !== null ? ` · ${run.turns} turn(s)` : ""}${run.sessionId ? pc.dim(` · session ${run.sessionId}`) : ""}`;
  if (run.metering === null && tokens === 0 && run.costUsd === 0)
    return [`cost:      ${pc.dim("— no model calls")}${extra}`];
  return [
    `tokens:    in ${usage.tokensIn} · out ${usage.tokensOut} · cached ${usage.tokensCached} · reasoning ${usage.tokensReasoning}`,
    `cost:      ${formatUsd(run.costUsd)}${extra}`,
  ];
}

function renderRun(run: RunDetail, now: number): string {
  const lines = [
    `${pc.bold(`${run.routine} #${run.id}`)} ${colourStatus(run.status)}${run.verdict ? pc.dim(` (${run.verdict})`) : ""}${run.unverified ? pc.yellow(` unverified (${UNVERIFIED})`) : ""}${run.durationMs !== null ? ` in ${formatDuration(run.durationMs)}` : ""} · attempt ${run.attempt}/${run.maxAttempts} · due ${relativeTime(run.dueAt, now)}`,
    ...(run.summary ? [`summary:   ${run.summary}`] : []),
    ...(run.error ? [`error:     ${pc.red(`${run.error.code ?? ""} ${run.error.message}`.trim())}`] : []),
    ...(run.error?.hint ? [`hint:      ${run.error.hint}`] : []),
    ...(run.routeReason ? [`route:     ${run.routeReason}`] : []),
    ...(run.branch
      ? [`branch:    ${run.branch}${run.headCommit ? pc.dim(` @ ${run.headCommit.slice(0, 12)}`) : ""}`]
      : []),
    ...deliveryLines(run),
    ...(run.workspace
      ? [`workspace: ${run.workspace}${isPoolSlot(run) ? pc.dim(" (pool slot: reused by later runs)") : ""}`]
      : []),
    ...costLines(run),
    ...meteringLines(run),
    ...sandboxLines(run),
  ];
  if (run.changedFiles.length > 0) {
    lines.push(
      `changed:   ${run.changedFiles.length} file(s)`,
      ...run.changedFiles.slice(0, 20).map((file) => `  ${file}`),
    );
    if (run.changedFiles.length > 20) lines.push(pc.dim(`  … ${run.changedFiles.length - 20} more`));
    lines.push(pc.dim(`  (\`loopd show-run ${run.id} --diff\` prints the diff)`));
  }
  if (run.check) {
    const mark =
      run.check.status === "satisfied"
        ? pc.green(run.check.status)
        : run.check.status === "unsatisfied"
          ? pc.yellow(run.check.status)
          : pc.red(run.check.status);
    lines.push(`check:     ${mark}: ${run.check.summary}`, pc.dim("evidence:"));
    lines.push(
      ...JSON.stringify(run.check.evidence, null, 2)
        .split("\n")
        .slice(0, 60)
        .map((line) => pc.dim(`  ${line}`)),
    );
  }
  if (run.escaped.length > 0) {
    lines.push(
      pc.red(`escaped:   ${run.escaped.length} path(s) outside the worktree`),
      ...run.escaped.map((path) => `  ${path}`),
    );
  }
  return lines.join("\n");
}

/** What became of the run's work: committed (where), pushed (where) or why not, or the failure and its fix. */
function deliveryLines(run: RunDetail): string[] {
  const delivery = run.delivery;
  if (!delivery) return [];
  const lines: string[] = [];
  if (delivery.commit !== null) {
    const pushed = delivery.pushed
      ? ` · pushed to ${delivery.remote} ${delivery.remoteBranch}`
      : delivery.skipped
        ? pc.dim(` · not pushed: ${delivery.skipped}`)
        : "";
    lines.push(`delivered: ${delivery.branch} @ ${delivery.commit.slice(0, 12)}${pushed}`);
  }
  if (delivery.pullRequest) {
    const { number, url, created } = delivery.pullRequest;
    lines.push(`pull request: #${number} ${created ? "opened" : "updated"} · ${url}`);
  }
  if (delivery.error) {
    lines.push(
      `delivery:  ${pc.red(`${delivery.error.code} ${delivery.error.message}`)}`,
      `           ${pc.dim(delivery.error.hint)}`,
    );
  }
  return lines;
}

/** A finished run's pool slot has been (or will be) reset for another run: its files are not the run's. */
function isPoolSlot(run: RunDetail): boolean {
  return run.finishedAt !== null && run.workspace !== null && /\/pool-\d+(\/|$)/.test(run.workspace);
}

async function editMemory(ctx: CommandContext, name: string): Promise<MemoryView> {
  const client = await ctx.client();
  const current = await client.showMemory(name);
  const dir = await mkdtemp(join(tmpdir(), "loopd-memory-"));
  const file = join(dir, `${name}.md`);
  try {
    await writeFile(file, current.content);
    const editor = ctx.io.env.VISUAL || ctx.io.env.EDITOR || "vi";
    const { execa } = await import("execa");
    const result = await execa(editor, [file], { shell: true, stdio: "inherit", reject: false });
    if (result.exitCode !== 0) {
      throw new LoopdError("LOOPD_USAGE", `${editor} exited with ${result.exitCode}; memory unchanged`, {
        hint: "Set $EDITOR to your editor, or use `loopd memory <routine> --set <file>`.",
      });
    }
    return await client.setMemory(name, await readFile(file, "utf8"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
