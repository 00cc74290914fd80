/**
 * The builtin agent's search tools: list files and grep, inside the workspace. Both walk the
 * tree themselves (no `find`/`rg` dependency on the worker), skip `.git` and `node_modules`,
 * never follow symlinked directories (loops, and escapes from the workspace), and cap their
 * output so one call cannot flood the model's context.
 */
import type { Dirent } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { globToRegExp } from "../../domain/glob.js";
import { resolveInWorkspace, type Workspace } from "./workspace.js";

const SKIPPED_DIRS = new Set([".git", "node_modules"]);
export const DEFAULT_LIST_DEPTH = 3;
const MAX_LIST_DEPTH = 12;
const MAX_LIST_ENTRIES = 500;
export const DEFAULT_GREP_RESULTS = 100;
const MAX_GREP_RESULTS = 1000;
/** Files above this size are not searched (bundles, data files). */
const MAX_GREP_FILE_BYTES = 2 * 1024 * 1024;
const MAX_GREP_LINE_CHARS = 300;

interface WalkEntry {
  rel: string;
  entry: Dirent;
  depth: number;
}

/** Depth-first, sorted, bounded walk below `dir`; yields files and directories. */
async function* walk(dir: string, maxDepth: number, base = dir, depth = 1): AsyncGenerator<WalkEntry> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // unreadable directories are skipped, not fatal
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.isDirectory() && SKIPPED_DIRS.has(entry.name)) continue;
    const full = join(dir, entry.name);
    yield { rel: relative(base, full), entry, depth };
    if (entry.isDirectory() && depth < maxDepth) yield* walk(full, maxDepth, base, depth + 1);
  }
}

export interface ListFilesArgs {
  path?: string;
  pattern?: string;
  depth?: number;
}

export async function listFilesTool(workspace: Workspace, args: ListFilesArgs): Promise<string> {
  const resolved = await resolveInWorkspace(workspace, args.path ?? ".");
  if (!resolved.ok) return resolved.error;
  const info = await stat(resolved.path).catch(() => null);
  if (!info?.isDirectory()) return `Error: ${resolved.display} is not a directory.`;
  const depth = clamp(args.depth ?? DEFAULT_LIST_DEPTH, 1, MAX_LIST_DEPTH);
  const pattern = args.pattern ? globToRegExp(args.pattern, { matchBase: true }) : null;
  const lines: string[] = [];
  let truncated = false;
  for await (const { rel, entry } of walk(resolved.path, depth)) {
    // With a pattern, only matching files are listed; without one, directories too (marked "/").
    if (pattern && (entry.isDirectory() || !pattern.test(rel))) continue;
    if (lines.length >= MAX_LIST_ENTRIES) {
      truncated = true;
      break;
    }
    lines.push(entry.isDirectory() ? `${rel}/` : entry.isSymbolicLink() ? `${rel}@` : rel);
  }
  if (lines.length === 0) return `(no ${pattern ? "matching " : ""}files in ${resolved.display})`;
  if (truncated) lines.push(`(stopped at ${MAX_LIST_ENTRIES} entries; narrow the path or pattern)`);
  return lines.join("\n");
}

export interface GrepArgs {
  pattern: string;
  path?: string;
  /** Only files whose path matches this glob. */
  glob?: string;
  max_results?: number;
  ignore_case?: boolean;
}

export async function grepTool(workspace: Workspace, args: GrepArgs): Promise<string> {
  let regex: RegExp;
  try {
    regex = new RegExp(args.pattern, args.ignore_case ? "i" : "");
  } catch (error) {
    return `Error: invalid regular expression: ${(error as Error).message}`;
  }
  const resolved = await resolveInWorkspace(workspace, args.path ?? ".");
  if (!resolved.ok) return resolved.error;
  const info = await stat(resolved.path).catch(() => null);
  if (!info) return `Error: ${resolved.display} does not exist.`;
  const max = clamp(args.max_results ?? DEFAULT_GREP_RESULTS, 1, MAX_GREP_RESULTS);
  const fileFilter = args.glob ? globToRegExp(args.glob, { matchBase: true }) : null;
  const matches: string[] = [];
  const searchFile = async (full: string, shown: string): Promise<void> => {
    const text = await readText(full);
    if (text === null) return;
    const lines = text.split("\n");
    for (let i = 0; i < lines.length && matches.length < max; i++) {
      const line = lines[i] as string;
      if (!regex.test(line)) continue;
      const cut = line.length > MAX_GREP_LINE_CHARS ? `${line.slice(0, MAX_GREP_LINE_CHARS)}…` : line;
      matches.push(`${shown}:${i + 1}: ${cut}`);
    }
  };
  if (info.isFile()) await searchFile(resolved.path, resolved.display);
  else {
    for await (const { rel, entry } of walk(resolved.path, Number.POSITIVE_INFINITY)) {
      if (matches.length >= max) break;
      if (!entry.isFile() || (fileFilter && !fileFilter.test(rel))) continue;
      const shown = resolved.display === "." ? rel : join(resolved.display, rel);
      await searchFile(join(resolved.path, rel), shown);
    }
  }
  if (matches.length === 0) return `(no matches for /${args.pattern}/ in ${resolved.display})`;
  if (matches.length >= max) matches.push(`(stopped at ${max} matches)`);
  return matches.join("\n");
}

/** The file's text, or null for binary or oversized files. */
async function readText(path: string): Promise<string | null> {
  const handle = await open(path, "r").catch(() => null);
  if (!handle) return null;
  try {
    const { size } = await handle.stat();
    if (size > MAX_GREP_FILE_BYTES) return null;
    const buffer = await handle.readFile();
    return buffer.subarray(0, 8192).includes(0) ? null : buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(value)));
}
