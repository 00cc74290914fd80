/**
 * What people ask about a pull request beyond merged/closed/green, as `loopd remind` reads it:
 * merge conflicts and mergeability, behind (or up to date with) the base or a named branch,
 * requested changes, new comments — the words, which `github` check state each means, and
 * the states whose negation is a state of its own ("no longer has conflicts" waits for
 * `mergeable`). remind-condition.ts puts these words ahead of its own, so "can be merged" is
 * not "merged" and "up to date" is not "is up".
 */
// Types only: remind-condition.ts imports this module's values, so importing its values here would be a cycle.
import type { ConditionWord, GithubState, Meaning } from "./remind-condition.js";

const state = (name: GithubState): Meaning => ({ kind: "state", state: name });

/** Words after "behind" / "up to date with" that are not a branch name. */
const NOT_A_BRANCH =
  /^(?:the|its|it|base|upstream|target|by|on|at|in|and|or|but|so|then|now|yet|again|anymore|schedule|tomorrow|today|tonight)$/i;

/** "behind main" names the branch to compare with; "behind its base" or "behind" alone means the PR's base. */
function withBase(name: "behind" | "up-to-date", branch: string | undefined): Meaning {
  const base = branch?.replace(/[.,;:!?]+$/, "");
  return base && !NOT_A_BRANCH.test(base) ? { kind: "state", state: name, base } : state(name);
}

/** Pull request condition words, each with its "no …" form. */
export const PR_CONDITION_WORDS: ConditionWord[] = [
  {
    pattern: /\bno\s+(?:more\s+)?(?:merge[\s-])?conflicts?\b/gi,
    meaning: state("conflicting"),
    positive: false,
  },
  {
    pattern: /\b(?:merge[\s-]conflicts?|conflicts?|conflicting|conflicted)\b/gi,
    meaning: state("conflicting"),
    positive: true,
  },
  {
    pattern: /\b(?:can't|cannot|can\s+not|couldn't|could\s+not)\s+be\s+merged\b|\bunmergeable\b/gi,
    meaning: state("mergeable"),
    positive: false,
  },
  {
    pattern: /\b(?:can|could)\s+be\s+merged\b|\bmergeable\b|\bmerges?\s+cleanly\b/gi,
    meaning: state("mergeable"),
    positive: true,
  },
  {
    pattern: /\bbehind(?:\s+(?:the\s+)?([\w./-]+))?/gi,
    meaning: (m) => withBase("behind", m[1]),
    positive: true,
  },
  {
    pattern:
      /\b(?:(?:is|it's|its|be|stays?|still|gets?|got)\s+)?up[\s-]to[\s-]date(?:\s+with\s+(?:the\s+)?([\w./-]+))?/gi,
    meaning: (m) => withBase("up-to-date", m[1]),
    positive: true,
  },
  { pattern: /\bno\s+changes\s+requested\b/gi, meaning: state("changes-requested"), positive: false },
  {
    pattern:
      /\b(?:changes?\s+(?:were\s+|are\s+|got\s+|being\s+)?requested|(?:requests?|requested|requesting)\s+changes|asks?\s+for\s+changes|asked\s+for\s+changes)\b/gi,
    meaning: state("changes-requested"),
    positive: true,
  },
  {
    pattern: /\bno\s+(?:new\s+|more\s+)?(?:review\s+)?(?:comments?|replies)\b/gi,
    meaning: state("new-comments"),
    positive: false,
  },
  {
    pattern:
      /\b(?:new|more|fresh|any)\s+(?:review\s+)?(?:comments?|replies)\b|\b(?:gets?|got|receives?|received)\s+(?:a\s+|any\s+)?(?:new\s+)?(?:comments?|replies|reply)\b|\b(?:someone|anyone|anybody)\s+(?:comments|commented|replies|replied)\b|\bcommented\s+on\b/gi,
    meaning: state("new-comments"),
    positive: true,
  },
];

/** States whose negation is a state of its own. */
export const OPPOSITE_STATES: Record<string, string> = {
  open: "closed",
  closed: "open",
  mergeable: "conflicting",
  conflicting: "mergeable",
  behind: "up-to-date",
  "up-to-date": "behind",
};

/** States only a pull request has: `acme/web#8` with one of them is a PR, not an issue. */
export const PR_ONLY_STATES = new Set<string>([
  "merged",
  "approved",
  "changes-requested",
  "mergeable",
  "conflicting",
  "behind",
  "up-to-date",
]);
