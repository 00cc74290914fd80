/**
 * The GitHub calls loopd's loops make, one method each, in loopd's types (types.ts). Reads go
 * through the api's conditional-request memory (api.ts), lists are read whole (every page,
 * 100 a page), and every failure is a LoopdError naming what was asked (errors.ts).
 *
 *   const github = githubClient(await resolveGithubAccess(process.env));
 *   const pulls = await github.listOpenPulls({ owner: "acme", repo: "web" }, { label: "babysit" });
 */

import type { GithubAccess } from "./access.js";
import { GithubApi, type GithubApiOptions } from "./api.js";
import { downloadBlob, refuseOversized } from "./artifact-download.js";
import { type TrimOptions, trimJobLog } from "./job-log.js";
import {
  toArtifact,
  toCheckRun,
  toComment,
  toIssue,
  toJob,
  toPullDetail,
  toPullSummary,
  toRepo,
  toReviewComment,
  toWorkflowRun,
} from "./shapes.js";
import type {
  ArtifactInfo,
  CheckRunInfo,
  CommentInfo,
  CommitStatusInfo,
  Comparison,
  DiscussionInfo,
  IssueInfo,
  JobInfo,
  JobLog,
  PullDetail,
  PullFilter,
  PullSummary,
  RepoInfo,
  RepoRef,
  ReviewCommentInfo,
  WorkflowRunInfo,
} from "./types.js";

type Json = Record<string, unknown>;
const PAGE = { per_page: 100 } as const;
const name = (repo: RepoRef) => `${repo.owner}/${repo.repo}`;

export interface NewPull {
  /** The head branch; a branch in a fork is `owner:branch`. */
  head: string;
  base: string;
  title: string;
  body: string;
  draft?: boolean;
}

export interface PullChanges {
  title?: string;
  body?: string;
  base?: string;
  state?: "open" | "closed";
}

export class GithubClient {
  readonly api: GithubApi;

  constructor(access: GithubAccess, options: GithubApiOptions = {}) {
    this.api = new GithubApi(access, options);
  }

  /** The token's own user (whose PRs `prs: mine` means). */
  async authenticatedUser(): Promise<{ login: string }> {
    const user = await this.api.call("reading the token's user", (o) => o.rest.users.getAuthenticated());
    return { login: user.data.login };
  }

  async repository(repo: RepoRef): Promise<RepoInfo> {
    const answer = await this.api.call(`reading ${name(repo)}`, (o) => o.rest.repos.get({ ...repo }));
    return toRepo(answer.data as unknown as Json);
  }

  /** Whether branch protection is on for `branch` (readable without admin rights). */
  async branchProtected(repo: RepoRef, branch: string): Promise<boolean> {
    const answer = await this.api.call(`reading branch ${branch} of ${name(repo)}`, (o) =>
      o.rest.repos.getBranch({ ...repo, branch }),
    );
    return answer.data.protected;
  }

  /** Open pull requests, all or by author login or label, oldest first. */
  async listOpenPulls(repo: RepoRef, filter: PullFilter = "all"): Promise<PullSummary[]> {
    const pulls = await this.api.call(`listing the open pull requests of ${name(repo)}`, (o) =>
      o.paginate(o.rest.pulls.list, { ...repo, state: "open", sort: "created", direction: "asc", ...PAGE }),
    );
    return pulls
      .map((pull) => toPullSummary(pull as unknown as Json))
      .filter((pull) =>
        filter === "all"
          ? true
          : "author" in filter
            ? pull.author?.toLowerCase() === filter.author.toLowerCase()
            : pull.labels.includes(filter.label),
      );
  }

  /** Pull requests whose head is `branch` (of `owner`, default the repository's owner). */
  async findPullsByHead(
    repo: RepoRef,
    branch: string,
    options: { owner?: string; state?: "open" | "closed" | "all" } = {},
  ): Promise<PullSummary[]> {
    const head = `${options.owner ?? repo.owner}:${branch}`;
    const pulls = await this.api.call(`finding pull requests from ${head} in ${name(repo)}`, (o) =>
      o.paginate(o.rest.pulls.list, { ...repo, head, state: options.state ?? "all", ...PAGE }),
    );
    return pulls.map((pull) => toPullSummary(pull as unknown as Json));
  }

  async pull(repo: RepoRef, number: number): Promise<PullDetail> {
    const answer = await this.api.call(`reading ${name(repo)}#${number}`, (o) =>
      o.rest.pulls.get({ ...repo, pull_number: number }),
    );
    return toPullDetail(answer.data as unknown as Json);
  }

  async createPull(repo: RepoRef, pull: NewPull): Promise<PullDetail> {
    const answer = await this.api.call(`opening a pull request from ${pull.head} in ${name(repo)}`, (o) =>
      o.rest.pulls.create({ ...repo, ...pull, draft: pull.draft ?? false }),
    );
    return toPullDetail(answer.data as unknown as Json);
  }

  async updatePull(repo: RepoRef, number: number, changes: PullChanges): Promise<PullDetail> {
    const answer = await this.api.call(`updating ${name(repo)}#${number}`, (o) =>
      o.rest.pulls.update({ ...repo, pull_number: number, ...changes }),
    );
    return toPullDetail(answer.data as unknown as Json);
  }

  /**
   * Merges the base into the PR's head branch on GitHub (no agent, no clone). With
   * `expectedHeadSha`, GitHub refuses (LOOPD_GITHUB_REJECTED) if the head moved meanwhile.
   */
  async updateBranch(repo: RepoRef, number: number, expectedHeadSha?: string): Promise<void> {
    await this.api.call(`updating the branch of ${name(repo)}#${number}`, (o) =>
      o.rest.pulls.updateBranch({
        ...repo,
        pull_number: number,
        ...(expectedHeadSha ? { expected_head_sha: expectedHeadSha } : {}),
      }),
    );
  }

  /** How `head` relates to `base` (refs or shas); `behindBy` is what the base has that head lacks. */
  async compare(repo: RepoRef, base: string, head: string): Promise<Comparison> {
    const answer = await this.api.call(`comparing ${base}...${head} in ${name(repo)}`, (o) =>
      o.rest.repos.compareCommitsWithBasehead({ ...repo, basehead: `${base}...${head}`, per_page: 1 }),
    );
    const data = answer.data;
    return { status: data.status, aheadBy: data.ahead_by, behindBy: data.behind_by };
  }

  /** How many commits of its base branch a pull request lacks. */
  async behindBy(repo: RepoRef, pull: Pick<PullSummary, "base" | "head">): Promise<number> {
    return (await this.compare(repo, pull.base.ref, pull.head.sha)).behindBy;
  }

  async checkRuns(repo: RepoRef, sha: string): Promise<CheckRunInfo[]> {
    const runs = await this.api.call(`reading the check runs of ${sha} in ${name(repo)}`, (o) =>
      o.paginate(o.rest.checks.listForRef, { ...repo, ref: sha, ...PAGE }),
    );
    return runs.map((run) => toCheckRun(run as unknown as Json));
  }

  /** The latest status of each context (GitHub lists newest first). */
  async commitStatuses(repo: RepoRef, sha: string): Promise<CommitStatusInfo[]> {
    const statuses = await this.api.call(`reading the statuses of ${sha} in ${name(repo)}`, (o) =>
      o.paginate(o.rest.repos.listCommitStatusesForRef, { ...repo, ref: sha, ...PAGE }),
    );
    const latest = new Map<string, CommitStatusInfo>();
    for (const status of statuses) {
      if (latest.has(status.context)) continue;
      latest.set(status.context, {
        context: status.context,
        state: status.state,
        description: status.description ?? null,
        targetUrl: status.target_url ?? null,
      });
    }
    return [...latest.values()];
  }

  async workflowRuns(repo: RepoRef, headSha: string): Promise<WorkflowRunInfo[]> {
    const runs = await this.api.call(`reading the workflow runs of ${headSha} in ${name(repo)}`, (o) =>
      o.paginate(o.rest.actions.listWorkflowRunsForRepo, { ...repo, head_sha: headSha, ...PAGE }),
    );
    return runs.map((run) => toWorkflowRun(run as unknown as Json));
  }

  /** The latest completed workflow runs on a branch, newest first (one page: `limit` at most 100). */
  async branchWorkflowRuns(repo: RepoRef, branch: string, limit: number): Promise<WorkflowRunInfo[]> {
    const answer = await this.api.call(`reading the workflow runs of ${branch} in ${name(repo)}`, (o) =>
      o.rest.actions.listWorkflowRunsForRepo({ ...repo, branch, status: "completed", per_page: limit }),
    );
    return answer.data.workflow_runs.map((run) => toWorkflowRun(run as unknown as Json));
  }

  /** The jobs of every attempt of a workflow run (a job failed, then passed on a re-run, is there twice). */
  async allAttemptJobs(repo: RepoRef, runId: number): Promise<JobInfo[]> {
    const jobs = await this.api.call(`reading the jobs of workflow run ${runId} in ${name(repo)}`, (o) =>
      o.paginate(o.rest.actions.listJobsForWorkflowRun, { ...repo, run_id: runId, filter: "all", ...PAGE }),
    );
    return jobs.map((job) => toJob(job as unknown as Json));
  }

  /** The jobs of a workflow run's latest attempt. */
  async jobs(repo: RepoRef, runId: number): Promise<JobInfo[]> {
    const jobs = await this.api.call(`reading the jobs of workflow run ${runId} in ${name(repo)}`, (o) =>
      o.paginate(o.rest.actions.listJobsForWorkflowRun, {
        ...repo,
        run_id: runId,
        filter: "latest",
        ...PAGE,
      }),
    );
    return jobs.map((job) => toJob(job as unknown as Json));
  }

  /** A job's log, cut to its failing step (the first step whose conclusion is failure). */
  async jobLog(
    repo: RepoRef,
    job: Pick<JobInfo, "id" | "steps">,
    options: TrimOptions = {},
  ): Promise<JobLog> {
    const answer = await this.api.call(`downloading the log of job ${job.id} in ${name(repo)}`, (o) =>
      o.rest.actions.downloadJobLogsForWorkflowRun({ ...repo, job_id: job.id }),
    );
    const data = answer.data as unknown;
    const text =
      typeof data === "string" ? data : data instanceof ArrayBuffer ? new TextDecoder().decode(data) : "";
    const failing = job.steps.find((step) => step.conclusion === "failure")?.name ?? null;
    return trimJobLog(job.id, text, failing, options);
  }

  /** The artifacts of a workflow run (of every attempt), expired ones included. */
  async runArtifacts(repo: RepoRef, runId: number): Promise<ArtifactInfo[]> {
    const artifacts = await this.api.call(
      `listing the artifacts of workflow run ${runId} in ${name(repo)}`,
      (o) => o.paginate(o.rest.actions.listWorkflowRunArtifacts, { ...repo, run_id: runId, ...PAGE }),
    );
    return artifacts.map((artifact) => toArtifact(artifact as unknown as Json));
  }

  /**
   * An artifact's zip. GitHub answers 302 to a short-lived signed URL on its blob storage,
   * which is fetched without the token (the storage refuses an Authorization header, and
   * the token has no business leaving GitHub). More than `maxBytes` is refused
   * (LOOPD_GITHUB_ARTIFACT_TOO_LARGE) without reading the rest.
   */
  async downloadArtifact(
    repo: RepoRef,
    artifact: Pick<ArtifactInfo, "id" | "name">,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<Uint8Array> {
    const what = `downloading artifact ${artifact.name} (${artifact.id}) of ${name(repo)}`;
    const answer = await this.api.call(what, (o) =>
      o.rest.actions.downloadArtifact({
        ...repo,
        artifact_id: artifact.id,
        archive_format: "zip",
        request: { redirect: "manual" },
      }),
    );
    const location = (answer.headers as Record<string, unknown>).location;
    if (typeof location === "string" && answer.status >= 300 && answer.status < 400) {
      return downloadBlob(new URL(location, this.api.access.apiUrl), what, options);
    }
    // A server that answers the zip itself (no redirect).
    const data = answer.data as unknown;
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(0);
    refuseOversized(bytes.byteLength, what, options.maxBytes);
    return bytes;
  }

  async rerunFailedJobs(repo: RepoRef, runId: number): Promise<void> {
    await this.api.call(`re-running the failed jobs of workflow run ${runId} in ${name(repo)}`, (o) =>
      o.rest.actions.reRunWorkflowFailedJobs({ ...repo, run_id: runId }),
    );
  }

  /** An issue or a pull request's conversation side (labels, body, author). */
  async issue(repo: RepoRef, number: number): Promise<IssueInfo> {
    const answer = await this.api.call(`reading ${name(repo)}#${number}`, (o) =>
      o.rest.issues.get({ ...repo, issue_number: number }),
    );
    return toIssue(answer.data as unknown as Json);
  }

  /** Open issues carrying `label` (all open issues without one), oldest first; pull requests left out. */
  async listOpenIssues(repo: RepoRef, options: { label?: string } = {}): Promise<IssueInfo[]> {
    const issues = await this.api.call(`listing the open issues of ${name(repo)}`, (o) =>
      o.paginate(o.rest.issues.listForRepo, {
        ...repo,
        state: "open",
        sort: "created",
        direction: "asc",
        ...(options.label ? { labels: options.label } : {}),
        ...PAGE,
      }),
    );
    return issues.map((issue) => toIssue(issue as unknown as Json)).filter((issue) => !issue.isPull);
  }

  /** The conversation comments of an issue or pull request, oldest first. */
  async issueComments(repo: RepoRef, number: number): Promise<CommentInfo[]> {
    const comments = await this.api.call(`reading the comments of ${name(repo)}#${number}`, (o) =>
      o.paginate(o.rest.issues.listComments, { ...repo, issue_number: number, ...PAGE }),
    );
    return comments.map((comment) => toComment(comment as unknown as Json));
  }

  async createComment(repo: RepoRef, number: number, body: string): Promise<CommentInfo> {
    const answer = await this.api.call(`commenting on ${name(repo)}#${number}`, (o) =>
      o.rest.issues.createComment({ ...repo, issue_number: number, body }),
    );
    return toComment(answer.data as unknown as Json);
  }

  async updateComment(repo: RepoRef, commentId: number, body: string): Promise<CommentInfo> {
    const answer = await this.api.call(`editing comment ${commentId} in ${name(repo)}`, (o) =>
      o.rest.issues.updateComment({ ...repo, comment_id: commentId, body }),
    );
    return toComment(answer.data as unknown as Json);
  }

  /** Review comments on the lines of a pull request's diff, oldest first. */
  async reviewComments(repo: RepoRef, number: number): Promise<ReviewCommentInfo[]> {
    const comments = await this.api.call(`reading the review comments of ${name(repo)}#${number}`, (o) =>
      o.paginate(o.rest.pulls.listReviewComments, { ...repo, pull_number: number, ...PAGE }),
    );
    return comments.map((comment) => toReviewComment(comment as unknown as Json));
  }

  /** Adds labels (existing ones stay); returns the issue's labels after. */
  async addLabels(repo: RepoRef, number: number, labels: string[]): Promise<string[]> {
    if (labels.length === 0) return (await this.issue(repo, number)).labels;
    const answer = await this.api.call(`labelling ${name(repo)}#${number}`, (o) =>
      o.rest.issues.addLabels({ ...repo, issue_number: number, labels }),
    );
    return answer.data.map((label) => label.name);
  }

  /** Removes a label; one the issue does not carry is not an error. */
  async removeLabel(repo: RepoRef, number: number, label: string): Promise<void> {
    try {
      await this.api.call(`removing label ${label} from ${name(repo)}#${number}`, (o) =>
        o.rest.issues.removeLabel({ ...repo, issue_number: number, name: label }),
      );
    } catch (error) {
      if ((error as { code?: string }).code !== "LOOPD_GITHUB_NOT_FOUND") throw error;
    }
  }

  /** Open discussions, oldest first, every page (GraphQL: a discussion list costs a query a page). */
  async listOpenDiscussions(repo: RepoRef): Promise<DiscussionInfo[]> {
    const discussions: DiscussionInfo[] = [];
    let after: string | null = null;
    for (;;) {
      const answer: DiscussionPage = await this.graphql<DiscussionPage>(
        `listing the open discussions of ${name(repo)}`,
        `query($owner: String!, $name: String!, $after: String) {
          repository(owner: $owner, name: $name) {
            discussions(first: 100, after: $after, states: [OPEN]) {
              nodes { number title body url }
              pageInfo { hasNextPage endCursor }
            }
          }
        }`,
        { owner: repo.owner, name: repo.repo, after },
      );
      const page = answer.repository?.discussions;
      if (!page) break;
      for (const node of page.nodes) {
        discussions.push({ number: node.number, title: node.title, body: node.body ?? "", url: node.url });
      }
      if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
      after = page.pageInfo.endCursor;
    }
    return discussions;
  }

  /** A GraphQL query (no conditional requests there: GraphQL answers are never 304). */
  graphql<T>(what: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    return this.api.call(what, (o) => o.graphql<T>(query, variables));
  }
}

interface DiscussionPage {
  repository: {
    discussions: {
      nodes: Array<{ number: number; title: string; body: string | null; url: string }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  } | null;
}

/** A client for one access, for as long as the process lives (its ETag memory is the point). */
const clients = new Map<string, GithubClient>();
const MAX_CLIENTS = 20;

export function githubClient(access: GithubAccess, options: GithubApiOptions = {}): GithubClient {
  const key = `${access.apiUrl}\n${access.token ?? ""}`;
  const existing = clients.get(key);
  if (existing) return existing;
  const client = new GithubClient(access, options);
  clients.set(key, client);
  if (clients.size > MAX_CLIENTS) clients.delete(clients.keys().next().value!);
  return client;
}
