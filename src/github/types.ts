/**
 * What the GitHub module hands to loopd: the fields the loops decide on, in loopd's names,
 * cut from GitHub's much larger REST objects (@octokit/openapi-types). Everything here is
 * plain data, safe to store in a routine's memory or show in a face.
 */

/** A repository on the GitHub the client talks to. */
export interface RepoRef {
  owner: string;
  repo: string;
}

export interface RepoInfo extends RepoRef {
  fullName: string;
  defaultBranch: string;
  /** https clone URL, as the API gives it (the git side adds the token through the environment). */
  cloneUrl: string;
  htmlUrl: string;
  private: boolean;
  fork: boolean;
}

/** One side of a pull request. `repo`/`cloneUrl` are null when a fork was deleted. */
export interface PullBranch {
  ref: string;
  sha: string;
  /** owner/name of the repository holding the branch. */
  repo: string | null;
  cloneUrl: string | null;
}

export interface PullSummary {
  number: number;
  title: string;
  state: "open" | "closed";
  draft: boolean;
  author: string | null;
  labels: string[];
  htmlUrl: string;
  head: PullBranch;
  base: PullBranch;
  updatedAt: string;
}

export interface PullDetail extends PullSummary {
  body: string | null;
  merged: boolean;
  /** null while GitHub is still computing it (ask again a little later). */
  mergeable: boolean | null;
  /** clean, behind, dirty (conflicts), blocked, unstable (non-required checks failing), draft, unknown, has_hooks. */
  mergeableState: string;
  maintainerCanModify: boolean;
  /** The head branch lives in another repository than the base. */
  fromFork: boolean;
}

/** Which open pull requests a loop watches. */
export type PullFilter = { author: string } | { label: string } | "all";

export interface Comparison {
  /** identical, ahead, behind, diverged */
  status: string;
  aheadBy: number;
  behindBy: number;
}

export interface CheckRunInfo {
  id: number;
  name: string;
  /** queued, in_progress, completed, waiting, requested, pending */
  status: string;
  /** success, failure, neutral, cancelled, skipped, timed_out, action_required, stale; null until completed */
  conclusion: string | null;
  detailsUrl: string | null;
  /** The GitHub App that made it (`github-actions` for workflow jobs). */
  app: string | null;
  checkSuiteId: number | null;
  startedAt: string | null;
  completedAt: string | null;
}

/** The latest commit status of one context. */
export interface CommitStatusInfo {
  context: string;
  /** error, failure, pending, success */
  state: string;
  description: string | null;
  targetUrl: string | null;
}

export interface WorkflowRunInfo {
  id: number;
  name: string | null;
  workflowId: number;
  status: string | null;
  conclusion: string | null;
  event: string;
  headSha: string;
  headBranch: string | null;
  runAttempt: number;
  htmlUrl: string;
  createdAt: string;
}

export interface JobStep {
  number: number;
  name: string;
  status: string;
  conclusion: string | null;
}

export interface JobInfo {
  id: number;
  runId: number;
  name: string;
  status: string;
  conclusion: string | null;
  runAttempt: number;
  htmlUrl: string | null;
  headSha: string;
  steps: JobStep[];
}

/** A workflow run's artifact (what `actions/upload-artifact` stored), as the list names it. */
export interface ArtifactInfo {
  id: number;
  name: string;
  sizeInBytes: number;
  /** Past its retention: listed, but its download answers 410 Gone. */
  expired: boolean;
  createdAt: string | null;
}

/** A failed job's log, cut to the step that failed. */
export interface JobLog {
  jobId: number;
  /** The failing step's name, when the job says which one failed. */
  step: string | null;
  /** The first `##[error]` line (timestamps removed), the usual failure signature. */
  firstError: string | null;
  text: string;
  /** Lines were cut from the log to fit. */
  truncated: boolean;
}

export interface IssueInfo {
  number: number;
  title: string;
  body: string | null;
  state: "open" | "closed";
  author: string | null;
  labels: string[];
  htmlUrl: string;
  /** GitHub numbers issues and pull requests from one sequence; this one is a pull request. */
  isPull: boolean;
}

/** An open discussion (GraphQL only: discussions have no REST list). */
export interface DiscussionInfo {
  number: number;
  title: string;
  body: string;
  url: string;
}

export interface CommentInfo {
  id: number;
  body: string;
  author: string | null;
  htmlUrl: string;
  createdAt: string;
  updatedAt: string;
}

/** A review comment on a line of a pull request's diff. */
export interface ReviewCommentInfo extends CommentInfo {
  path: string;
  line: number | null;
  commitSha: string;
}
