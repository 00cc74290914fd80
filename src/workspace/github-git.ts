/**
 * The git side of the GitHub loops, run in a run's worktree: fetch a pull request's branches,
 * bring the head up to date with its base (rebase or merge), and push — fast-forward for new
 * commits, `--force-with-lease` after a rebase. The token reaches git only through the child
 * process's environment (`GIT_CONFIG_COUNT`: an `http.<origin>/.extraheader`, as
 * actions/checkout sends it), so it is never in a command line, a remote URL, .git/config or
 * git's messages. A remote that is a path or file:// URL (tests, mirrors) needs no token.
 */
import { LoopdError } from "../domain/errors.js";
import { withoutCredentials } from "../domain/run-delivery.js";
import { git, gitSucceeds, gitText } from "./git.js";

export interface GitRemote {
  /** A clone URL (https from the API) or a local path / file:// URL of a bare repository. */
  url: string;
  token?: string | null;
}

export interface GitIdentity {
  name: string;
  email: string;
}

const NETWORK_TIMEOUT_MS = 120_000;
const MAX_MESSAGE_CHARS = 2000;

/** The environment that hands `remote.token` to git for `remote.url` (empty for local remotes). */
export function gitAuthEnv(remote: GitRemote): Record<string, string> {
  if (!remote.token || !/^https?:\/\//i.test(remote.url)) return {};
  const origin = new URL(remote.url).origin;
  const basic = Buffer.from(`x-access-token:${remote.token}`).toString("base64");
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: `http.${origin}/.extraheader`,
    GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}`,
  };
}

/** Fetches `branch` of the remote into `localRef` (a ref under refs/loopd/ by convention); returns its sha. */
export async function fetchBranch(
  dir: string,
  remote: GitRemote,
  branch: string,
  localRef: string,
  signal?: AbortSignal,
): Promise<string> {
  await network(
    dir,
    remote,
    ["fetch", "--quiet", "--no-tags", remote.url, `+refs/heads/${branch}:${localRef}`],
    `fetching ${branch}`,
    signal,
  );
  return gitText(["rev-parse", "--verify", `${localRef}^{commit}`], { cwd: dir });
}

/**
 * Puts the pull request's head on `localBranch` in the worktree `dir` (checked out), with its
 * base fetched beside it; returns both shas. The head may live in another repository (a fork).
 */
export async function checkoutPullBranches(
  dir: string,
  pull: { head: GitRemote & { branch: string }; base: GitRemote & { branch: string } },
  localBranch: string,
  signal?: AbortSignal,
): Promise<{ headSha: string; baseSha: string }> {
  const headSha = await fetchBranch(dir, pull.head, pull.head.branch, `refs/loopd/pr/head`, signal);
  const baseSha = await fetchBranch(dir, pull.base, pull.base.branch, `refs/loopd/pr/base`, signal);
  await git(["checkout", "--quiet", "--force", "-B", localBranch, headSha], { cwd: dir });
  return { headSha, baseSha };
}

export type IntegrateResult =
  | { status: "up-to-date"; head: string }
  | { status: "updated"; head: string }
  | { status: "conflict"; files: string[] };

/**
 * Brings the checked-out branch up to date with `base` (a sha or ref): a rebase (history
 * rewritten: push with a lease) or a merge commit (push fast-forward). A conflict is aborted,
 * leaving the branch as it was, and reported with the conflicting files.
 */
export async function integrateBase(
  dir: string,
  base: string,
  how: "rebase" | "merge",
  identity: GitIdentity,
): Promise<IntegrateResult> {
  const options = { cwd: dir, env: identityEnv(identity) };
  if (await gitSucceeds(["merge-base", "--is-ancestor", base, "HEAD"], options)) {
    return { status: "up-to-date", head: await gitText(["rev-parse", "HEAD"], options) };
  }
  const args =
    how === "rebase"
      ? ["-c", "commit.gpgSign=false", "rebase", "--quiet", "--no-autosquash", base]
      : ["-c", "commit.gpgSign=false", "merge", "--quiet", "--no-edit", "--no-ff", base];
  try {
    await git(args, options);
    return { status: "updated", head: await gitText(["rev-parse", "HEAD"], options) };
  } catch (error) {
    const files = (await gitText(["diff", "--name-only", "--diff-filter=U"], options).catch(() => ""))
      .split("\n")
      .filter(Boolean);
    await git([how, "--abort"], options).catch(() => undefined);
    if (files.length === 0) throw error;
    return { status: "conflict", files };
  }
}

/**
 * Pushes `from` (a sha or ref) to `branch` of the remote. `lease` undefined: a plain push
 * (fast-forward only); a sha: `--force-with-lease` from that sha (a rebase replaces what was
 * there, but only if nobody pushed since); null: the branch must not exist yet. A refusal is
 * LOOPD_DELIVERY_FAILED with the remote's own message.
 */
export async function pushBranch(
  dir: string,
  remote: GitRemote,
  from: string,
  branch: string,
  options: { lease?: string | null; noVerify?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  const target = `refs/heads/${branch}`;
  const args = ["push", "--quiet", ...(options.noVerify ? ["--no-verify"] : [])];
  if (options.lease !== undefined) args.push(`--force-with-lease=${target}:${options.lease ?? ""}`);
  try {
    await network(
      dir,
      remote,
      [...args, remote.url, `${from}:${target}`],
      `pushing ${branch}`,
      options.signal,
    );
  } catch (error) {
    const message = error instanceof LoopdError ? error.message : String(error);
    throw new LoopdError("LOOPD_DELIVERY_FAILED", cut(message), {
      hint: `Check the token's write access to ${withoutCredentials(remote.url)} and whether ${branch} is protected or moved since it was read.`,
      cause: error,
    });
  }
}

/** A git command that talks to the remote: token in the environment, a time limit, git's words on failure. */
async function network(
  dir: string,
  remote: GitRemote,
  args: string[],
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const timeout = AbortSignal.timeout(NETWORK_TIMEOUT_MS);
  try {
    await git(args, {
      cwd: dir,
      env: gitAuthEnv(remote),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    const stderr = (error as LoopdError).details as { stderr?: string } | undefined;
    const reason = timeout.aborted
      ? `no answer within ${NETWORK_TIMEOUT_MS / 1000}s`
      : withoutCredentials(stderr?.stderr ?? (error instanceof Error ? error.message : String(error)));
    // git asks for a user name when the remote refuses the header it was given (or none).
    const refused = /could not read (Username|Password)|Authentication failed/i.test(reason);
    throw new LoopdError(
      "LOOPD_WORKSPACE_FAILED",
      cut(
        `${what} (${withoutCredentials(remote.url)}) failed: ${
          refused
            ? `the remote refused ${remote.token ? "the token" : "access without a token"} (${reason.trim()})`
            : reason
        }`,
      ),
      {
        cause: error,
        ...(refused
          ? {
              hint: "Give the routine a token with access to the repository (GITHUB_TOKEN or its `tokenEnv`).",
            }
          : {}),
      },
    );
  }
}

function identityEnv(identity: GitIdentity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
}

function cut(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}
