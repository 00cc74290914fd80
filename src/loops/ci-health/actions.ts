/**
 * ci-health's `source: github-actions`: the completed workflow runs of the default branch (or
 * `branch`) through the GitHub module, one observation per job and attempt — a job that failed
 * and passed on a re-run of the same commit is flaky, like a test. The unit is the job
 * (`<workflow> / <job>`): without JUnit artifacts a log names only the tests that failed, so
 * they go into the failure message (`failedTestsInLog`) rather than into the history. Runs are
 * read once per attempt (loop item `actions`); an idle tick is one list request, answered
 * `304 Not Modified` when nothing ran.
 */
import type { CiHealthParams } from "../../domain/templates/ci-health.js";
import type { TestObservation } from "../../domain/test-health.js";
import { githubClient, parseRepoRef, resolveGithubAccess } from "../../github/index.js";
import type { LoopContext } from "../loop.js";

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
  let logs = 0;
  let read = 0;
  for (const run of runs) {
    const done = memory.seen[String(run.id)] ?? 0;
    if (done >= run.runAttempt) continue;
    read++;
    const at = Date.parse(run.createdAt) || context.now();
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
  context.log(`[ci-health] ${params.repo} ${branch}: ${runs.length} completed workflow run(s), ${read} new`);
  return { observations, commit: runs.at(-1)?.headSha ?? "none", runs: read };
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
