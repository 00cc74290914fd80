/**
 * Reading feedback sources, each whole every tick (what is new is what the store has not
 * seen; what is gone — a closed issue, a removed line — leaves its cluster):
 *
 * - `github: owner/name`: the open issues (pull requests left out), through the GitHub
 *   module, whose conditional requests make an unchanged list cost no rate limit; with
 *   `discussions: true` the open discussions too (GraphQL, a query a page, never 304).
 * - `file:` a .jsonl/.ndjson, .json (an array) or .csv file, or a folder of them (not
 *   recursive). JSON fields are dotted paths; CSV fields are column names (csv-parse).
 * - `http:` GET a URL answering JSON; `items` is the dotted path to the array of records.
 *
 * Dotted paths are a documented subset of JSONPath (`a.b.0.c`): no wildcards or filters.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, relative, resolve } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { LoopdError } from "../../domain/errors.js";
import type { FeedbackSource } from "../../domain/templates/feedback-triage.js";
import { githubClient, parseRepoRef, resolveGithubAccess } from "../../github/index.js";
import { textHash } from "./text.js";

export interface IncomingItem {
  key: string;
  source: string;
  text: string;
  title: string | null;
  url: string | null;
  /** The GitHub issue it is, for labels and comments. */
  issue: { repo: string; number: number } | null;
}

export interface SourceContext {
  /** Relative file paths start here (the routine's repo folder). */
  baseDir: string;
  env: Record<string, string | undefined>;
  githubApiUrl: string | undefined;
  signal: AbortSignal;
}

const HTTP_TIMEOUT_MS = 30_000;
const FILE_TYPES = new Set([".jsonl", ".ndjson", ".json", ".csv"]);
/** Longer texts are cut: a cluster is about what an item opens with, and the store stays small. */
const TEXT_MAX = 4_000;

export function sourceName(source: FeedbackSource): string {
  if ("github" in source) return `github ${source.github}`;
  if ("file" in source) return `file ${source.file}`;
  return `http ${source.http}`;
}

export async function readSource(source: FeedbackSource, context: SourceContext): Promise<IncomingItem[]> {
  const name = sourceName(source);
  try {
    if ("github" in source) return await readGithub(source, name, context);
    if ("file" in source) return await readFiles(source, name, context);
    return await readHttp(source, name, context);
  } catch (error) {
    if (error instanceof LoopdError || context.signal.aborted) throw error;
    throw failed(name, error instanceof Error ? error.message : String(error));
  }
}

async function readGithub(
  source: Extract<FeedbackSource, { github: string }>,
  name: string,
  context: SourceContext,
): Promise<IncomingItem[]> {
  const hosted = parseRepoRef(source.github);
  if (!hosted) throw failed(name, `${source.github} is not owner/name`);
  const access = await resolveGithubAccess(context.env, context.githubApiUrl, {
    ...(source.tokenEnv ? { tokenEnv: source.tokenEnv } : {}),
  });
  const repo = { owner: hosted.owner, repo: hosted.repo };
  const github = githubClient(access);
  const issues = await github.listOpenIssues(repo, source.label ? { label: source.label } : {});
  const discussions = source.discussions ? await github.listOpenDiscussions(repo) : [];
  const fromDiscussions = discussions.map((discussion) => ({
    key: `gh:${source.github}/discussions#${discussion.number}`,
    source: name,
    text: cut(`${discussion.title}\n${discussion.body}`.trim()),
    title: `${source.github} discussion #${discussion.number} ${discussion.title}`,
    url: discussion.url,
    issue: null,
  }));
  return [
    ...issues.map((issue) => ({
      key: `gh:${source.github}#${issue.number}`,
      source: name,
      text: cut(`${issue.title}\n${issue.body ?? ""}`.trim()),
      title: `#${issue.number} ${issue.title}`,
      url: issue.htmlUrl,
      issue: { repo: source.github, number: issue.number },
    })),
    ...fromDiscussions,
  ];
}

async function readFiles(
  source: Extract<FeedbackSource, { file: string }>,
  name: string,
  context: SourceContext,
): Promise<IncomingItem[]> {
  const root = resolve(context.baseDir, source.file);
  const info = await stat(root).catch(() => {
    throw failed(name, `${root} does not exist`);
  });
  const files = info.isDirectory()
    ? (await readdir(root))
        .filter((file) => FILE_TYPES.has(extname(file).toLowerCase()))
        .sort()
        .map((file) => join(root, file))
    : [root];
  const items: IncomingItem[] = [];
  for (const file of files) {
    const label = relative(context.baseDir, file) || file;
    const content = await readFile(file, "utf8");
    const records = recordsOf(content, extname(file).toLowerCase(), label);
    records.forEach((record) => {
      const item = itemOf(record, source, name, `file:${label}`);
      if (item) items.push(item);
    });
  }
  return items;
}

function recordsOf(content: string, type: string, label: string): unknown[] {
  if (type === ".csv") {
    return parseCsv(content, { columns: true, skip_empty_lines: true, bom: true, relax_column_count: true });
  }
  if (type === ".json") {
    const parsed: unknown = JSON.parse(content);
    if (!Array.isArray(parsed)) throw new Error(`${label} is not a JSON array`);
    return parsed;
  }
  return content
    .split("\n")
    .map((line, index) => ({ line: line.trim(), index }))
    .filter(({ line }) => line !== "")
    .map(({ line, index }) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new Error(`${label} line ${index + 1} is not JSON`);
      }
    });
}

async function readHttp(
  source: Extract<FeedbackSource, { http: string }>,
  name: string,
  context: SourceContext,
): Promise<IncomingItem[]> {
  const token = source.tokenEnv ? context.env[source.tokenEnv] : undefined;
  const response = await fetch(source.http, {
    headers: { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.any([context.signal, AbortSignal.timeout(HTTP_TIMEOUT_MS)]),
  });
  if (!response.ok) throw failed(name, `GET answered ${response.status} ${response.statusText}`);
  const body: unknown = await response.json().catch(() => {
    throw failed(name, "the answer is not JSON");
  });
  const records = source.items ? pathValue(body, source.items) : body;
  if (!Array.isArray(records)) {
    throw failed(name, `${source.items ? `\`${source.items}\`` : "the answer"} is not an array`);
  }
  return records.flatMap((record) => {
    const item = itemOf(record, source, name, `http:${source.http}`);
    return item ? [item] : [];
  });
}

interface FieldPaths {
  text: string;
  id: string;
  title?: string | undefined;
  url?: string | undefined;
}

/** A record as an item; a record without text is skipped (a blank CSV row, a deleted entry). */
function itemOf(record: unknown, paths: FieldPaths, source: string, prefix: string): IncomingItem | null {
  const text = scalar(pathValue(record, paths.text));
  if (text === null || text.trim() === "") return null;
  const id = scalar(pathValue(record, paths.id));
  const title = paths.title ? scalar(pathValue(record, paths.title)) : null;
  const url = paths.url ? scalar(pathValue(record, paths.url)) : null;
  return {
    key: `${prefix}:${id ?? textHash(text)}`,
    source,
    text: cut(text.trim()),
    title,
    url,
    issue: null,
  };
}

/** `a.b.0.c` in a JSON value (a CSV row's column name containing dots is read whole first). */
export function pathValue(value: unknown, path: string): unknown {
  if (isObject(value) && path in value) return value[path];
  let current = value;
  for (const part of path.split(".")) {
    if (Array.isArray(current) && /^\d+$/.test(part)) current = current[Number(part)];
    else if (isObject(current)) current = current[part];
    else return undefined;
  }
  return current;
}

function scalar(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function cut(text: string): string {
  return text.length > TEXT_MAX ? text.slice(0, TEXT_MAX) : text;
}

function failed(source: string, message: string): LoopdError {
  return new LoopdError("LOOPD_FEEDBACK_SOURCE_FAILED", `feedback source ${source}: ${message}`);
}
