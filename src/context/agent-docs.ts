/**
 * The repo's agent docs: AGENTS.md (root → cwd, AGENTS.override.md taking precedence in its
 * folder), CLAUDE.md, GEMINI.md, .github/copilot-instructions.md, docs/PORTING.md and the
 * routine's own `docs`. Each harness reads some of these itself (Claude Code reads CLAUDE.md,
 * Codex and opencode read AGENTS.md, Gemini CLI reads GEMINI.md); those are listed but not
 * injected again. The rest go into the system prompt, capped in total, saying what was cut.
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

export const DEFAULT_DOCS_MAX_BYTES = 32 * 1024;

/** Files each harness loads natively from the working directory. */
const NATIVE_DOCS: Record<string, RegExp> = {
  claude: /(^|\/)CLAUDE\.md$/,
  codex: /(^|\/)AGENTS(\.override)?\.md$/,
  opencode: /(^|\/)(AGENTS|CLAUDE)\.md$/,
  gemini: /(^|\/)GEMINI\.md$/,
};

export interface AgentDoc {
  /** Path relative to the workspace. */
  path: string;
  bytes: number;
  /** native: the harness reads it itself; full/truncated/omitted: what the system prompt got. */
  handling: "native" | "full" | "truncated" | "omitted";
}

export interface AgentDocs {
  docs: AgentDoc[];
  /** Markdown for the system prompt (empty when nothing is injected). */
  text: string;
  /** Human-readable note of what was cut, or null. */
  cut: string | null;
}

export interface LoadAgentDocsOptions {
  /** The workspace root (worktree or repo). */
  root: string;
  /** Where the agent starts, inside root; default root. */
  cwd?: string;
  harness: string;
  /** The routine's extra docs, relative to root. */
  extra?: string[];
  maxBytes?: number;
}

export async function loadAgentDocs(options: LoadAgentDocsOptions): Promise<AgentDocs> {
  const root = resolve(options.root);
  const maxBytes = options.maxBytes ?? DEFAULT_DOCS_MAX_BYTES;
  const native = NATIVE_DOCS[options.harness];
  // Each entry lists alternatives: the first that exists is used.
  const candidates: string[][] = [
    ...agentsChain(root, resolve(options.cwd ?? root)),
    ...["CLAUDE.md", "GEMINI.md", ".github/copilot-instructions.md", "docs/PORTING.md"].map((path) => [path]),
    ...(options.extra ?? []).map((path) => [path]),
  ];

  const docs: AgentDoc[] = [];
  const sections: string[] = [];
  const cutNotes: string[] = [];
  let budget = maxBytes;
  const seen = new Set<string>();
  for (const alternatives of candidates) {
    const found = await firstExisting(root, alternatives);
    if (found === null || seen.has(found.path)) continue;
    const { path, content } = found;
    seen.add(path);
    const bytes = Buffer.byteLength(content);
    if (native?.test(path)) {
      docs.push({ path, bytes, handling: "native" });
      continue;
    }
    if (budget <= 0) {
      docs.push({ path, bytes, handling: "omitted" });
      cutNotes.push(`omitted ${path} (${bytes} bytes)`);
      continue;
    }
    if (bytes <= budget) {
      docs.push({ path, bytes, handling: "full" });
      sections.push(section(path, content));
      budget -= bytes;
      continue;
    }
    const kept = truncateUtf8(content, budget);
    docs.push({ path, bytes, handling: "truncated" });
    sections.push(section(path, `${kept}\n[… cut by loopd: ${bytes - Buffer.byteLength(kept)} more bytes]`));
    cutNotes.push(`cut ${path} to ${Buffer.byteLength(kept)} of ${bytes} bytes`);
    budget = 0;
  }

  const cut = cutNotes.length > 0 ? `agent docs over the ${maxBytes}-byte cap: ${cutNotes.join("; ")}` : null;
  const text =
    sections.length === 0
      ? ""
      : [
          "# Repository instructions",
          "These files from the repository tell you how to work here. Follow them.",
          ...sections,
          ...(cut ? [`(${cut}; read the files themselves if you need the rest.)`] : []),
        ].join("\n\n");
  return { docs, text, cut };
}

/** AGENTS files from the root down to cwd; in each folder the override replaces AGENTS.md. */
function agentsChain(root: string, cwd: string): string[][] {
  const rel = relative(root, cwd);
  const parts = rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split(sep) : [];
  const chain: string[][] = [];
  for (let depth = 0; depth <= parts.length; depth++) {
    const dir = parts.slice(0, depth).join("/");
    const prefix = dir ? `${dir}/` : "";
    chain.push([`${prefix}AGENTS.override.md`, `${prefix}AGENTS.md`]);
  }
  return chain;
}

async function firstExisting(
  root: string,
  alternatives: string[],
): Promise<{ path: string; content: string } | null> {
  for (const candidate of alternatives) {
    const path = insideRoot(root, candidate);
    if (path === null) continue;
    const content = await readText(join(root, path));
    if (content !== null) return { path, content };
  }
  return null;
}

function section(path: string, content: string): string {
  return `## ${path}\n\n${content.trim()}`;
}

/** A repo-relative path that stays inside root, or null. */
function insideRoot(root: string, candidate: string): string | null {
  const rel = relative(root, resolve(root, candidate));
  if (!rel || rel.startsWith("..") || isAbsolute(rel)) return null;
  return rel.split(sep).join("/");
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return null;
  }
}

/** The longest prefix of `text` within `maxBytes` bytes, not splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, "utf8");
  if (buffer.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over UTF-8 continuation bytes (10xxxxxx).
  while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end--;
  return buffer.subarray(0, end).toString("utf8");
}
