/**
 * ci-health's `fix: true` with `deliver: pr`: a confirmed fix of a flaky test is pushed to a
 * branch of its own (`<push.branch>-flaky-<test>`, default `loopd/<routine>-flaky-…`) and the
 * pull request from it is opened, or updated when one is open — the same "open or update the
 * PR for this branch" `deliver: pr` and issue-to-pr take (github/open-pull.ts). The body
 * carries the test's failure history and the confirmation. The GitHub repository is `pr.repo`,
 * else ci-health's `repo` param, else the push remote's URL; the token goes to git only for an
 * https remote on that GitHub.
 */
import { createHash } from "node:crypto";
import { LoopdError } from "../../domain/errors.js";
import { DEFAULT_PR_PUSH, expandBranchPattern, pullRequestMarker } from "../../domain/run-delivery.js";
import type { CiHealthParams } from "../../domain/templates/ci-health.js";
import type { TestHealth, TestObservation } from "../../domain/test-health.js";
import {
  apiUrlFor,
  githubClient,
  openOrUpdatePull,
  parseRepoRef,
  resolveGithubAccess,
} from "../../github/index.js";
import { gitText } from "../../workspace/git.js";
import { type GitRemote, pushBranch } from "../../workspace/github-git.js";
import { remoteBranchSha } from "../issue-to-pr/remote-branch.js";
import type { LoopContext } from "../loop.js";

export interface FixPull {
  branch: string;
  number: number;
  url: string;
  created: boolean;
}

export async function deliverFixPull(input: {
  context: LoopContext;
  params: CiHealthParams;
  repo: string;
  commit: string;
  fixed: string;
  test: TestHealth;
  history: readonly TestObservation[];
  confirmed: string;
  summary: string | null;
}): Promise<FixPull> {
  const { context, params, test } = input;
  const spec = context.spec;
  const push = spec.push ?? DEFAULT_PR_PUSH;
  const remoteUrl = await gitText(["remote", "get-url", push.remote], { cwd: input.repo }).catch(
    () => push.remote,
  );
  const named = spec.pr?.repo ?? params.repo;
  const hosted = named ? parseRepoRef(named) : parseRepoRef(remoteUrl);
  if (!hosted) {
    throw new LoopdError(
      "LOOPD_DELIVERY_FAILED",
      `the GitHub repository of remote ${push.remote} is unknown, so no pull request can be opened`,
      { hint: "Set `pr.repo: owner/name` on the routine (needed when the remote is a path or a mirror)." },
    );
  }
  const resolved = await resolveGithubAccess(context.env, context.githubApiUrl, {
    tokenEnv: spec.pr?.tokenEnv ?? params.tokenEnv,
  });
  const access = { ...resolved, apiUrl: apiUrlFor(hosted, resolved) };
  const target = { owner: hosted.owner, repo: hosted.repo };
  const remote: GitRemote = {
    url: remoteUrl,
    token: sameGithub(remoteUrl, access.apiUrl) ? access.token : null,
  };
  const branch = `${expandBranchPattern(push.branch, {
    routine: context.run.routineName,
    run: String(context.run.id),
  })}-flaky-${slug(test.testId)}`;
  // The branch is this test's: an older fix on it is replaced, guarded by the sha just read.
  const lease = await remoteBranchSha(input.repo, remote, branch, context.signal);
  await pushBranch(input.repo, remote, input.fixed, branch, { lease, signal: context.signal });
  const github = githubClient(access);
  const base = spec.pr?.base ?? (await github.repository(target)).defaultBranch;
  const { pull, created } = await openOrUpdatePull(github, target, {
    branch,
    base,
    title: spec.pr?.title
      ? expandBranchPattern(spec.pr.title, { routine: context.run.routineName, run: String(context.run.id) })
      : `Fix flaky test ${test.testId}`,
    body: fixPullBody({ ...input, routine: context.run.routineName, runId: context.run.id }),
    draft: spec.pr?.draft ?? false,
    labels: spec.pr?.labels ?? [],
  });
  return { branch, number: pull.number, url: pull.htmlUrl, created };
}

/** The PR's description: what was flaky, its failure history, the agent's account and the confirmation. */
export function fixPullBody(input: {
  routine: string;
  runId: number;
  commit: string;
  fixed: string;
  test: TestHealth;
  history: readonly TestObservation[];
  confirmed: string;
  summary: string | null;
}): string {
  const { test } = input;
  return [
    pullRequestMarker(`${input.routine}:flaky:${test.testId}`),
    `\`${test.testId}\` is flaky: it failed and passed on the same commit, flake rate ${Math.round(test.flakeRate * 100)}% over its last ${test.runs} run(s).`,
    "",
    ...(input.summary?.trim() ? ["What the agent changed:", "", input.summary.trim(), ""] : []),
    "### Failure history",
    "",
    ...failureHistory(input.history, test.testId),
    "",
    "---",
    `- Confirmed: ${input.confirmed} (fix ${input.fixed.slice(0, 12)} on ${input.commit.slice(0, 12)})`,
    `- Run: ${input.runId} of \`${input.routine}\` — \`loopd show-run ${input.runId}\`, \`loopd flaky --routine ${input.routine}\``,
    "",
    "Opened by loopd's ci-health (`fix: true`, `deliver: pr`).",
  ].join("\n");
}

/** The test's recent runs (one outcome per try) and its latest failure messages, newest first. */
export function failureHistory(history: readonly TestObservation[], testId: string): string[] {
  const mine = history.filter((row) => row.testId === testId);
  const runs = new Map<number, TestObservation[]>();
  for (const row of mine) runs.set(row.runId, [...(runs.get(row.runId) ?? []), row]);
  const lines = [...runs.entries()]
    .slice(-10)
    .reverse()
    .map(
      ([runId, rows]) =>
        `- run ${runId} on ${rows[0]!.commit.slice(0, 7)}: ${rows.map((row) => row.outcome).join(", then ")}`,
    );
  const failures = mine
    .filter((row) => row.outcome === "failed" && row.message)
    .slice(-3)
    .reverse()
    .map((row) => `- ${new Date(row.at).toISOString()}: ${firstLine(row.message ?? "")}`);
  return [
    ...lines,
    "",
    "Latest failures:",
    ...(failures.length > 0 ? failures : ["- (no message recorded)"]),
  ];
}

function firstLine(text: string): string {
  const line =
    text
      .split("\n")
      .find((candidate) => candidate.trim() !== "")
      ?.trim() ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

function slug(testId: string): string {
  const readable = testId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return `${readable}-${createHash("sha256").update(testId).digest("hex").slice(0, 6)}`;
}

/** Whether an https remote is on the GitHub of `apiUrl` (api.github.com → github.com). */
function sameGithub(remoteUrl: string, apiUrl: string): boolean {
  if (!/^https?:\/\//i.test(remoteUrl)) return false;
  const apiHost = new URL(apiUrl).host;
  return new URL(remoteUrl).host === (apiHost === "api.github.com" ? "github.com" : apiHost);
}
