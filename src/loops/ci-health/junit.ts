/**
 * JUnit XML → test cases, for the reports every common runner writes: Vitest and Jest
 * (jest-junit), pytest (`--junitxml`), Go (go-junit-report), Maven Surefire / Gradle (a folder
 * of `TEST-*.xml`). Handles `<testsuites>` or a bare `<testsuite>` root, suites nested in
 * suites, `<failure>` and `<error>` (both count as failed), `<skipped>`, and Surefire's
 * re-run elements (`<flakyFailure>`/`<flakyError>`: failed, then passed on a re-run;
 * `<rerunFailure>`/`<rerunError>`: failed its re-runs too). A test's id is
 * `<classname>::<name>` (the suite's name when a case has no classname).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";

export interface JUnitCase {
  id: string;
  classname: string;
  name: string;
  /** The file, where the runner says it (Vitest, Jest with `addFileAttribute`, pytest's classname aside). */
  file: string | null;
  outcome: "passed" | "failed" | "skipped";
  message: string | null;
  /** Surefire's own re-runs of this case, in order: messages of the failed ones. */
  flakyFailures: string[];
}

const LISTS = new Set([
  "testsuite",
  "testcase",
  "failure",
  "error",
  "skipped",
  "flakyFailure",
  "flakyError",
  "rerunFailure",
  "rerunError",
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  textNodeName: "#text",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => LISTS.has(name),
});

type Node = Record<string, unknown>;

/** The cases of one report; a case named twice (parametrised duplicates) is failed if any copy failed. */
export function parseJUnit(xml: string): JUnitCase[] {
  const document = parser.parse(xml) as Node;
  const roots: Node[] = [];
  const top = document.testsuites;
  if (isNode(top)) roots.push(top);
  else if (top !== undefined) roots.push({}); // `<testsuites/>`: an empty run
  for (const suite of nodes(document.testsuite)) roots.push({ testsuite: [suite] });
  const cases: JUnitCase[] = [];
  for (const root of roots) walk(root, "", cases);
  return merge(cases);
}

function walk(node: Node, suiteName: string, into: JUnitCase[]): void {
  for (const suite of nodes(node.testsuite)) walk(suite, attr(suite, "name") ?? suiteName, into);
  for (const testcase of nodes(node.testcase)) into.push(caseOf(testcase, suiteName, attr(node, "file")));
}

function caseOf(node: Node, suiteName: string, suiteFile: string | null): JUnitCase {
  const name = attr(node, "name") ?? "(unnamed)";
  const classname = attr(node, "classname") ?? suiteName;
  const failures = [...nodes(node.failure), ...nodes(node.error)];
  const reruns = [...nodes(node.rerunFailure), ...nodes(node.rerunError)];
  const flaky = [...nodes(node.flakyFailure), ...nodes(node.flakyError)];
  const skipped = node.skipped !== undefined;
  const failed = failures.length > 0 || reruns.length > 0;
  return {
    id: classname ? `${classname}::${name}` : name,
    classname,
    name,
    file: attr(node, "file") ?? suiteFile,
    outcome: failed ? "failed" : skipped ? "skipped" : "passed",
    message: failed ? messageOf(failures[0] ?? reruns[0]) : null,
    flakyFailures: failed ? [] : flaky.map((element) => messageOf(element) ?? "failed"),
  };
}

/** One case per id across reports: a case failed in any of them is failed. */
export function mergeJUnitCases(cases: JUnitCase[]): JUnitCase[] {
  return merge(cases);
}

function merge(cases: JUnitCase[]): JUnitCase[] {
  const byId = new Map<string, JUnitCase>();
  for (const testcase of cases) {
    const seen = byId.get(testcase.id);
    if (!seen || rank(testcase) > rank(seen)) byId.set(testcase.id, testcase);
  }
  return [...byId.values()];
}

function rank(testcase: JUnitCase): number {
  return testcase.outcome === "failed" ? 2 : testcase.outcome === "passed" ? 1 : 0;
}

const MESSAGE_MAX = 2000;

/** The `message` attribute, else the element's text (a stack trace): its first lines, capped. */
function messageOf(element: unknown): string | null {
  if (!isNode(element)) return typeof element === "string" && element.trim() ? cap(element.trim()) : null;
  const message = attr(element, "message");
  const text = typeof element["#text"] === "string" ? element["#text"].trim() : "";
  if (message && text && !text.startsWith(message)) return cap(`${message}\n${text}`);
  return message || text ? cap(message || text) : null;
}

function cap(text: string): string {
  return text.length <= MESSAGE_MAX ? text : `${text.slice(0, MESSAGE_MAX - 1)}…`;
}

function nodes(value: unknown): Node[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  // `<testcase/>` parses to "", an element with only text to a string: both are nodes without attributes.
  return list.map((item) => (isNode(item) ? item : { "#text": typeof item === "string" ? item : "" }));
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function attr(node: Node, name: string): string | null {
  const value = node[`@${name}`];
  return typeof value === "string" && value !== "" ? value : null;
}

/**
 * The report at `path`: one XML file, or every `*.xml` of a folder written at or after
 * `since` (Surefire writes one file per class and leaves older ones behind). Null when there
 * is none: the runner wrote no report.
 */
export async function readJUnitReport(path: string, since: number): Promise<JUnitCase[] | null> {
  const info = await stat(path).catch(() => null);
  if (info === null) return null;
  if (!info.isDirectory()) {
    return info.mtimeMs >= since ? parseJUnit(await readFile(path, "utf8")) : null;
  }
  const files: string[] = [];
  for (const name of (await readdir(path)).sort()) {
    if (!name.endsWith(".xml")) continue;
    const file = join(path, name);
    const fileInfo = await stat(file).catch(() => null);
    if (fileInfo?.isFile() && fileInfo.mtimeMs >= since) files.push(file);
  }
  if (files.length === 0) return null;
  const cases: JUnitCase[] = [];
  for (const file of files) cases.push(...parseJUnit(await readFile(file, "utf8")));
  return merge(cases);
}
