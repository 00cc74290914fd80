/**
 * The builtin agent's file tools: read, write and edit files inside the workspace. Each
 * returns the text the model reads; failures are "Error: …" strings rather than exceptions,
 * so a wrong path or a stale edit costs the model one turn instead of ending the run.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { resolveInWorkspace, type Workspace } from "./workspace.js";

/** Lines returned when the model gives no limit. */
export const DEFAULT_READ_LINES = 2000;
/** Long lines (minified files, lockfiles) are cut so one line cannot fill the context. */
const MAX_LINE_CHARS = 2000;
/** Larger files are refused rather than loaded whole (logs, dumps): grep finds what is needed in them. */
const MAX_READ_BYTES = 10 * 1024 * 1024;

export interface ReadFileArgs {
  path: string;
  /** 1-based first line. */
  offset?: number;
  limit?: number;
}

export async function readFileTool(workspace: Workspace, args: ReadFileArgs): Promise<string> {
  const resolved = await resolveInWorkspace(workspace, args.path);
  if (!resolved.ok) return resolved.error;
  const info = await stat(resolved.path).catch(() => null);
  if (!info) return `Error: ${resolved.display} does not exist.`;
  if (info.isDirectory()) return `Error: ${resolved.display} is a directory; use list_files.`;
  if (info.size > MAX_READ_BYTES) {
    return `Error: ${resolved.display} is ${info.size} bytes, too large to read; use grep to find what you need.`;
  }
  const buffer = await readFile(resolved.path);
  if (buffer.subarray(0, 8192).includes(0)) return `Error: ${resolved.display} looks binary; not shown.`;
  const lines = buffer.toString("utf8").split("\n");
  if (lines.at(-1) === "") lines.pop(); // a trailing newline is not an extra empty line
  const start = Math.max(1, Math.floor(args.offset ?? 1));
  const limit = Math.max(1, Math.floor(args.limit ?? DEFAULT_READ_LINES));
  if (lines.length === 0) return `(${resolved.display} is empty)`;
  if (start > lines.length) return `Error: ${resolved.display} has only ${lines.length} lines.`;
  const end = Math.min(lines.length, start - 1 + limit);
  const body = lines
    .slice(start - 1, end)
    .map((line, index) => {
      const text = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… (line cut)` : line;
      return `${String(start + index).padStart(6)}\t${text}`;
    })
    .join("\n");
  const more =
    end < lines.length ? `\n(lines ${start}-${end} of ${lines.length}; use offset=${end + 1} for more)` : "";
  return body + more;
}

export interface WriteFileArgs {
  path: string;
  content: string;
}

export async function writeFileTool(workspace: Workspace, args: WriteFileArgs): Promise<string> {
  const resolved = await resolveInWorkspace(workspace, args.path);
  if (!resolved.ok) return resolved.error;
  const info = await stat(resolved.path).catch(() => null);
  if (info?.isDirectory()) return `Error: ${resolved.display} is a directory.`;
  try {
    await mkdir(dirname(resolved.path), { recursive: true });
    await writeFile(resolved.path, args.content, "utf8");
  } catch (error) {
    return `Error: could not write ${resolved.display}: ${(error as Error).message}`;
  }
  const lines =
    args.content === "" ? 0 : args.content.split("\n").length - (args.content.endsWith("\n") ? 1 : 0);
  return `${info ? "Overwrote" : "Created"} ${resolved.display} (${lines} lines).`;
}

export interface EditFileArgs {
  path: string;
  old_string: string;
  new_string: string;
  replace_all?: boolean;
}

/**
 * Replaces an exact snippet. It must occur exactly once unless `replace_all`: an ambiguous
 * edit would change the wrong place silently, so the model is asked for more context.
 */
export async function editFileTool(workspace: Workspace, args: EditFileArgs): Promise<string> {
  const resolved = await resolveInWorkspace(workspace, args.path);
  if (!resolved.ok) return resolved.error;
  if (args.old_string === "") return "Error: old_string is empty; use write_file to create a file.";
  if (args.old_string === args.new_string) return "Error: old_string and new_string are the same.";
  let text: string;
  try {
    text = await readFile(resolved.path, "utf8");
  } catch {
    return `Error: ${resolved.display} does not exist or cannot be read.`;
  }
  const count = countOccurrences(text, args.old_string);
  if (count === 0) {
    return `Error: old_string was not found in ${resolved.display}; read the file and copy the text exactly (without line numbers).`;
  }
  if (count > 1 && !args.replace_all) {
    return `Error: old_string occurs ${count} times in ${resolved.display}; include more surrounding lines to make it unique, or set replace_all.`;
  }
  // split/join and slicing, not String.replace: "$&" or "$1" in new_string must stay literal.
  const next = args.replace_all
    ? text.split(args.old_string).join(args.new_string)
    : spliceOnce(text, args.old_string, args.new_string);
  try {
    await writeFile(resolved.path, next, "utf8");
  } catch (error) {
    return `Error: could not write ${resolved.display}: ${(error as Error).message}`;
  }
  return `Edited ${resolved.display} (${count} replacement${count === 1 ? "" : "s"}).`;
}

export function countOccurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}

function spliceOnce(text: string, needle: string, replacement: string): string {
  const at = text.indexOf(needle);
  return text.slice(0, at) + replacement + text.slice(at + needle.length);
}
