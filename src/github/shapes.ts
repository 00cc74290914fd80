/**
 * GitHub's REST objects → the module's types (types.ts). Only the fields the loops use are
 * read; GitHub's objects are typed loosely here on purpose, since the same mapper serves the
 * list and the detail variants of an object (a pull request in a list lacks `mergeable`).
 */
import type {
  ArtifactInfo,
  CheckRunInfo,
  CommentInfo,
  IssueInfo,
  JobInfo,
  PullBranch,
  PullDetail,
  PullSummary,
  RepoInfo,
  ReviewCommentInfo,
  WorkflowRunInfo,
} from "./types.js";

type Json = Record<string, unknown>;
type Login = { login?: string } | null | undefined;
type Label = string | { name?: string };

const str = (value: unknown): string => (typeof value === "string" ? value : "");
const strOrNull = (value: unknown): string | null => (typeof value === "string" ? value : null);
const login = (value: unknown): string | null => (value as Login)?.login ?? null;
const labelNames = (value: unknown): string[] =>
  ((value as Label[] | undefined) ?? [])
    .map((label) => (typeof label === "string" ? label : (label.name ?? "")))
    .filter((name) => name.length > 0);

export function toRepo(data: Json): RepoInfo {
  const owner = login(data.owner) ?? str(data.full_name).split("/")[0] ?? "";
  return {
    owner,
    repo: str(data.name),
    fullName: str(data.full_name),
    defaultBranch: str(data.default_branch),
    cloneUrl: str(data.clone_url),
    htmlUrl: str(data.html_url),
    private: data.private === true,
    fork: data.fork === true,
  };
}

function toBranch(data: Json | undefined): PullBranch {
  const repo = (data?.repo ?? null) as Json | null;
  return {
    ref: str(data?.ref),
    sha: str(data?.sha),
    repo: repo ? str(repo.full_name) : null,
    cloneUrl: repo ? strOrNull(repo.clone_url) : null,
  };
}

export function toPullSummary(data: Json): PullSummary {
  return {
    number: Number(data.number),
    title: str(data.title),
    state: data.state === "closed" ? "closed" : "open",
    draft: data.draft === true,
    author: login(data.user),
    labels: labelNames(data.labels),
    htmlUrl: str(data.html_url),
    head: toBranch(data.head as Json),
    base: toBranch(data.base as Json),
    updatedAt: str(data.updated_at),
  };
}

export function toPullDetail(data: Json): PullDetail {
  const summary = toPullSummary(data);
  return {
    ...summary,
    body: strOrNull(data.body),
    merged: data.merged === true,
    mergeable: typeof data.mergeable === "boolean" ? data.mergeable : null,
    mergeableState: str(data.mergeable_state) || "unknown",
    maintainerCanModify: data.maintainer_can_modify === true,
    fromFork: summary.head.repo !== summary.base.repo,
  };
}

export function toCheckRun(data: Json): CheckRunInfo {
  const app = (data.app ?? null) as Json | null;
  const suite = (data.check_suite ?? null) as Json | null;
  return {
    id: Number(data.id),
    name: str(data.name),
    status: str(data.status),
    conclusion: strOrNull(data.conclusion),
    detailsUrl: strOrNull(data.details_url),
    app: app ? strOrNull(app.slug) : null,
    checkSuiteId: suite && typeof suite.id === "number" ? suite.id : null,
    startedAt: strOrNull(data.started_at),
    completedAt: strOrNull(data.completed_at),
  };
}

export function toWorkflowRun(data: Json): WorkflowRunInfo {
  return {
    id: Number(data.id),
    name: strOrNull(data.name),
    workflowId: Number(data.workflow_id),
    status: strOrNull(data.status),
    conclusion: strOrNull(data.conclusion),
    event: str(data.event),
    headSha: str(data.head_sha),
    headBranch: strOrNull(data.head_branch),
    runAttempt: Number(data.run_attempt ?? 1),
    htmlUrl: str(data.html_url),
    createdAt: str(data.created_at),
  };
}

export function toArtifact(data: Json): ArtifactInfo {
  return {
    id: Number(data.id),
    name: str(data.name),
    sizeInBytes: Number(data.size_in_bytes ?? 0),
    expired: data.expired === true,
    createdAt: strOrNull(data.created_at),
  };
}

export function toJob(data: Json): JobInfo {
  const steps = (data.steps ?? []) as Json[];
  return {
    id: Number(data.id),
    runId: Number(data.run_id),
    name: str(data.name),
    status: str(data.status),
    conclusion: strOrNull(data.conclusion),
    runAttempt: Number(data.run_attempt ?? 1),
    htmlUrl: strOrNull(data.html_url),
    headSha: str(data.head_sha),
    steps: steps.map((step) => ({
      number: Number(step.number),
      name: str(step.name),
      status: str(step.status),
      conclusion: strOrNull(step.conclusion),
    })),
  };
}

export function toIssue(data: Json): IssueInfo {
  return {
    number: Number(data.number),
    title: str(data.title),
    body: strOrNull(data.body),
    state: data.state === "closed" ? "closed" : "open",
    author: login(data.user),
    labels: labelNames(data.labels),
    htmlUrl: str(data.html_url),
    isPull: data.pull_request !== undefined && data.pull_request !== null,
  };
}

export function toComment(data: Json): CommentInfo {
  return {
    id: Number(data.id),
    body: str(data.body),
    author: login(data.user),
    htmlUrl: str(data.html_url),
    createdAt: str(data.created_at),
    updatedAt: str(data.updated_at),
  };
}

export function toReviewComment(data: Json): ReviewCommentInfo {
  return {
    ...toComment(data),
    path: str(data.path),
    line: typeof data.line === "number" ? data.line : null,
    commitSha: str(data.commit_id),
  };
}
