/**
 * Whether the remote has a branch, asked of git itself (`ls-remote`) with the token in the
 * child's environment like every other remote call: the fix branch of an issue may exist from
 * an earlier run even when no pull request is open from it (a person closed it).
 */
import { LoopdError } from "../../domain/errors.js";
import { withoutCredentials } from "../../domain/run-delivery.js";
import { gitText } from "../../workspace/git.js";
import { type GitRemote, gitAuthEnv } from "../../workspace/github-git.js";

/** The branch's head sha on the remote, null when there is no such branch. */
export async function remoteBranchSha(
  dir: string,
  remote: GitRemote,
  branch: string,
  signal?: AbortSignal,
): Promise<string | null> {
  try {
    const out = await gitText(["ls-remote", "--heads", remote.url, `refs/heads/${branch}`], {
      cwd: dir,
      env: gitAuthEnv(remote),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(120_000)]) : AbortSignal.timeout(120_000),
    });
    return out.split(/\s+/)[0] || null;
  } catch (error) {
    const stderr = (error as LoopdError).details as { stderr?: string } | undefined;
    throw new LoopdError(
      "LOOPD_WORKSPACE_FAILED",
      `looking for ${branch} on ${withoutCredentials(remote.url)} failed: ${withoutCredentials(stderr?.stderr?.trim() || (error instanceof Error ? error.message : String(error)))}`,
      { cause: error, hint: "Check the routine's remote and that the token can read the repository." },
    );
  }
}
