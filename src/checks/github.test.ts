/**
 * How the github check reaches GitHub and what it says when it cannot: token and API URL
 * precedence (with a fake `gh`, never the real one), the Enterprise API base, and every
 * failure mapped to an error result — refused token, private repo without a token, rate
 * limits, GitHub down — against the fake GitHub over real HTTP.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { useTempDirs } from "../../test/helpers/temp-dirs.js";
import {
  type FakeGithub,
  type FakeGithubOptions,
  startFakeGithub,
} from "../../test/support/fake-github/server.js";
import { type CheckSpec, toCheckSpec } from "../domain/check.js";
import type { GithubCheckConfig } from "../domain/config-checks.js";
import { parseGithubTarget } from "../domain/github-ref.js";
import {
  apiUrlFor,
  DEFAULT_GITHUB_API_URL,
  evaluateGithubCheck,
  type GithubAccess,
  resolveGithubAccess,
} from "./github.js";

const TOKEN = "ghp_fake_token";
const tempDir = useTempDirs();

let github: FakeGithub | null = null;
afterEach(async () => {
  await github?.close();
  github = null;
});

async function fake(options: FakeGithubOptions = { token: TOKEN }): Promise<FakeGithub> {
  github = await startFakeGithub(options);
  github.state.issues["acme/web#34"] = { title: "Crash on save", state: "open" };
  return github;
}

function evaluate(check: GithubCheckConfig, access: Partial<GithubAccess> = {}) {
  const spec = toCheckSpec({ github: check }) as Extract<CheckSpec, { kind: "github" }>;
  const full = { apiUrl: github?.apiUrl ?? "", token: TOKEN, tokenSource: "GITHUB_TOKEN", ...access };
  return evaluateGithubCheck(spec, { access: full });
}

/** A folder holding a `gh` that prints `output` and exits with `code`. */
function fakeGh(output: string, code = 0): string {
  const dir = tempDir("loopd-gh-");
  const gh = join(dir, "gh");
  writeFileSync(gh, `#!/bin/sh\n[ "$1 $2" = "auth token" ] || exit 2\necho '${output}'\nexit ${code}\n`);
  chmodSync(gh, 0o755);
  return dir;
}

describe("resolveGithubAccess", () => {
  const noGh = () => tempDir("loopd-empty-path-");

  it("prefers GITHUB_TOKEN over GH_TOKEN and gh", async () => {
    const env = { GITHUB_TOKEN: "ghp_one", GH_TOKEN: "ghp_two", PATH: fakeGh("gho_three") };
    expect(await resolveGithubAccess(env)).toEqual({
      apiUrl: DEFAULT_GITHUB_API_URL,
      token: "ghp_one",
      tokenSource: "GITHUB_TOKEN",
    });
  });

  it("uses GH_TOKEN when GITHUB_TOKEN is unset or empty", async () => {
    const access = await resolveGithubAccess({ GITHUB_TOKEN: "", GH_TOKEN: "ghp_two", PATH: noGh() });
    expect(access).toMatchObject({ token: "ghp_two", tokenSource: "GH_TOKEN" });
  });

  it("falls back to `gh auth token`", async () => {
    const access = await resolveGithubAccess({ PATH: fakeGh("gho_from_gh") });
    expect(access).toMatchObject({ token: "gho_from_gh", tokenSource: "gh auth token" });
  });

  it("has no token, without throwing, when gh is missing or not logged in", async () => {
    expect(await resolveGithubAccess({ PATH: noGh() })).toMatchObject({ token: null, tokenSource: null });
    const loggedOut = fakeGh("no oauth token found for github.com", 1);
    expect(await resolveGithubAccess({ PATH: loggedOut })).toMatchObject({ token: null, tokenSource: null });
  });

  it("takes the API URL from config, then GITHUB_API_URL, then api.github.com", async () => {
    const env = { GITHUB_TOKEN: "t", GITHUB_API_URL: "https://ghe.acme.test/api/v3/" };
    expect((await resolveGithubAccess(env)).apiUrl).toBe("https://ghe.acme.test/api/v3");
    expect((await resolveGithubAccess(env, "https://proxy.acme.test")).apiUrl).toBe(
      "https://proxy.acme.test",
    );
    expect((await resolveGithubAccess({ GITHUB_TOKEN: "t" })).apiUrl).toBe(DEFAULT_GITHUB_API_URL);
  });
});

describe("apiUrlFor", () => {
  const dotCom = parseGithubTarget("acme/web#1")!;
  const enterprise = parseGithubTarget("https://ghe.acme.test/acme/web/issues/1")!;
  const access = (apiUrl: string): GithubAccess => ({ apiUrl, token: null, tokenSource: null });

  it("sends github.com targets to the configured or default API", () => {
    expect(apiUrlFor(dotCom, access(DEFAULT_GITHUB_API_URL))).toBe(DEFAULT_GITHUB_API_URL);
    expect(apiUrlFor(dotCom, access("http://127.0.0.1:9"))).toBe("http://127.0.0.1:9");
  });

  it("derives https://<host>/api/v3 for an Enterprise host when no API URL is configured", () => {
    expect(apiUrlFor(enterprise, access(DEFAULT_GITHUB_API_URL))).toBe("https://ghe.acme.test/api/v3");
  });

  it("lets a configured API URL win for an Enterprise host too", () => {
    expect(apiUrlFor(enterprise, access("https://ghe.acme.test/api/v3"))).toBe(
      "https://ghe.acme.test/api/v3",
    );
  });
});

describe("github check against GitHub Enterprise", () => {
  it("reads REST under /api/v3 and GraphQL under /api/graphql", async () => {
    const server = await fake({ token: TOKEN, enterprise: true, webOrigin: "https://ghe.acme.test" });
    server.state.discussions["acme/web#7"] = {
      title: "Sync?",
      isAnswered: true,
      answer: { author: "maria" },
    };
    const issue = await evaluate({ issue: "https://ghe.acme.test/acme/web/issues/34", state: "open" });
    expect(issue.status).toBe("satisfied");
    expect(issue.evidence.url).toBe("https://ghe.acme.test/acme/web/issues/34");
    const discussion = await evaluate({ discussion: "https://ghe.acme.test/acme/web/discussions/7" });
    expect(discussion.status).toBe("satisfied");
    expect(server.requests.map((request) => request.path)).toEqual(["/repos/acme/web/issues/34", "/graphql"]);
  });
});

describe("github check errors", () => {
  it("sends the token and reports a rejected one as LOOPD_GITHUB_AUTH naming the repo and the fix", async () => {
    await fake();
    const result = await evaluate({ issue: "acme/web#34" }, { token: "ghp_revoked" });
    expect(result.status).toBe("error");
    expect(result.error?.code).toBe("LOOPD_GITHUB_AUTH");
    expect(result.error?.message).toMatch(
      /refused the token from GITHUB_TOKEN for acme\/web \(Bad credentials\)/,
    );
    expect(result.error?.message).toContain("set GITHUB_TOKEN");
    expect(github?.requests[0]?.authorization).toBe("token ghp_revoked");
  });

  it("reports a repo invisible without a token (GitHub's 404) as LOOPD_GITHUB_AUTH", async () => {
    await fake();
    const result = await evaluate({ issue: "acme/web#34" }, { token: null, tokenSource: null });
    expect(result.error?.code).toBe("LOOPD_GITHUB_AUTH");
    expect(result.summary).toBe(
      "acme/web#34 was not found without a token; if acme/web is private, set GITHUB_TOKEN (or GH_TOKEN, or run `gh auth login`)",
    );
    expect(github?.requests[0]?.authorization).toBeUndefined();
  });

  it("reports a discussion asked for without a token as LOOPD_GITHUB_AUTH", async () => {
    await fake();
    const result = await evaluate(
      { discussion: "https://github.com/acme/web/discussions/7" },
      { token: null },
    );
    expect(result.error?.code).toBe("LOOPD_GITHUB_AUTH");
    expect(result.summary).toContain("GitHub needs a token to read acme/web#7");
  });

  it("reports a token without access to the repo (403) as LOOPD_GITHUB_AUTH", async () => {
    const server = await fake();
    server.state.forbidden.push("acme/web");
    const result = await evaluate({ issue: "acme/web#34" });
    expect(result.error?.code).toBe("LOOPD_GITHUB_AUTH");
    expect(result.error?.message).toContain("Resource not accessible by personal access token");
  });

  it("reports something missing with a token as LOOPD_CHECK_ERROR: not found, or not visible", async () => {
    await fake();
    const issue = await evaluate({ issue: "acme/web#99" });
    expect(issue.error).toEqual({
      code: "LOOPD_CHECK_ERROR",
      message: "acme/web#99 not found (or the token from GITHUB_TOKEN cannot see it)",
    });
    const discussion = await evaluate({ discussion: "https://github.com/acme/web/discussions/99" });
    expect(discussion.error?.code).toBe("LOOPD_CHECK_ERROR");
    expect(discussion.summary).toContain("acme/web#99 not found");
    expect(discussion.evidence.githubMessage).toBe(
      "Could not resolve to a Discussion with the number of 99.",
    );
  });

  it("reports a rate limit as LOOPD_CHECK_ERROR with when it resets", async () => {
    const server = await fake();
    const resetAt = Math.floor(Date.now() / 1000) + 12 * 60;
    server.state.rateLimit = { resetAt };
    const result = await evaluate({ issue: "acme/web#34" });
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
    const iso = new Date(resetAt * 1000).toISOString();
    expect(result.summary).toMatch(
      new RegExp(`^GitHub rate limit reached reading acme/web#34; it resets at ${iso} \\(in 1[12]m\\)$`),
    );
    expect(result.evidence.rateLimit).toEqual({ remaining: "0", resetAt: iso, retryAfterSeconds: null });
  });

  it("reports a secondary rate limit with its retry-after", async () => {
    const server = await fake();
    server.state.rateLimit = { resetAt: Math.floor(Date.now() / 1000) + 3600, secondary: true };
    const result = await evaluate({ pr: "acme/web#12" });
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
    expect(result.summary).toBe("GitHub rate limit reached reading acme/web#12; retry after 60s");
  });

  it("reports GraphQL's rate limit the same way", async () => {
    const server = await fake();
    server.state.rateLimit = { resetAt: Math.floor(Date.now() / 1000) + 600 };
    const result = await evaluate({ discussion: "https://github.com/acme/web/discussions/7" });
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
    expect(result.summary).toMatch(/^GitHub rate limit reached reading acme\/web#7; it resets at/);
  });

  it("reports a GitHub server error as LOOPD_CHECK_ERROR", async () => {
    const server = await fake();
    server.state.serverError = 502;
    const result = await evaluate({ ref: "acme/web@main" });
    expect(result.error).toEqual({
      code: "LOOPD_CHECK_ERROR",
      message: "GitHub answered 502 reading acme/web@main; try again later",
    });
  });

  it("reports GitHub being unreachable as LOOPD_CHECK_ERROR", async () => {
    const server = await fake();
    const apiUrl = server.apiUrl;
    await server.close();
    github = null;
    const result = await evaluate({ issue: "acme/web#34" }, { apiUrl });
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
    expect(result.summary).toMatch(new RegExp(`^could not reach GitHub at ${apiUrl}: .*ECONNREFUSED`));
  });

  it("rejects with the caller's reason when the caller aborts", async () => {
    await fake();
    const spec = toCheckSpec({ github: { issue: "acme/web#34" } }) as Extract<CheckSpec, { kind: "github" }>;
    const controller = new AbortController();
    controller.abort(new Error("daemon stopping"));
    const access = { apiUrl: github!.apiUrl, token: TOKEN, tokenSource: "GITHUB_TOKEN" };
    await expect(evaluateGithubCheck(spec, { access, signal: controller.signal })).rejects.toThrow(
      "daemon stopping",
    );
  });
});
