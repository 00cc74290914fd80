/**
 * The fake GitHub's fixtures: what a test sets up and mutates between evaluations. Field names
 * are GitHub's own (REST snake_case, GraphQL camelCase) so a fixture reads like the API answer
 * it becomes; the server fills in the rest of each object (ids, URLs, users) in GitHub's shape.
 *
 * Keys name the subject the way loopd writes it: `owner/repo#N` for issues, pull requests,
 * reviews, comments and discussions, `owner/repo@ref` for check runs and statuses (`ref` is
 * the branch name or sha exactly as requested; the fake does not resolve branches to commits),
 * `owner/repo` for repositories and workflow runs.
 *
 * A repository may be backed by a real bare git repository (`repos[…].bare`): pull requests
 * without a fixed sha then read their head and base from it, update-branch merges in it, its
 * clone_url is served over git's smart HTTP by the fake itself (token required), and
 * comparisons count real commits.
 */

export interface IssueFixture {
  title: string;
  state: "open" | "closed";
  body?: string | null;
  labels?: string[];
  user?: string;
  state_reason?: "completed" | "not_planned" | "duplicate" | "reopened" | null;
  comments?: number;
  updated_at?: string;
  closed_at?: string | null;
}

export interface PullFixture {
  title: string;
  state: "open" | "closed";
  merged?: boolean;
  merged_at?: string | null;
  draft?: boolean;
  /** `sha` omitted: read from the repository's bare repo. `repo`: a fork's owner/name. */
  head: { ref: string; sha?: string; repo?: string };
  /** Default: the repository's default branch. */
  base?: { ref: string; sha?: string };
  /** The author's login (default octocat). */
  user?: string;
  body?: string | null;
  labels?: string[];
  mergeable?: boolean | null;
  mergeable_state?: string;
  /**
   * GitHub computes `mergeable` lazily, in the background, after a read asks for it: this many
   * reads of the pull request answer `mergeable: null, mergeable_state: "unknown"` first.
   */
  mergeable_pending?: number;
  maintainer_can_modify?: boolean;
  comments?: number;
  review_comments?: number;
  updated_at?: string;
  closed_at?: string | null;
}

export interface ReviewFixture {
  /** The reviewer's login. */
  user: string;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";
  submitted_at?: string;
}

export interface CheckRunFixture {
  name: string;
  status: "queued" | "in_progress" | "completed" | "waiting" | "requested" | "pending";
  conclusion?:
    | "success"
    | "failure"
    | "neutral"
    | "cancelled"
    | "skipped"
    | "timed_out"
    | "action_required"
    | null;
}

export interface StatusFixture {
  context: string;
  state: "error" | "failure" | "pending" | "success";
  description?: string | null;
}

export interface DiscussionFixture {
  title: string;
  body?: string;
  closed?: boolean;
  stateReason?: "RESOLVED" | "OUTDATED" | "DUPLICATE" | "REOPENED" | null;
  /** Null for discussions outside a Q&A category, as GitHub answers. */
  isAnswered?: boolean | null;
  answer?: { author: string } | null;
  answerChosenAt?: string | null;
  comments?: number;
  updatedAt?: string;
}

export interface RepoFixture {
  default_branch?: string;
  private?: boolean;
  /** Path of a bare git repository holding this repository's branches. */
  bare?: string;
  /** Branches with protection on. */
  protected?: string[];
}

export interface CommentFixture {
  id: number;
  body: string;
  user: string;
  created_at: string;
  updated_at: string;
}

export interface ReviewCommentFixture {
  id?: number;
  body: string;
  user?: string;
  path: string;
  line?: number | null;
  commit_id?: string;
  /** Default: the fake's EPOCH. */
  created_at?: string;
  updated_at?: string;
}

export interface JobFixture {
  id: number;
  name: string;
  status: "queued" | "in_progress" | "completed" | "waiting";
  conclusion?: "success" | "failure" | "cancelled" | "skipped" | "timed_out" | null;
  steps?: Array<{ name: string; conclusion?: "success" | "failure" | "skipped" | null }>;
  /** The job's log as GitHub serves it (timestamps optional). */
  log?: string;
}

/** A workflow run's artifact: its files are zipped when downloaded (or `zip` served as is). */
export interface ArtifactFixture {
  id: number;
  name: string;
  /** Path in the zip → content. */
  files?: Record<string, string>;
  /** Served instead of zipping `files` (a corrupt or hand-made archive). */
  zip?: Uint8Array;
  /** Past retention: listed with `expired: true`, its download answers 410. */
  expired?: boolean;
  /** Overrides the listed `size_in_bytes` (the zip's size otherwise). */
  sizeInBytes?: number;
}

export interface WorkflowRunFixture {
  id: number;
  name: string;
  head_sha: string;
  head_branch?: string;
  status: "queued" | "in_progress" | "completed" | "waiting" | "requested" | "pending";
  conclusion?: "success" | "failure" | "cancelled" | "skipped" | "timed_out" | "neutral" | null;
  event?: string;
  run_attempt?: number;
  jobs?: JobFixture[];
  /** The jobs of attempts before `run_attempt`, oldest first (listed with `filter=all`). */
  previousAttempts?: JobFixture[][];
  /** Artifacts of the run (of every attempt), oldest first. */
  artifacts?: ArtifactFixture[];
}

export interface FakeGithubState {
  /** The token's user (GET /user, the author of comments and pull requests made through the API). */
  user: string;
  repos: Record<string, RepoFixture>;
  issues: Record<string, IssueFixture>;
  pulls: Record<string, PullFixture>;
  reviews: Record<string, ReviewFixture[]>;
  checkRuns: Record<string, CheckRunFixture[]>;
  statuses: Record<string, StatusFixture[]>;
  discussions: Record<string, DiscussionFixture>;
  /** Conversation comments of issues and pull requests, oldest first. */
  comments: Record<string, CommentFixture[]>;
  reviewComments: Record<string, ReviewCommentFixture[]>;
  workflowRuns: Record<string, WorkflowRunFixture[]>;
  /** Ids for comments, pull requests and issues made through the API. */
  nextId: number;
  /** Requests counted against the rate limit (a 304 is not). */
  rateUsed: number;
  /** `owner/repo`s the token may not read: REST answers 403 "Resource not accessible…". */
  forbidden: string[];
  /**
   * While set, every request is refused as over the rate limit until `resetAt` (epoch seconds);
   * a secondary limit answers `retry-after` (default 60). With `refusals`, the limit lifts by
   * itself after refusing that many requests.
   */
  rateLimit: { resetAt: number; secondary?: boolean; retryAfter?: number; refusals?: number } | null;
  /** While set, every request answers this status (502, 503…) with GitHub's error page body. */
  serverError: number | null;
}

export function emptyState(): FakeGithubState {
  return {
    user: "octocat",
    repos: {},
    issues: {},
    pulls: {},
    reviews: {},
    checkRuns: {},
    statuses: {},
    discussions: {},
    comments: {},
    reviewComments: {},
    workflowRuns: {},
    nextId: 100,
    rateUsed: 0,
    forbidden: [],
    rateLimit: null,
    serverError: null,
  };
}
