/**
 * What a `loopd remind` sentence is about: a GitHub link (or `owner/repo#N`, `owner/repo@branch`),
 * any other web address, a test id, or a backticked command. The sentence is tokenised on
 * whitespace and each token is classified on its own (anchored patterns on one token keep
 * the work linear however long or strange the input). The subject's text is then replaced by
 * "it", so the rest of the parser reads "ping me if it isn't resolved" without URL digits
 * that a date parser would take for a day of the month.
 */
import { type GithubTarget, parseGithubTarget } from "./github-ref.js";

export type TestRunner = "vitest" | "jest" | "pytest" | "go" | "npm";

export type TestSubject =
  | { kind: "test"; text: string; language: "js" | "python"; file: string; testName?: string }
  | { kind: "test"; text: string; language: "go"; goTest: string };

export type ReminderSubject =
  | { kind: "github"; text: string; target: GithubTarget; shortNumber: boolean }
  | { kind: "http"; text: string }
  | TestSubject
  | { kind: "command"; text: string };

export type SubjectResult =
  | { ok: true; subject: ReminderSubject; masked: string }
  | { ok: false; reason: string };

export const NO_SUBJECT = "no subject (paste a URL, test id or `command`)";

const JS_TEST_FILE = /^(?:[\w.@-]+\/)*[\w.@-]+\.(?:test|spec)\.[cm]?[jt]sx?$/;
const PYTHON_TEST_ID = /^(?:[\w.-]+\/)*[\w.-]+\.py(?:::[\w[\].-]+)*$/;
const PYTHON_TEST_FILE = /(?:^|\/)(?:test_[\w.-]*|[\w.-]*_test)\.py(?:::|$)/;
const GO_TEST_FUNCTION = /^Test[A-Z0-9_]\w*$/;
const GITHUB_SHORT = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(?:#\d+|@\S+)$/;
const WEB_URL = /^https?:\/\/\S+$/i;
/** Quote and bracket characters a pasted token is often wrapped in. */
const LEADING_WRAP = /^[(<[{"'«]+/;
const TRAILING_WRAP = /[)>\]}"'».,;:!?]+$/;
/** A test name right after a test file: `file > "name"`, `file "name"`, `file > name`. */
const QUOTED_TEST_NAME = /^\s*(?:>\s*)?(["'])([^"'\n]{1,200})\1/;
const BARE_TEST_NAME =
  /^\s*>\s*([^,;"'\n]{1,200}?)(?=\s+(?:doesn't|does|didn't|is|isn't|fails?|passes|pass|goes|go|still|and|after|on|by|before|keeps?|tomorrow|today)\b|\s*[,;.]|\s*$)/i;

interface Found {
  start: number;
  end: number;
  subject: ReminderSubject;
}

export function findSubject(sentence: string): SubjectResult {
  const found: Found[] = [...findBacktickSubjects(sentence)];
  const withoutBackticks = sentence.replace(/`[^`\n]*`/g, (span) => " ".repeat(span.length));
  for (const token of withoutBackticks.matchAll(/\S+/g)) {
    const item = classifyToken(token[0], token.index, sentence);
    if (item) found.push(item);
  }
  const distinct = [...new Set(found.map((item) => item.subject.text))];
  if (distinct.length === 0) return { ok: false, reason: NO_SUBJECT };
  if (distinct.length > 1) {
    return {
      ok: false,
      reason: `more than one subject (${distinct.slice(0, 3).join(", ")}); remind about one thing at a time`,
    };
  }
  let masked = "";
  let cursor = 0;
  for (const item of found.sort((a, b) => a.start - b.start)) {
    masked += `${sentence.slice(cursor, item.start)}it`;
    cursor = item.end;
  }
  masked += sentence.slice(cursor);
  return { ok: true, subject: found[0]!.subject, masked };
}

function findBacktickSubjects(sentence: string): Found[] {
  const found: Found[] = [];
  for (const span of sentence.matchAll(/`([^`\n]*)`/g)) {
    const content = (span[1] ?? "").trim();
    if (content === "") continue;
    const start = span.index;
    const end = start + span[0].length;
    found.push({ start, end, subject: testSubject(content) ?? { kind: "command", text: content } });
  }
  return found;
}

function classifyToken(token: string, index: number, sentence: string): Found | undefined {
  const leading = LEADING_WRAP.exec(token)?.[0].length ?? 0;
  const core = token.slice(leading).replace(TRAILING_WRAP, "");
  if (core === "") return undefined;
  const start = index + leading;
  const end = start + core.length;
  if (WEB_URL.test(core)) {
    const target = parseGithubTarget(core);
    if (target) return { start, end, subject: { kind: "github", text: core, target, shortNumber: false } };
    return isWebAddress(core) ? { start, end, subject: { kind: "http", text: core } } : undefined;
  }
  if (GITHUB_SHORT.test(core)) {
    const target = parseGithubTarget(core);
    if (target) {
      return { start, end, subject: { kind: "github", text: core, target, shortNumber: core.includes("#") } };
    }
  }
  const test = testSubject(core);
  if (!test) return undefined;
  if (test.language === "go" || test.language === "python") return { start, end, subject: test };
  return withTestName(test, start, end, sentence);
}

function isWebAddress(text: string): boolean {
  if (!URL.canParse(text)) return false;
  return new URL(text).hostname !== "";
}

function testSubject(text: string): TestSubject | undefined {
  if (JS_TEST_FILE.test(text)) return { kind: "test", text, language: "js", file: text };
  if (PYTHON_TEST_ID.test(text) && (PYTHON_TEST_FILE.test(text) || text.includes("::"))) {
    return { kind: "test", text, language: "python", file: text };
  }
  if (GO_TEST_FUNCTION.test(text)) return { kind: "test", text, language: "go", goTest: text };
  return undefined;
}

/** Extends a JS test file with the test name written after it, if any. */
function withTestName(
  test: Extract<TestSubject, { file: string }>,
  start: number,
  end: number,
  sentence: string,
): Found {
  const after = sentence.slice(end, end + 260);
  const quoted = QUOTED_TEST_NAME.exec(after);
  const bare = quoted ? null : BARE_TEST_NAME.exec(after);
  const name = (quoted?.[2] ?? bare?.[1])?.trim();
  if (!name) return { start, end, subject: test };
  const length = (quoted ?? bare)![0].length;
  const text = sentence.slice(start, end + length).trim();
  return { start, end: end + length, subject: { ...test, text, testName: name } };
}

/**
 * The command that runs a test. The file type picks the runner for Python and Go; for
 * JavaScript the runner the caller detected in the repo does, and `npm test` is the fallback
 * (with `-t`, which both Vitest and Jest understand, when a test name was given).
 */
export function testCommand(test: TestSubject, runner: TestRunner | null | undefined): string {
  if (test.language === "go") return `go test -run '^${test.goTest}$' ./...`;
  if (test.language === "python") {
    if (test.testName === undefined) return `python -m pytest ${test.file}`;
    return /^\w+$/.test(test.testName)
      ? `python -m pytest ${test.file}::${test.testName}`
      : `python -m pytest ${test.file} -k ${doubleQuoted(test.testName)}`;
  }
  const name = test.testName === undefined ? "" : ` -t ${doubleQuoted(test.testName)}`;
  if (runner === "vitest") return `npx vitest run ${test.file}${name}`;
  if (runner === "jest") return `npx jest ${test.file}${name}`;
  return `npm test -- ${test.file}${name}`;
}

/** The test name comes from the user's sentence but still runs in a shell: quote it. */
function doubleQuoted(text: string): string {
  return `"${text.replace(/[\\"$`]/g, "\\$&")}"`;
}
