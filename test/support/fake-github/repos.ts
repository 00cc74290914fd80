/**
 * Repository-level routes of the fake GitHub: the token's user, the repository (default
 * branch, clone_url), a branch with its protection flag, and compare (real commit counts when
 * the repository has a bare repo).
 */
import { aheadBehind, revParse } from "./bare-repo.js";
import type { Route } from "./rest.js";
import { branchSha, repository, sha, user } from "./shapes.js";

export const repoRoutes: Route[] = [
  {
    method: "GET",
    path: /^\/user$/,
    answer: (ctx) => ({ status: 200, body: { ...user(ctx.state.user), name: null, email: null } }),
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)$/,
    answer: (ctx, [, owner, repo]) =>
      ctx.state.repos[`${owner}/${repo}`] ? { status: 200, body: repository(ctx, owner!, repo!) } : null,
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/branches\/(.+)$/,
    answer: (ctx, [, owner, repo, rawBranch]) => {
      const fullName = `${owner}/${repo}`;
      const fixture = ctx.state.repos[fullName];
      const branch = decodeURIComponent(rawBranch!);
      if (!fixture) return null;
      if (fixture.bare && revParse(fixture.bare, `refs/heads/${branch}`) === null) return null;
      const commit = branchSha(ctx, fullName, `refs/heads/${branch}`);
      return {
        status: 200,
        body: {
          name: branch,
          commit: { sha: commit, url: `${ctx.apiOrigin}/repos/${fullName}/commits/${commit}` },
          _links: {
            self: `${ctx.apiOrigin}/repos/${fullName}/branches/${branch}`,
            html: `${ctx.webOrigin}/${fullName}/tree/${branch}`,
          },
          protected: fixture.protected?.includes(branch) ?? false,
          protection_url: `${ctx.apiOrigin}/repos/${fullName}/branches/${branch}/protection`,
        },
      };
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/compare\/(.+)\.\.\.(.+)$/,
    answer: (ctx, [, owner, repo, rawBase, rawHead]) => {
      const fullName = `${owner}/${repo}`;
      const bare = ctx.state.repos[fullName]?.bare;
      const base = decodeURIComponent(rawBase!);
      const head = decodeURIComponent(rawHead!);
      let counts = { ahead: 1, behind: 0 };
      if (bare) {
        const baseSha = revParse(bare, base) ?? revParse(bare, `refs/heads/${base}`);
        const headSha = revParse(bare, head) ?? revParse(bare, `refs/heads/${head}`);
        if (!baseSha || !headSha) return null;
        counts = aheadBehind(bare, baseSha, headSha);
      }
      const status =
        counts.ahead === 0 && counts.behind === 0
          ? "identical"
          : counts.behind === 0
            ? "ahead"
            : counts.ahead === 0
              ? "behind"
              : "diverged";
      return {
        status: 200,
        body: {
          url: `${ctx.apiOrigin}/repos/${fullName}/compare/${base}...${head}`,
          html_url: `${ctx.webOrigin}/${fullName}/compare/${base}...${head}`,
          base_commit: { sha: bare ? revParse(bare, base) : sha(`${fullName}@${base}`) },
          merge_base_commit: { sha: sha(`${fullName}@${base}:merge-base`) },
          status,
          ahead_by: counts.ahead,
          behind_by: counts.behind,
          total_commits: counts.ahead,
          commits: [],
          files: [],
          repository: repository(ctx, owner!, repo!),
        },
      };
    },
  },
];
