/**
 * What a GitHub link points at: an issue, pull request, discussion, or a branch/commit whose
 * check runs matter. Pure parsing, used by `check: { github }` and by `loopd remind` to turn
 * a pasted URL into a subject. GitHub Enterprise links parse the same way (any host), and
 * the short forms people type in chat work too: `acme/web#12`, `acme/web@main`.
 */

export type GithubTarget =
  | { kind: "issue" | "pr" | "discussion"; host: string; owner: string; repo: string; number: number }
  | { kind: "ref"; host: string; owner: string; repo: string; ref: string };

export type GithubTargetKind = GithubTarget["kind"];

const SEGMENT = "[A-Za-z0-9_.-]+";
const WEB_URL = new RegExp(
  `^https?://([^/\\s]+)/(${SEGMENT})/(${SEGMENT})/(issues|pull|pulls|discussions|tree|commit)/([^?#\\s]+)`,
  "i",
);
const SHORT_NUMBER = new RegExp(`^(${SEGMENT})/(${SEGMENT})#(\\d+)$`);
const SHORT_REF = new RegExp(`^(${SEGMENT})/(${SEGMENT})@([^\\s]+)$`);

const KINDS: Record<string, GithubTargetKind> = {
  issues: "issue",
  pull: "pr",
  pulls: "pr",
  discussions: "discussion",
  tree: "ref",
  commit: "ref",
};

/**
 * Parses a GitHub web URL or short form. `kind` says what a short `owner/repo#N` is (GitHub
 * numbers issues and pull requests from one sequence, so the text alone cannot tell).
 */
export function parseGithubTarget(text: string, kind: GithubTargetKind = "issue"): GithubTarget | null {
  const trimmed = text.trim().replace(/[).,;:!?'"]+$/, "");
  const web = WEB_URL.exec(trimmed);
  if (web) {
    const [, host, owner, repo, section, rest] = web as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const targetKind = KINDS[section.toLowerCase()]!;
    if (targetKind === "ref") {
      const ref = decodeURIComponent(rest.replace(/\/+$/, ""));
      return ref ? { kind: "ref", host: host.toLowerCase(), owner, repo: stripGit(repo), ref } : null;
    }
    const number = /^(\d+)(?:[/?#].*)?$/.exec(rest)?.[1];
    if (number === undefined) return null;
    return {
      kind: targetKind,
      host: host.toLowerCase(),
      owner,
      repo: stripGit(repo),
      number: Number(number),
    };
  }
  const short = SHORT_NUMBER.exec(trimmed);
  if (short && kind !== "ref") {
    return {
      kind,
      host: "github.com",
      owner: short[1]!,
      repo: stripGit(short[2]!),
      number: Number(short[3]),
    };
  }
  const ref = SHORT_REF.exec(trimmed);
  if (ref) return { kind: "ref", host: "github.com", owner: ref[1]!, repo: stripGit(ref[2]!), ref: ref[3]! };
  return null;
}

/** A stable human name: `acme/web#12`, `acme/web@main`. */
export function describeGithubTarget(target: GithubTarget): string {
  return target.kind === "ref"
    ? `${target.owner}/${target.repo}@${target.ref}`
    : `${target.owner}/${target.repo}#${target.number}`;
}

/** The web URL of a target (github.com or an Enterprise host). */
export function githubTargetUrl(target: GithubTarget): string {
  const base = `https://${target.host}/${target.owner}/${target.repo}`;
  switch (target.kind) {
    case "issue":
      return `${base}/issues/${target.number}`;
    case "pr":
      return `${base}/pull/${target.number}`;
    case "discussion":
      return `${base}/discussions/${target.number}`;
    case "ref":
      return `${base}/tree/${target.ref}`;
  }
}

function stripGit(repo: string): string {
  return repo.endsWith(".git") ? repo.slice(0, -4) : repo;
}
