/**
 * ci-health's `source: github-actions`: the completed workflow runs of the default branch (or
 * `branch`) through the GitHub module. A run whose artifacts hold JUnit XML (artifacts.ts;
 * `artifact` names them, default any) is read test by test, one observation per test and
 * attempt. Otherwise — no such artifact, expired, too large — the unit is the job
 * (`<workflow> / <job>`), one observation per job and attempt; a log names only the tests
 * that failed, so they go into the failure message (`failedTestsInLog`). Either way a test or
 * job that failed and passed on a re-run of the same commit is flaky. Runs are read once per
 * attempt (loop item `actions`); an idle tick is one list request, answered `304 Not
 * Modified` when nothing ran.
 */

import { LoopdError } from "../../domain/errors.js";
import type { CiHealthParams } from "../../domain/templates/ci-health.js";
import type { TestObservation } from "../../domain/test-health.js";
import {
  type GithubClient,
  githubClient,
  parseRepoRef,
  type RepoRef,
  resolveGithubAccess,
  type WorkflowRunInfo,
} from "../../github/index.js";
import type { LoopContext } from "../loop.js";
import { junitFromArtifacts } from "./artifacts.js";

const ACTIONS_ITEM = "actions";
/** Failed jobs whose logs are read per tick; the rest keep GitHub's conclusion only. */
const LOGS_PER_TICK = 10;

interface ActionsMemory {
  /** Workflow run id → the attempt already recorded. */
  seen: Record<string, number>;
}

export interface ActionsRead {
  observations: TestObservation[];
  /** The head of the newest run: what the digest names. */
  commit: string;
  runs: number;
  /** Runs read from JUnit artifacts (the rest from their jobs). */
  fromArtifacts: number;
  /** Artifacts skipped and why. */
  notes: string[];
}

export async function readActions(context: LoopContext, params: CiHealthParams): Promise<ActionsRead> {
  const hosted = params.repo ? parseRepoRef(params.repo) : null;
  if (!hosted) throw new Error("source github-actions needs `repo: owner/name`");
  const repo = { owner: hosted.owner, repo: hosted.repo };
  const access = await resolveGithubAccess(context.env, context.githubApiUrl, { tokenEnv: params.tokenEnv });
  const github = githubClient(access);
  const branch = params.branch ?? (await github.repository(repo)).defaultBranch;
  const runs = (await github.branchWorkflowRuns(repo, branch, Math.min(params.window, 100))).reverse();
  const memory = ((await context.items.all()).get(ACTIONS_ITEM) as ActionsMemory | undefined) ?? { seen: {} };
  const observations: TestObservation[] = [];
  const notes: string[] = [];
  let logs = 0;
  let read = 0;
  let fromArtifacts = 0;
  for (const run of runs) {
    const done = memory.seen[String(run.id)] ?? 0;
    if (done >= run.runAttempt) continue;
    read++;
    const at = Date.parse(run.createdAt) || context.now();
    const tests = await artifactObservations(context, github, repo, run, done, params.artifact, notes);
    if (tests.length > 0) {
      fromArtifacts++;
      observations.push(...tests);
      memory.seen[String(run.id)] = run.runAttempt;
      continue;
    }
    for (const job of await github.allAttemptJobs(repo, run.id)) {
      if (job.runAttempt <= done) continue;
      const outcome =
        job.conclusion === "success"
          ? "passed"
          : job.conclusion === "failure" || job.conclusion === "timed_out"
            ? "failed"
            : job.conclusion === "skipped"
              ? "skipped"
              : null;
      if (outcome === null) continue;
      let message: string | null = null;
      if (outcome === "failed" && logs < LOGS_PER_TICK) {
        logs++;
        const log = await github.jobLog(repo, job, { maxLines: 400 });
        const tests = failedTestsInLog(log.text);
        message = [
          ...(tests.length > 0 ? [`failed tests: ${tests.join(", ")}`] : []),
          log.firstError ?? `job ${job.name} failed${log.step ? ` in step ${log.step}` : ""}`,
          ...(job.htmlUrl ? [job.htmlUrl] : []),
        ].join("\n");
      }
      observations.push({
        runId: run.id,
        testId: `${run.name ?? "workflow"} / ${job.name}`,
        try: job.runAttempt - 1,
        outcome,
        commit: run.headSha,
        message,
        at: at + job.runAttempt,
      });
    }
    memory.seen[String(run.id)] = run.runAttempt;
  }
  // Runs that left the window are forgotten with it.
  const inWindow = new Set(runs.map((run) => String(run.id)));
  const seen = Object.fromEntries(Object.entries(memory.seen).filter(([id]) => inWindow.has(id)));
  if (read > 0) await context.items.put(ACTIONS_ITEM, { seen } satisfies ActionsMemory);
  for (const note of notes) context.log(`[ci-health] ${note}; the run's job logs are read instead`);
  context.log(
    `[ci-health] ${params.repo} ${branch}: ${runs.length} completed workflow run(s), ${read} new, ${fromArtifacts} from JUnit artifacts`,
  );
  return { observations, commit: runs.at(-1)?.headSha ?? "none", runs: read, fromArtifacts, notes };
}

/**
 * The run's tests from its JUnit artifacts, attempts after `done`; none when no artifact held
 * JUnit (or the artifacts could not be listed: the jobs are read instead).
 */
async function artifactObservations(
  context: LoopContext,
  github: GithubClient,
  repo: RepoRef,
  run: WorkflowRunInfo,
  done: number,
  pattern: string | undefined,
  notes: string[],
): Promise<TestObservation[]> {
  let found: Awaited<ReturnType<typeof junitFromArtifacts>>;
  try {
    found = await junitFromArtifacts({
      github,
      repo,
      run,
      after: done,
      pattern,
      signal: context.signal,
    });
  } catch (error) {
    context.signal.throwIfAborted();
    if (!(error instanceof LoopdError) || error.code === "LOOPD_GITHUB_RATE_LIMITED") throw error;
    notes.push(`the artifacts of run ${run.id} could not be listed: ${error.message}`);
    return [];
  }
  notes.push(...found.notes);
  const at = Date.parse(run.createdAt) || context.now();
  const observations: TestObservation[] = [];
  for (const [attempt, cases] of [...found.attempts.entries()].sort(([a], [b]) => a - b)) {
    for (const testcase of cases) {
      // Surefire's own re-runs inside the attempt: failures of the same try, before its outcome.
      for (const message of testcase.flakyFailures) {
        observations.push({
          runId: run.id,
          testId: testcase.id,
          try: attempt - 1,
          outcome: "failed",
          commit: run.headSha,
          message,
          at: at + attempt,
        });
      }
      observations.push({
        runId: run.id,
        testId: testcase.id,
        try: attempt - 1,
        outcome: testcase.outcome,
        commit: run.headSha,
        message: testcase.message,
        at: at + attempt,
      });
    }
  }
  return observations;
}

const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** The names of the tests a job log says failed (Vitest, Jest, pytest, go test), in order, at most 10. */
export function failedTestsInLog(text: string): string[] {
  const found: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(ANSI_COLOUR, "").trim();
    const name =
      /^FAIL\s+(\S.*?\s>\s.+?)(?:\s+\d+m?s)?$/.exec(line)?.[1] ?? // vitest: FAIL  src/a.test.ts > suite > name
      /^FAILED\s+(\S+::\S+)/.exec(line)?.[1] ?? // pytest: FAILED tests/test_a.py::test_b - assert …
      /^--- FAIL: (\S+)/.exec(line)?.[1] ?? // go: --- FAIL: TestTotal (0.00s)
      /^●\s+(?!Console)(.+?)$/.exec(line)?.[1]; // jest: ● Suite › name
    if (name && !found.includes(name)) found.push(name);
    if (found.length === 10) break;
  }
  return found;
}
