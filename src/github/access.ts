/**
 * Which GitHub loopd talks to and with what token. The token is looked up in the order
 * GitHub's own CLI uses (GITHUB_TOKEN, GH_TOKEN, `gh auth token`), unless a routine names its
 * own variable (`tokenEnv`); the API base comes from loopd.yaml's `github.apiUrl`, else
 * GITHUB_API_URL, else api.github.com — and a target on another host is GitHub Enterprise.
 */
import { execa } from "execa";
import { LoopdError } from "../domain/errors.js";

export interface GithubAccess {
  apiUrl: string;
  token: string | null;
  /** Where the token came from (GITHUB_TOKEN, GH_TOKEN, `gh auth token`, a `tokenEnv`), named in auth errors. */
  tokenSource: string | null;
}

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";
export const TOKEN_HINT = "set GITHUB_TOKEN (or GH_TOKEN, or run `gh auth login`)";
const GH_TIMEOUT_MS = 5_000;

/**
 * API base and token for the daemon (or one routine). A missing or broken `gh` just means no
 * token (public repositories still work); a `tokenEnv` that is not set is an error, since the
 * routine asked for that token and no other.
 */
export async function resolveGithubAccess(
  env: Record<string, string | undefined>,
  configApiUrl?: string,
  options: { tokenEnv?: string | undefined } = {},
): Promise<GithubAccess> {
  const apiUrl = (configApiUrl || env.GITHUB_API_URL || DEFAULT_GITHUB_API_URL).replace(/\/+$/, "");
  if (options.tokenEnv) {
    const token = env[options.tokenEnv]?.trim();
    if (!token) {
      throw new LoopdError("LOOPD_GITHUB_AUTH", `tokenEnv ${options.tokenEnv} is not set for the daemon`, {
        hint: `Export ${options.tokenEnv} (a GitHub token) in the environment \`loopd serve\` runs in, or drop \`tokenEnv\` to use GITHUB_TOKEN.`,
      });
    }
    return { apiUrl, token, tokenSource: options.tokenEnv };
  }
  for (const name of ["GITHUB_TOKEN", "GH_TOKEN"]) {
    const token = env[name]?.trim();
    if (token) return { apiUrl, token, tokenSource: name };
  }
  // TODO(loopd#7): Enterprise targets reuse this token; `gh auth token --hostname <host>` per host would fit better.
  const token = await ghAuthToken(env);
  return { apiUrl, token, tokenSource: token ? "gh auth token" : null };
}

async function ghAuthToken(env: Record<string, string | undefined>): Promise<string | null> {
  try {
    // extendEnv off: the env given is the whole truth, so tests (and doctor) see what the daemon sees.
    const result = await execa("gh", ["auth", "token"], {
      env,
      extendEnv: false,
      timeout: GH_TIMEOUT_MS,
      reject: false,
      stdin: "ignore",
    });
    return result.exitCode === 0 ? result.stdout.trim() || null : null;
  } catch {
    return null;
  }
}

/**
 * The REST base for a repository on `host`. A configured API URL (loopd.yaml or GITHUB_API_URL)
 * serves every target: one daemon talks to one GitHub. With none configured, github.com targets
 * go to api.github.com and a target on any other host is GitHub Enterprise Server, whose REST
 * API is https://<host>/api/v3 (Octokit then finds GraphQL at /api/graphql).
 */
export function apiUrlFor(target: { host: string }, access: GithubAccess): string {
  const dotCom = target.host === "github.com" || target.host === "www.github.com";
  return access.apiUrl !== DEFAULT_GITHUB_API_URL || dotCom ? access.apiUrl : `https://${target.host}/api/v3`;
}
