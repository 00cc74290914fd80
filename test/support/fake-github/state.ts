/**
 * The fake GitHub's fixtures: what a test sets up and mutates between evaluations. Field names
 * are GitHub's own (REST snake_case, GraphQL camelCase) so a fixture reads like the API answer
 * it becomes; the server fills in the rest of each object (ids, URLs, users) in GitHub's shape.
 *
 * Keys name the subject the way loopd writes it: `owner/repo#N` for issues, pull requests,
 * reviews and discussions, `owner/repo@ref` for check runs and statuses (`ref` is the branch
 * name or sha exactly as requested; the fake does not resolve branches to commits).
 */

export interface IssueFixture {
  title: string;
  state: "open" | "closed";
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
  head: { ref: string; sha: string };
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
  closed?: boolean;
  stateReason?: "RESOLVED" | "OUTDATED" | "DUPLICATE" | "REOPENED" | null;
  /** Null for discussions outside a Q&A category, as GitHub answers. */
  isAnswered?: boolean | null;
  answer?: { author: string } | null;
  answerChosenAt?: string | null;
  comments?: number;
  updatedAt?: string;
}

export interface FakeGithubState {
  issues: Record<string, IssueFixture>;
  pulls: Record<string, PullFixture>;
  reviews: Record<string, ReviewFixture[]>;
  checkRuns: Record<string, CheckRunFixture[]>;
  statuses: Record<string, StatusFixture[]>;
  discussions: Record<string, DiscussionFixture>;
  /** `owner/repo`s the token may not read: REST answers 403 "Resource not accessible…". */
  forbidden: string[];
  /** While set, every request is refused as over the rate limit until `resetAt` (epoch seconds). */
  rateLimit: { resetAt: number; secondary?: boolean } | null;
  /** While set, every request answers this status (502, 503…) with GitHub's error page body. */
  serverError: number | null;
}

export function emptyState(): FakeGithubState {
  return {
    issues: {},
    pulls: {},
    reviews: {},
    checkRuns: {},
    statuses: {},
    discussions: {},
    forbidden: [],
    rateLimit: null,
    serverError: null,
  };
}
