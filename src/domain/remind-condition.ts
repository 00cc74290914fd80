/**
 * The condition of a `loopd remind` sentence: which word says what "done" is ("resolved",
 * "merged", "goes green", "is up"), whether the sentence negates it ("isn't", "unless",
 * "still open"), and whether the user wants to hear when it holds ("tell me when …") or
 * when it does not ("ping me if it isn't …"). Then the check that condition means for the
 * subject — or a reason when the word does not fit it ("merged" for a discussion).
 */
import { DEFAULT_GITHUB_STATE } from "./check.js";
import { type CheckConfig, GITHUB_STATES } from "./config-checks.js";
import type { GithubTargetKind } from "./github-ref.js";
import { OPPOSITE_STATES, PR_CONDITION_WORDS, PR_ONLY_STATES } from "./remind-pr-conditions.js";
import { type ReminderSubject, type TestRunner, testCommand } from "./remind-subject.js";

export type GithubState =
  | "resolved"
  | "answered"
  | "fixed"
  | "closed"
  | "merged"
  | "approved"
  | "changes-requested"
  | "mergeable"
  | "conflicting"
  | "behind"
  | "up-to-date"
  | "new-comments";
type HttpStatus = number | "2xx" | "3xx" | "4xx" | "5xx";

export type Meaning =
  | { kind: "state"; state: GithubState; base?: string }
  | { kind: "done" }
  | { kind: "green" }
  | { kind: "up"; status?: HttpStatus; contains?: string };

/** "if": tell me when the stated condition holds; "when": wait until it does; "none": make sure it does. */
export type Intent = "if" | "when" | "none";

export interface Condition {
  intent: Intent;
  meaning: Meaning;
  /** The stated condition, after negations, is the check being satisfied. */
  positive: boolean;
  /** The words that named the condition, for messages. */
  word: string;
  /** The sentence with the subject masked, for hints like "PR" or "discussion". */
  sentence: string;
}

export interface ConditionWord {
  pattern: RegExp;
  meaning: Meaning | ((match: RegExpExecArray) => Meaning);
  /** false for words that state the opposite of the check: "still open" is "not closed". */
  positive: boolean;
}

const state = (name: GithubState): Meaning => ({ kind: "state", state: name });

/** Ordered: at the same position the earlier entry wins ("responds with 503" before "responds"). */
const CONDITION_WORDS: ConditionWord[] = [
  // Pull request conditions come first: "can be merged" is not "merged", "up to date" not "up".
  ...PR_CONDITION_WORDS,
  {
    pattern: /\bun(resolved|answered|merged|fixed|approved)\b/gi,
    meaning: (m) => state(m[1]!.toLowerCase() as GithubState),
    positive: false,
  },
  { pattern: /\b(?:resolved|solved)\b/gi, meaning: state("resolved"), positive: true },
  { pattern: /\banswered\b/gi, meaning: state("answered"), positive: true },
  { pattern: /\bfixed\b/gi, meaning: state("fixed"), positive: true },
  { pattern: /\b(?:merged|merges)\b/gi, meaning: state("merged"), positive: true },
  { pattern: /\b(?:approved|approves|lgtm)\b/gi, meaning: state("approved"), positive: true },
  { pattern: /\b(?:closed|closes)\b/gi, meaning: state("closed"), positive: true },
  { pattern: /\b(?:re-?opened|open|opens)\b/gi, meaning: state("closed"), positive: false },
  {
    pattern: /\b(?:done|finished|complete|completed|landed|shipped|sorted)\b/gi,
    meaning: { kind: "done" },
    positive: true,
  },
  {
    pattern:
      /\b(?:returns?|answers?|responds?\s+with|gives?|serves?)\s+(?:an?\s+)?(?:http\s+|status\s+)?([1-5]\d\d|[2-5]xx)\b/gi,
    meaning: (m) => ({ kind: "up", status: httpStatus(m[1]!) }),
    positive: true,
  },
  {
    pattern: /\b(?:contains?|shows?|says?|mentions?|includes?)\s+(["'])((?:(?!\1).){1,200})\1/gi,
    meaning: (m) => ({ kind: "up", contains: m[2]! }),
    positive: true,
  },
  {
    pattern: /\b(?:down|offline|unreachable|(?:stops|not)\s+responding)\b/gi,
    meaning: { kind: "up" },
    positive: false,
  },
  {
    pattern:
      /\b(?:(?:is|it's|its|be|comes?|came|back|stays?|still|goes?)\s+up|online|reachable|available|responds?|responding|live)\b/gi,
    meaning: { kind: "up" },
    positive: true,
  },
  {
    pattern: /\b(?:red|fails?|failing|failed|broken|breaks|flaky|flakes|exits?\s+non-?zero)\b/gi,
    meaning: { kind: "green" },
    positive: false,
  },
  {
    pattern:
      /\b(?:green|passes|pass|passing|passed|succeeds?|succeeded|works|working|exits?\s+(?:with\s+)?0)(?![\w-])/gi,
    meaning: { kind: "green" },
    positive: true,
  },
];

/** "ping me if …" is a condition; "check if …" / "see whether …" is a question, handled like one. */
const IF_INTENT =
  /(?<!\b(?:check|see|verify|confirm|find\s+out|look)\s+)\b(?:if|unless|in\s+case|whether)\b/i;
const WHEN_INTENT =
  /\b(?:when(?:ever)?|as\s+soon\s+as|the\s+(?:moment|minute)|once(?!\s+(?:more|again|an?|every|per|tomorrow|today)\b))\b/i;
const NEGATION =
  /\b(?:not|never|no\s+longer|yet\s+to|unless|isnt|doesnt|hasnt|havent|didnt|wont|arent|wasnt|werent|cant|dont)\b|n't\b/gi;
const CLAUSE_BOUNDARY = /[,;.!?:]|\b(?:and|but|then|so)\b/gi;
/** Words that can follow "if" without naming a condition: "ping me if not", "… if it isn't". */
const FILLER = /^(?:it|it's|its|is|isn't|not|yet|still|so|there|that|this|the|same|by|then|me|please)$/i;

export type ConditionResult = { ok: true; condition: Condition } | { ok: false; reason: string };

export function readCondition(text: string): ConditionResult {
  const intent = findIntent(text);
  const matches = CONDITION_WORDS.flatMap((entry, order) =>
    [...text.matchAll(entry.pattern)].map((match) => ({ entry, order, match })),
  ).sort((a, b) => a.match.index - b.match.index || a.order - b.order);
  const chosen =
    matches.find(({ match }) => intent === undefined || match.index > intent.index) ?? matches[0];
  // A question ("friday: is acme/web#5 still open?") asks to hear when the answer is yes.
  const intentKind: Intent = intent?.kind ?? (text.includes("?") ? "if" : "none");
  if (!chosen) {
    const clause = intent ? text.slice(intent.index + intent.length).split(/[,;.!?]/)[0]! : "";
    const words = clause.split(/\s+/).filter((word) => word !== "");
    if (words.some((word) => !FILLER.test(word))) {
      return {
        ok: false,
        reason: `can't tell what to check in "${clause.trim().slice(0, 60)}" (try "isn't merged", "is green", "is still open")`,
      };
    }
    const negations = countNegations(intent ? text.slice(intent.index) : "");
    const condition = {
      intent: intentKind,
      meaning: { kind: "done" } as const,
      positive: negations % 2 === 0,
    };
    return { ok: true, condition: { ...condition, word: "done", sentence: text } };
  }
  const { entry, match } = chosen;
  const windowStart =
    intent !== undefined && intent.index < match.index ? intent.index : clauseStart(text, match.index);
  const negations = countNegations(text.slice(windowStart, match.index));
  const meaning = typeof entry.meaning === "function" ? entry.meaning(match) : entry.meaning;
  return {
    ok: true,
    condition: {
      intent: intentKind,
      meaning,
      positive: entry.positive === (negations % 2 === 0),
      word: match[0].trim(),
      sentence: text,
    },
  };
}

function findIntent(text: string): { kind: "if" | "when"; index: number; length: number } | undefined {
  const ifMatch = IF_INTENT.exec(text);
  const whenMatch = WHEN_INTENT.exec(text);
  const first = [
    ifMatch ? { kind: "if" as const, match: ifMatch } : undefined,
    whenMatch ? { kind: "when" as const, match: whenMatch } : undefined,
  ]
    .filter((found) => found !== undefined)
    .sort((a, b) => a.match.index - b.match.index)[0];
  return first && { kind: first.kind, index: first.match.index, length: first.match[0].length };
}

function clauseStart(text: string, before: number): number {
  let start = 0;
  for (const boundary of text.slice(0, before).matchAll(CLAUSE_BOUNDARY))
    start = boundary.index + boundary[0].length;
  return start;
}

function countNegations(text: string): number {
  return [...text.matchAll(NEGATION)].length;
}

function httpStatus(text: string): HttpStatus {
  const lower = text.toLowerCase();
  return lower === "2xx" || lower === "3xx" || lower === "4xx" || lower === "5xx" ? lower : Number(text);
}

export interface CheckOptions {
  runner: TestRunner | null;
  retries: number;
  /** "after retry": a command is re-run like a test. */
  afterRetry: boolean;
  /** When the sentence was read (ISO): "has new comments" counts comments made after it. */
  since: string;
}

export type CheckResult = { ok: true; check: CheckConfig; positive: boolean } | { ok: false; reason: string };

/** The check a condition means for this subject, or why the condition does not fit it. */
export function conditionCheck(
  condition: Condition,
  subject: ReminderSubject,
  options: CheckOptions,
): CheckResult {
  const built = buildCheck(condition, subject, options);
  if (!built.ok || built.positive || condition.intent !== "when") return built;
  // "tell me when it's no longer open / has no conflicts / is behind" waits for the opposite state.
  const github = built.check.github;
  const opposite = github?.state !== undefined ? OPPOSITE_STATES[github.state] : undefined;
  if (github && opposite)
    return { ok: true, check: { github: { ...github, state: opposite } }, positive: true };
  return {
    ok: false,
    reason: `loopd waits for a check to pass, not to fail; say what ${subject.text} should become (e.g. "is green")`,
  };
}

function buildCheck(condition: Condition, subject: ReminderSubject, options: CheckOptions): CheckResult {
  const { meaning, positive, word } = condition;
  const doesNotApply = (hint: string): CheckResult => ({
    ok: false,
    reason: `"${word}" does not apply to ${hint}`,
  });
  if (options.afterRetry && (subject.kind === "github" || subject.kind === "http")) {
    return { ok: false, reason: "retries apply to tests and commands, not to links" };
  }
  switch (subject.kind) {
    case "test":
      if (
        meaning.kind === "green" ||
        meaning.kind === "done" ||
        (meaning.kind === "state" && meaning.state === "fixed")
      ) {
        return {
          ok: true,
          check: { testRetry: { command: testCommand(subject, options.runner), retries: options.retries } },
          positive,
        };
      }
      return doesNotApply('a test; say "goes green" or "fails"');
    case "command":
      if (meaning.kind === "green" || meaning.kind === "done") {
        const check: CheckConfig = options.afterRetry
          ? { testRetry: { command: subject.text, retries: options.retries } }
          : { command: subject.text };
        return { ok: true, check, positive };
      }
      return doesNotApply('a command; say "passes" or "fails"');
    case "http":
      if (meaning.kind === "up" || meaning.kind === "done" || meaning.kind === "green") {
        const details: { status?: HttpStatus; contains?: string } = meaning.kind === "up" ? meaning : {};
        return {
          ok: true,
          check: {
            http: {
              url: subject.text,
              ...(details.status !== undefined ? { status: details.status } : {}),
              ...(details.contains !== undefined ? { contains: details.contains } : {}),
            },
          },
          positive,
        };
      }
      return doesNotApply('a web address; say "is up", "returns 200" or "contains \'text\'"');
    case "github":
      return githubCheck(condition, subject, options.since);
  }
}

const NOUNS: Record<GithubTargetKind, string> = {
  issue: "an issue",
  pr: "a pull request",
  discussion: "a discussion",
  ref: "a branch",
};

function githubCheck(
  condition: Condition,
  subject: ReminderSubject & { kind: "github" },
  since: string,
): CheckResult {
  const { meaning, positive, word } = condition;
  const kind = subject.shortNumber ? shortFormKind(condition) : subject.target.kind;
  const noun = NOUNS[kind];
  if (meaning.kind === "up") return { ok: false, reason: `"${word}" is for web addresses, not ${noun}` };
  if (kind === "ref") {
    if (meaning.kind === "green" || meaning.kind === "done") {
      return { ok: true, check: { github: { ref: subject.text, checks: "green" } }, positive };
    }
    return { ok: false, reason: `"${word}" does not apply to a branch; say "CI is green"` };
  }
  if (meaning.kind === "green") {
    if (kind !== "pr")
      return { ok: false, reason: `${noun} has no CI checks; link the pull request or branch` };
    return { ok: true, check: { github: { pr: subject.text, checks: "green" } }, positive };
  }
  const wanted =
    meaning.kind === "done"
      ? DEFAULT_GITHUB_STATE[kind]
      : // An issue is "resolved" when it was closed as completed.
        kind === "issue" && meaning.state === "resolved"
        ? "fixed"
        : meaning.state;
  if (!(GITHUB_STATES[kind] as readonly string[]).includes(wanted)) {
    return {
      ok: false,
      reason: `${noun} can be ${GITHUB_STATES[kind].join(", ")}; "${word}" does not apply`,
    };
  }
  const target =
    kind === "issue"
      ? { issue: subject.text }
      : kind === "pr"
        ? { pr: subject.text }
        : { discussion: subject.text };
  const base = meaning.kind === "state" ? meaning.base : undefined;
  return {
    ok: true,
    check: {
      github: {
        ...target,
        state: wanted,
        ...(base !== undefined ? { base } : {}),
        // Comments made after the sentence was read are the new ones.
        ...(wanted === "new-comments" ? { since } : {}),
      },
    },
    positive,
  };
}

/**
 * GitHub numbers issues and pull requests from one sequence, so `acme/web#12` alone is
 * ambiguous: the sentence decides ("PR", "merged", "CI" → pull request; "discussion",
 * "answered" → discussion; otherwise an issue).
 */
function shortFormKind(condition: Condition): Exclude<GithubTargetKind, "ref"> {
  const { meaning, sentence } = condition;
  if (/\b(?:pr|pull\s+request|pull|ci|checks|build)\b/i.test(sentence)) return "pr";
  if (meaning.kind === "green" || (meaning.kind === "state" && PR_ONLY_STATES.has(meaning.state))) {
    return "pr";
  }
  if (/\bdiscussion\b/i.test(sentence) || (meaning.kind === "state" && meaning.state === "answered"))
    return "discussion";
  return "issue";
}
