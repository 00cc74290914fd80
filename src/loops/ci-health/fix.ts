/**
 * ci-health's `fix: true`: the worst flaky test (highest flake rate) goes to the routine's
 * agent once per commit — its failure messages and history in the brief, an ordinary agent
 * attempt of the same run (worktree from the tested commit, routing, budget; loopd commits
 * the work on the run branch). loopd then checks the fix out in a scratch worktree and runs
 * that test `confirm` times — code the agent just wrote, so in the routine's sandbox
 * (`LoopContext.commandSandbox`: the scratch worktree writable, the checkout's linked dependency
 * folders readable, no model key; `required` without it is not confirmed, never run
 * unconfined); only a fix that passes every time is delivered further: with
 * `deliver: push`, its branch is pushed (`push.remote`, `push.branch`); with `deliver: pr`,
 * it is pushed to a branch of its own and a pull request carrying the test's failure history
 * is opened or updated (fix-pr.ts). Once per test and commit: a second tick asks nothing.
 */
import { existsSync, mkdtempSync, realpathSync, symlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_PUSH, expandBranchPattern } from "../../domain/run-delivery.js";
import type { CiHealthParams } from "../../domain/templates/ci-health.js";
import type { TestHealth, TestObservation } from "../../domain/test-health.js";
import type { HarnessResult } from "../../harness/harness.js";
import { pushBranch } from "../../workspace/github-git.js";
import type { CommandSandbox, LoopContext } from "../loop.js";
import { deliverFixPull } from "./fix-pr.js";
import type { JUnitCase } from "./junit.js";
import { rerunPlan } from "./rerun.js";

/** What the loop remembers of a fix it tried (loop item `fix:<test id>`). */
export interface FixMemory {
  commit: string;
  status: "confirmed" | "not-confirmed" | "no-change" | "agent-failed";
  note: string;
  branch: string | null;
  runId: number;
}

export interface FixOutcome {
  line: string;
  agent: HarnessResult;
}

/** Runs the test command in `cwd` (through `shell`: confined) and reads its report; null when none. */
type RunTests = (cwd: string, command: string, shell?: CommandSandbox) => Promise<JUnitCase[] | null>;

/** The flaky test to fix now: the worst one not tried on this commit yet; null when none. */
export function fixCandidate(
  health: readonly TestHealth[],
  tried: ReadonlyMap<string, unknown>,
  commit: string,
): TestHealth | null {
  return (
    health
      .filter((test) => test.class === "flaky")
      .filter((test) => (tried.get(fixItem(test.testId)) as FixMemory | undefined)?.commit !== commit)
      .sort((a, b) => b.flakeRate - a.flakeRate || a.testId.localeCompare(b.testId))[0] ?? null
  );
}

export function fixItem(testId: string): string {
  return `fix:${testId}`;
}

export async function fixFlakyTest(input: {
  context: LoopContext;
  params: CiHealthParams;
  repo: string;
  commit: string;
  test: TestHealth;
  testCase: JUnitCase;
  history: readonly TestObservation[];
  testScript: string | null;
  runTests: RunTests;
}): Promise<FixOutcome> {
  const { context, params, repo, commit, test } = input;
  const plan = rerunPlan(params.test ?? "", [input.testCase], {
    testScript: input.testScript,
    fileExists: (path) => existsSync(join(repo, path)),
  });
  context.log(`[ci-health] asking the agent to fix the flaky test ${test.testId}`);
  const { result, commit: fixed } = await context.runAgent({
    input: fixBrief({
      params,
      commit,
      test,
      history: input.history,
      only: plan.selects ? plan.command : null,
    }),
    base: commit,
  });
  const remember = async (status: FixMemory["status"], note: string, branch: string | null) => {
    await context.items.put(fixItem(test.testId), {
      commit,
      status,
      note,
      branch,
      runId: context.run.id,
    } satisfies FixMemory);
    return { line: `fix of \`${test.testId}\`: ${note}`, agent: result };
  };
  if (result.outcome !== "succeeded") {
    return remember("agent-failed", `the agent failed: ${result.error?.message ?? "no reason given"}`, null);
  }
  if (fixed === null || fixed === commit) return remember("no-change", "the agent changed nothing", null);

  const runBranch = `loopd/${context.run.routineName}/${context.run.id}`;
  let passes: number;
  try {
    passes = await confirm(input, fixed, plan.command);
  } catch (error) {
    context.signal.throwIfAborted();
    return remember(
      "not-confirmed",
      `could not re-run the test on the fix: ${messageOf(error)} (kept on ${runBranch})`,
      runBranch,
    );
  }
  if (passes < params.confirm) {
    return remember(
      "not-confirmed",
      `not confirmed: the test passed ${passes} of ${params.confirm} re-runs with the fix (kept on ${runBranch}, ${fixed.slice(0, 7)})`,
      runBranch,
    );
  }
  const confirmed = `confirmed: ${params.confirm}/${params.confirm} passes with the fix`;
  const spec = context.spec;
  if (spec.deliver === "push") {
    const push = spec.push ?? DEFAULT_PUSH;
    const branch = expandBranchPattern(push.branch, {
      routine: context.run.routineName,
      run: String(context.run.id),
    });
    try {
      await pushBranch(repo, { url: push.remote }, fixed, branch, { signal: context.signal });
    } catch (error) {
      context.signal.throwIfAborted();
      // Remembered all the same: the agent is not asked again for a fix that exists.
      return remember(
        "confirmed",
        `${confirmed}, but not pushed: ${messageOf(error)} (on ${runBranch})`,
        runBranch,
      );
    }
    return remember(
      "confirmed",
      `${confirmed}, pushed to ${push.remote} ${branch} (${fixed.slice(0, 7)})`,
      branch,
    );
  }
  if (spec.deliver === "pr") {
    try {
      const pull = await deliverFixPull({
        context,
        params,
        repo,
        commit,
        fixed,
        test,
        history: input.history,
        confirmed,
        summary: result.summary ?? null,
      });
      return remember(
        "confirmed",
        `${confirmed}, ${pull.created ? "opened" : "updated"} pull request #${pull.number} ${pull.url} from ${pull.branch} (${fixed.slice(0, 7)})`,
        pull.branch,
      );
    } catch (error) {
      context.signal.throwIfAborted();
      return remember(
        "confirmed",
        `${confirmed}, but no pull request: ${messageOf(error)} (on ${runBranch})`,
        runBranch,
      );
    }
  }
  return remember("confirmed", `${confirmed}, on branch ${runBranch} (${fixed.slice(0, 7)})`, runBranch);
}

/** Runs the test `confirm` times on the fix in a scratch worktree; the number of passes, stopping at the first failure. */
async function confirm(
  input: {
    context: LoopContext;
    params: CiHealthParams;
    repo: string;
    testCase: JUnitCase;
    runTests: RunTests;
  },
  fixed: string,
  command: string,
): Promise<number> {
  const { context, params, repo } = input;
  const { execa } = await import("execa");
  const scratch = join(mkdtempSync(join(tmpdir(), "loopd-ci-health-")), "work");
  await execa("git", ["worktree", "add", "--detach", scratch, fixed], {
    cwd: repo,
    cancelSignal: context.signal,
  });
  try {
    // Dependencies installed in the checkout (not in git) serve the scratch copy too, read-only.
    const linked: string[] = [];
    for (const folder of ["node_modules", ".venv", "venv", "vendor"]) {
      if (existsSync(join(repo, folder)) && !existsSync(join(scratch, folder))) {
        symlinkSync(join(repo, folder), join(scratch, folder));
        linked.push(realpathSync(join(repo, folder)));
      }
    }
    const shell = await context.commandSandbox({
      cwd: scratch,
      env: { LOOPD_CI_HEALTH: "1" },
      readable: linked,
    });
    try {
      context.log(`[ci-health] confirming the fix ${shell.description}`);
      let passes = 0;
      for (let attempt = 1; attempt <= params.confirm; attempt++) {
        context.signal.throwIfAborted();
        context.log(`[ci-health] confirming the fix ${attempt}/${params.confirm}`);
        const cases = await input.runTests(scratch, command, shell);
        const outcome = cases?.find((found) => found.id === input.testCase.id)?.outcome;
        if (outcome !== "passed") break;
        passes++;
      }
      return passes;
    } finally {
      await shell.close();
    }
  } finally {
    await execa("git", ["worktree", "remove", "--force", scratch], { cwd: repo, reject: false });
    await rm(join(scratch, ".."), { recursive: true, force: true });
  }
}

function fixBrief(input: {
  params: CiHealthParams;
  commit: string;
  test: TestHealth;
  history: readonly TestObservation[];
  only: string | null;
}): string {
  const { test } = input;
  const mine = input.history.filter((row) => row.testId === test.testId);
  const failures = mine
    .filter((row) => row.outcome === "failed" && row.message)
    .slice(-3)
    .reverse()
    .map(
      (row) =>
        `- on ${row.commit.slice(0, 7)} at ${new Date(row.at).toISOString()}:\n${indent(row.message ?? "")}`,
    );
  const runs = new Map<number, string[]>();
  for (const row of mine) runs.set(row.runId, [...(runs.get(row.runId) ?? []), row.outcome]);
  const history = [...runs.entries()]
    .slice(-10)
    .reverse()
    .map(([runId, outcomes]) => `- run ${runId}: ${outcomes.join(", then ")}`);
  return [
    `The flaky test: \`${test.testId}\`. It failed and passed on the same commit: flake rate ${Math.round(test.flakeRate * 100)}% over its last ${test.runs} run(s).`,
    `The tests run with \`${input.params.test}\`${input.only ? `; this test alone: \`${input.only}\`` : ""}.`,
    "",
    "Its latest failure messages:",
    ...(failures.length > 0 ? failures : ["(none recorded)"]),
    "",
    "Its recent runs, newest first (one outcome per try: loopd re-runs what failed):",
    ...history,
    "",
    `When you are done, loopd runs this test ${input.params.confirm} times on your change; it must pass every time.`,
  ].join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .slice(0, 15)
    .map((line) => `    ${line}`)
    .join("\n");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
