/**
 * The GitHub module: token and API resolution, one client per GitHub with conditional requests
 * and rate-limit handling, the calls loopd's loops make, and the two idempotent writes they
 * share (the sticky comment, open-or-update the PR for a branch). The git side (fetch, rebase,
 * push with the token in the environment) is workspace/github-git.ts.
 */
export { apiUrlFor, DEFAULT_GITHUB_API_URL, type GithubAccess, resolveGithubAccess } from "./access.js";
export type { GithubApiOptions, GithubApiStats } from "./api.js";
export { GithubClient, githubClient, type NewPull, type PullChanges } from "./client.js";
export { trimJobLog } from "./job-log.js";
export { openOrUpdatePull, type PullRequestDraft } from "./open-pull.js";
export { type HostedRepo, parseRepoRef } from "./repo-ref.js";
export { findStickyComment, type StickyAction, stickyMarker, upsertStickyComment } from "./sticky-comment.js";
export type * from "./types.js";
