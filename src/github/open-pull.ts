/**
 * "Open or update the pull request for this branch": the one path `deliver: pr` and the
 * issue-to-pr loop take, so a redelivered event, a retried run or a second tick finds the PR
 * it opened before (the open PR whose head is the branch) and edits it instead of opening
 * another. A PR closed by a person is left closed: the next delivery opens a new one.
 */
import { isLoopdError } from "../domain/errors.js";
import type { GithubClient } from "./client.js";
import type { PullDetail, RepoRef } from "./types.js";

export interface PullRequestDraft {
  /** The head branch, in `repo` (or in `headOwner`'s fork). */
  branch: string;
  headOwner?: string;
  base: string;
  title: string;
  body: string;
  draft?: boolean;
  labels?: string[];
}

export async function openOrUpdatePull(
  github: GithubClient,
  repo: RepoRef,
  draft: PullRequestDraft,
): Promise<{ pull: PullDetail; created: boolean }> {
  const existing = await findOpenPull(github, repo, draft);
  let result: { pull: PullDetail; created: boolean };
  if (existing !== null) {
    result = { pull: await updateIfChanged(github, repo, existing, draft), created: false };
  } else {
    try {
      const pull = await github.createPull(repo, {
        head: draft.headOwner ? `${draft.headOwner}:${draft.branch}` : draft.branch,
        base: draft.base,
        title: draft.title,
        body: draft.body,
        draft: draft.draft ?? false,
      });
      result = { pull, created: true };
    } catch (error) {
      // Another delivery opened it between our look and our create: GitHub says it exists.
      const raced =
        isLoopdError(error) && error.code === "LOOPD_GITHUB_REJECTED"
          ? await findOpenPull(github, repo, draft)
          : null;
      if (raced === null) throw error;
      result = { pull: await updateIfChanged(github, repo, raced, draft), created: false };
    }
  }
  const missing = (draft.labels ?? []).filter((label) => !result.pull.labels.includes(label));
  if (missing.length > 0) {
    const labels = await github.addLabels(repo, result.pull.number, missing);
    result.pull = { ...result.pull, labels };
  }
  return result;
}

async function findOpenPull(
  github: GithubClient,
  repo: RepoRef,
  draft: PullRequestDraft,
): Promise<PullDetail | null> {
  const found = await github.findPullsByHead(repo, draft.branch, {
    ...(draft.headOwner ? { owner: draft.headOwner } : {}),
    state: "open",
  });
  const first = found[0];
  return first ? github.pull(repo, first.number) : null;
}

async function updateIfChanged(
  github: GithubClient,
  repo: RepoRef,
  pull: PullDetail,
  draft: PullRequestDraft,
): Promise<PullDetail> {
  if (pull.title === draft.title && (pull.body ?? "") === draft.body && pull.base.ref === draft.base)
    return pull;
  return github.updatePull(repo, pull.number, { title: draft.title, body: draft.body, base: draft.base });
}
