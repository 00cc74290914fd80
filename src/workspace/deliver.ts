/**
 * Delivering a run's work in git (a routine's `deliver`), called by WorkspaceManager.finish()
 * before the worktree can go back to the pool: whatever the agent left uncommitted is
 * committed on the run branch (loopd's own `.loopd/` files excluded, the repo's hooks run
 * unless `git.noVerify`), and with `push` the branch goes to the routine's remote (`pr` then
 * opens a pull request from it: deliver-pr.ts). Neither step throws: a refused commit or push
 * becomes the delivery's error, with git's (or the remote's) message, and never with
 * credentials from a remote URL.
 */
import { LoopdError } from "../domain/errors.js";
import { branchMatches, type RunDelivery, withoutCredentials } from "../domain/run-delivery.js";
import type { PullRequestRequest } from "./deliver-pr.js";
import { git, gitSucceeds, gitText } from "./git.js";

export interface DeliverRequest {
  mode: "commit" | "push" | "pr";
  /** Paragraphs of the commit message: the run's summary, then the `Loopd-Run:` trailer. */
  message: string[];
  author: { name: string; email: string };
  /** Skip commit and pre-push hooks. */
  noVerify: boolean;
  /** Names already filled in (`{routine}`, `{run}`); used with modes "push" and "pr". */
  push?: { remote: string; branch: string; force: string };
  /** mode "pr": the pull request to open or update once the branch is pushed. */
  pr?: PullRequestRequest;
  /**
   * The run's redactor: work that holds a secret's value (an agent that wrote its token into
   * a file) is committed locally like any other, but never leaves the machine.
   */
  redact?: (text: string) => string;
}

/** Commit hooks may lint or test; one that hangs must not hold the run (and its slot) forever. */
const COMMIT_TIMEOUT_MS = 10 * 60_000;
/** A push that hangs (a remote that never answers) must not hold the run forever. */
const PUSH_TIMEOUT_MS = 120_000;
/** How much of the run's diff is searched for secret values before a push. */
const MAX_SCANNED_DIFF_BYTES = 64 * 1024 * 1024;
/** git's message is kept for the user; a remote that talks at length is cut. */
const MAX_MESSAGE_CHARS = 2000;

/**
 * Commits what the agent left uncommitted in `dir` (a worktree's top level) on its branch.
 * `excluded` are loopd's own paths (relative to `dir`), never committed. Returns the delivery
 * with `commit` set to the branch head holding the work, or null with an error.
 */
export async function commitWork(
  dir: string,
  runBranch: string,
  request: DeliverRequest,
  excluded: string[],
): Promise<RunDelivery> {
  const delivery: RunDelivery = {
    mode: request.mode,
    branch: runBranch,
    commit: null,
    pushed: false,
    remote: null,
    remoteBranch: null,
    skipped: null,
    error: null,
  };
  const options = {
    cwd: dir,
    env: identityEnv(request.author),
    signal: AbortSignal.timeout(COMMIT_TIMEOUT_MS),
  };
  try {
    const pathspecs = excluded.map((path) => `:(exclude,top)${path}`);
    await git(["add", "--all", "--", ".", ...pathspecs], options);
    // The agent may have staged loopd's files itself: they stay as the base had them.
    if (excluded.length > 0)
      await git(["reset", "--quiet", "--", ...excluded.map((path) => `:(top)${path}`)], options);
    if (!(await gitSucceeds(["diff", "--cached", "--quiet"], options))) {
      await git(
        [
          // Signing would need the user's key (and could wait for a passphrase): loopd's commits are unsigned.
          "-c",
          "commit.gpgSign=false",
          "commit",
          "--quiet",
          ...(request.noVerify ? ["--no-verify"] : []),
          ...request.message.flatMap((paragraph) => ["-m", paragraph]),
        ],
        options,
      );
    }
    delivery.commit = await gitText(["rev-parse", "--verify", "HEAD"], options);
    const onBranch = await gitText(["symbolic-ref", "--quiet", "--short", "HEAD"], options).catch(() => "");
    if (onBranch) delivery.branch = onBranch;
    // A detached HEAD (the agent checked out a commit) would leave the work on no branch at all.
    else await git(["update-ref", `refs/heads/${runBranch}`, delivery.commit], options);
  } catch (error) {
    delivery.commit = null;
    delivery.error = deliveryError(
      `could not commit the run's work on ${runBranch}: ${
        options.signal.aborted
          ? `git commit took longer than ${COMMIT_TIMEOUT_MS / 60_000} minutes`
          : gitMessage(error)
      }`,
      request.noVerify
        ? "Fix what git reports; the worktree was kept with the work uncommitted (the run's workspace)."
        : "A commit hook may have refused it: fix the hook's complaint, or set `git.noVerify: true` to skip hooks. The worktree was kept with the work uncommitted.",
    );
  }
  return delivery;
}

/**
 * Pushes the delivered branch (the run's commits since `baseCommit`) to the remote in
 * `repoDir`; the delivery records where it went or why not. `gitEnv` adds to git's
 * environment (a token's http.extraheader: never on a command line or on disk).
 */
export async function pushWork(
  repoDir: string,
  baseCommit: string,
  delivery: RunDelivery,
  request: DeliverRequest,
  gitEnv: Record<string, string> = {},
): Promise<RunDelivery> {
  const push = request.push;
  if (!push || delivery.commit === null) return delivery;
  const signal = AbortSignal.timeout(PUSH_TIMEOUT_MS);
  const options = { cwd: repoDir, signal, env: gitEnv };
  const remoteUrl = await gitText(["remote", "get-url", push.remote], options).catch(() => push.remote);
  const result: RunDelivery = {
    ...delivery,
    remote: withoutCredentials(remoteUrl),
    remoteBranch: push.branch,
  };
  const target = `refs/heads/${push.branch}`;
  const secrets = request.redact
    ? await secretsIn(repoDir, baseCommit, delivery.commit, request.redact).catch(() => [])
    : [];
  if (secrets.length > 0) {
    result.error = deliveryError(
      `not pushed: the run's work contains the value of ${secrets.join(", ")}`,
      `The commit stays on the local branch ${delivery.branch}: remove the value (\`git show ${delivery.branch}\`), then push by hand.`,
    );
    return result;
  }
  try {
    const args = ["push", "--quiet", ...(request.noVerify ? ["--no-verify"] : [])];
    if (branchMatches(push.force, push.branch)) {
      // loopd owns these branches (a later run may replace an earlier one's), but only from the
      // state it just saw: a push by someone else in between makes this one fail, not vanish.
      const current = (await gitText(["ls-remote", push.remote, target], options)).split(/\s/)[0] ?? "";
      args.push(`--force-with-lease=${target}:${current}`);
    }
    await git([...args, push.remote, `${delivery.commit}:${target}`], options);
    result.pushed = true;
  } catch (error) {
    const timedOut = signal.aborted;
    result.error = deliveryError(
      timedOut
        ? `pushing ${delivery.branch} to ${result.remote} took longer than ${PUSH_TIMEOUT_MS / 1000}s`
        : `the remote refused the push of ${delivery.branch} to ${result.remote} ${push.branch}: ${gitMessage(error)}`,
      `The work is on the local branch ${delivery.branch}. Fix the remote (access, protected branch, hooks) and push it with \`git push ${push.remote} ${delivery.branch}:${push.branch}\`.`,
    );
  }
  return result;
}

/** Names of the secrets whose values appear in what the run changed (its diff from the base). */
async function secretsIn(
  repoDir: string,
  baseCommit: string,
  commit: string,
  redact: (text: string) => string,
): Promise<string[]> {
  const diff = (
    await git(["diff", "--text", "--no-color", "--no-ext-diff", "--no-textconv", baseCommit, commit], {
      cwd: repoDir,
      maxOutput: MAX_SCANNED_DIFF_BYTES,
    })
  ).stdout.toString("utf8");
  const redacted = redact(diff);
  if (redacted === diff) return [];
  return [
    ...new Set([...redacted.matchAll(/\[redacted:([A-Za-z_][A-Za-z0-9_]*)\]/g)].map((match) => match[1]!)),
  ];
}

function identityEnv(author: { name: string; email: string }): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  };
}

export function deliveryError(message: string, hint: string): NonNullable<RunDelivery["error"]> {
  const text = withoutCredentials(message);
  return {
    code: "LOOPD_DELIVERY_FAILED",
    message: text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text,
    hint: withoutCredentials(hint),
  };
}

/** git's own words (stderr), without the command line loopd ran. */
function gitMessage(error: unknown): string {
  if (error instanceof LoopdError) {
    const details = error.details as { stderr?: string } | undefined;
    if (details?.stderr) return details.stderr;
  }
  return error instanceof Error ? error.message : String(error);
}
