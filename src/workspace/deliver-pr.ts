/**
 * `deliver: pr`: the run branch is pushed to the routine's remote (deliver.ts, with the GitHub
 * token handed to git through its environment when the remote is on that GitHub), then the
 * pull request from that branch is opened, or updated when one is open already — the same
 * "open or update the PR for this branch" the issue-to-pr loop uses (github/open-pull.ts).
 * Like the rest of delivery it never throws: a refused push or a GitHub refusal becomes the
 * delivery's LOOPD_DELIVERY_FAILED error, and the run keeps its outcome.
 */
import { isLoopdError } from "../domain/errors.js";
import {
  type PrSpec,
  pullRequestBody,
  pullRequestTitle,
  type RunDelivery,
  withoutCredentials,
} from "../domain/run-delivery.js";
import { apiUrlFor, type GithubAccess, resolveGithubAccess } from "../github/access.js";
import { githubClient } from "../github/client.js";
import { openOrUpdatePull } from "../github/open-pull.js";
import { type HostedRepo, parseRepoRef } from "../github/repo-ref.js";
import { type DeliverRequest, deliveryError, pushWork } from "./deliver.js";
import { gitText } from "./git.js";
import { gitAuthEnv } from "./github-git.js";

export interface PullRequestRequest {
  spec: PrSpec;
  routine: string;
  runId: number;
  /** Already redacted. */
  summary: string | null;
  costUsd: number | null;
  /** The daemon's environment, where the token is looked up. */
  env: Record<string, string | undefined>;
  /** loopd.yaml's `github.apiUrl`. */
  apiUrl?: string | undefined;
}

/** Pushes the delivered branch and opens or updates its pull request; the delivery says what became of both. */
export async function deliverPullRequest(
  repoDir: string,
  baseCommit: string,
  delivery: RunDelivery,
  request: DeliverRequest,
): Promise<RunDelivery> {
  const pr = request.pr;
  const push = request.push;
  if (!pr || !push || delivery.commit === null) return delivery;
  const remoteUrl = await gitText(["remote", "get-url", push.remote], { cwd: repoDir }).catch(
    () => push.remote,
  );
  const target = githubRepo(pr.spec, remoteUrl);
  if (target === null) {
    return {
      ...delivery,
      error: deliveryError(
        `not pushed: the GitHub repository of remote ${withoutCredentials(remoteUrl)} is unknown`,
        "Set `pr.repo: owner/name` on the routine (needed when the remote is a path or a mirror).",
      ),
    };
  }
  let access: GithubAccess;
  try {
    const resolved = await resolveGithubAccess(pr.env, pr.apiUrl, { tokenEnv: pr.spec.tokenEnv });
    access = { ...resolved, apiUrl: apiUrlFor(target, resolved) };
  } catch (error) {
    return { ...delivery, error: fromLoopdError(error, "not pushed: no GitHub token") };
  }
  const pushed = await pushWork(repoDir, baseCommit, delivery, request, tokenEnvFor(remoteUrl, access));
  if (!pushed.pushed) return pushed;
  const github = githubClient(access);
  try {
    const base = pr.spec.base ?? (await github.repository(target)).defaultBranch;
    const facts = {
      routine: pr.routine,
      runId: pr.runId,
      summary: pr.summary,
      costUsd: pr.costUsd,
      diffStat:
        (await gitText(["diff", "--shortstat", baseCommit, delivery.commit], { cwd: repoDir }).catch(
          () => "",
        )) || null,
      commit: delivery.commit,
    };
    const { pull, created } = await openOrUpdatePull(github, target, {
      branch: push.branch,
      base,
      title: pullRequestTitle(pr.spec.title, facts),
      body: pullRequestBody(facts),
      draft: pr.spec.draft,
      labels: pr.spec.labels,
    });
    return { ...pushed, pullRequest: { number: pull.number, url: pull.htmlUrl, created } };
  } catch (error) {
    return {
      ...pushed,
      pullRequest: null,
      error: fromLoopdError(error, `pushed ${push.branch}, but the pull request could not be opened`),
    };
  }
}

/** `pr.repo`, else the remote's URL read as a GitHub repository. */
function githubRepo(spec: PrSpec, remoteUrl: string): HostedRepo | null {
  const fromRemote = parseRepoRef(remoteUrl);
  if (spec.repo) {
    const [owner, repo] = spec.repo.split("/") as [string, string];
    return { host: fromRemote?.host ?? "github.com", owner, repo };
  }
  return fromRemote && /^[a-z]+:\/\/|^[^/]+@[^/]+:/i.test(remoteUrl) ? fromRemote : null;
}

/**
 * The token goes to git only for an https remote on the GitHub it belongs to (api.github.com
 * → github.com; an Enterprise or test API → its own host): never to another host.
 */
function tokenEnvFor(remoteUrl: string, access: GithubAccess): Record<string, string> {
  if (!/^https?:\/\//i.test(remoteUrl)) return {};
  const apiHost = new URL(access.apiUrl).host;
  const gitHost = apiHost === "api.github.com" ? "github.com" : apiHost;
  return new URL(remoteUrl).host === gitHost ? gitAuthEnv({ url: remoteUrl, token: access.token }) : {};
}

function fromLoopdError(error: unknown, context: string): NonNullable<RunDelivery["error"]> {
  if (isLoopdError(error)) return deliveryError(`${context}: ${error.message}`, error.hint);
  return deliveryError(
    `${context}: ${error instanceof Error ? error.message : String(error)}`,
    "Read the message; the work is on the local run branch.",
  );
}
