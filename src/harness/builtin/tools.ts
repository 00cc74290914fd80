/**
 * The builtin agent's tool set as AI SDK tools: schemas the model sees, and the workspace
 * functions behind them. Every call and result is reported as a run event (input and output
 * shortened: the run log is for people, the model gets the full text).
 */
import { type Tool, tool } from "ai";
import { z } from "zod";
import {
  type BashSandbox,
  DEFAULT_BASH_TIMEOUT_MS,
  formatBashResult,
  MAX_BASH_TIMEOUT_MS,
  runBash,
} from "./bash.js";
import { editFileTool, readFileTool, writeFileTool } from "./file-tools.js";
import { grepTool, listFilesTool } from "./search-tools.js";
import type { Workspace } from "./workspace.js";

export interface ToolEvent {
  /** Which agent called it: "main" or the sub-agent's name. */
  agent: string;
  name: string;
  input?: unknown;
  output?: string;
  isError?: boolean;
  /** Set on the result: whether the call failed (an error, or a command that exited non-zero). */
  failed?: boolean;
  /** The bash tool's exit code (null when it was killed, timed out or aborted). */
  exitCode?: number | null;
}

/** What a tool function returns: the text for the model, and a command's exit code. */
export type ToolOutput = string | { text: string; exitCode: number | null };

export interface ToolContext {
  workspace: Workspace;
  env: Record<string, string>;
  /** The run's sandbox, where bash commands run (null: unconfined). */
  sandbox?: BashSandbox | null;
  signal: AbortSignal;
  agent: string;
  onEvent: (event: ToolEvent) => void;
}

const EVENT_TEXT_CHARS = 500;

/** Wraps a tool function so its call and result become run events. */
export function reported<A>(
  context: ToolContext,
  name: string,
  run: (args: A) => Promise<ToolOutput>,
): (args: A) => Promise<string> {
  return async (args) => {
    const input = shortInput(args);
    context.onEvent({ agent: context.agent, name, input });
    const result = await run(args);
    const output = typeof result === "string" ? result : result.text;
    const exitCode = typeof result === "string" ? undefined : result.exitCode;
    const failed = output.startsWith("Error:") || (exitCode !== undefined && exitCode !== 0);
    context.onEvent({
      agent: context.agent,
      name,
      input,
      output: shorten(output, EVENT_TEXT_CHARS),
      isError: failed,
      failed,
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
    return output;
  };
}

export function workspaceTools(context: ToolContext): Record<string, Tool> {
  const { workspace } = context;
  return {
    read_file: tool({
      description:
        "Read a text file in the workspace. Lines come back numbered (number, tab, text); the numbers are not part of the file. Use offset/limit for long files.",
      inputSchema: z.object({
        path: z.string().describe("Path relative to the workspace"),
        offset: z.number().int().min(1).optional().describe("First line to read (1-based)"),
        limit: z.number().int().min(1).optional().describe("Number of lines (default 2000)"),
      }),
      execute: reported(context, "read_file", (args) => readFileTool(workspace, args)),
    }),
    write_file: tool({
      description:
        "Create or overwrite a file in the workspace with the given content (parent folders are created).",
      inputSchema: z.object({
        path: z.string().describe("Path relative to the workspace"),
        content: z.string().describe("The complete new content of the file"),
      }),
      execute: reported(context, "write_file", (args) => writeFileTool(workspace, args)),
    }),
    edit_file: tool({
      description:
        "Replace an exact snippet of a file. old_string must match the file exactly (whitespace included, no line numbers) and occur exactly once, unless replace_all is true.",
      inputSchema: z.object({
        path: z.string().describe("Path relative to the workspace"),
        old_string: z.string().describe("The exact text to replace"),
        new_string: z.string().describe("The text to put in its place"),
        replace_all: z.boolean().optional().describe("Replace every occurrence"),
      }),
      execute: reported(context, "edit_file", (args) => editFileTool(workspace, args)),
    }),
    list_files: tool({
      description:
        "List files and folders (folders end in /, symlinks in @, not followed) below a path, skipping .git and node_modules. Optional glob pattern such as *.ts or src/**/*.test.ts.",
      inputSchema: z.object({
        path: z.string().optional().describe("Folder relative to the workspace (default: the workspace)"),
        pattern: z.string().optional().describe("Glob filter; without a slash it matches file names"),
        depth: z.number().int().min(1).optional().describe("How many levels to descend (default 3)"),
      }),
      execute: reported(context, "list_files", (args) => listFilesTool(workspace, args)),
    }),
    grep: tool({
      description:
        "Search file contents with a JavaScript regular expression; prints path:line: text for each match. Skips .git, node_modules, binary and very large files.",
      inputSchema: z.object({
        pattern: z.string().describe("Regular expression (JavaScript syntax)"),
        path: z.string().optional().describe("File or folder to search (default: the workspace)"),
        glob: z.string().optional().describe("Only files matching this glob, e.g. *.ts"),
        max_results: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe("Stop after this many matches (default 100)"),
        ignore_case: z.boolean().optional(),
      }),
      execute: reported(context, "grep", (args) => grepTool(workspace, args)),
    }),
    bash: tool({
      description:
        "Run a shell command (/bin/sh -c) in the workspace and return its combined output and exit code. Background processes are stopped when the command exits. Output is capped.",
      inputSchema: z.object({
        command: z.string().describe("The command line"),
        timeout_ms: z
          .number()
          .int()
          .min(1)
          .max(MAX_BASH_TIMEOUT_MS)
          .optional()
          .describe(`Timeout in milliseconds (default ${DEFAULT_BASH_TIMEOUT_MS})`),
      }),
      execute: reported(context, "bash", async (args) => {
        const timeoutMs = args.timeout_ms ?? DEFAULT_BASH_TIMEOUT_MS;
        const result = await runBash({
          command: args.command,
          cwd: workspace.root,
          env: context.env,
          sandbox: context.sandbox ?? null,
          timeoutMs,
          signal: context.signal,
        });
        return { text: formatBashResult(result, timeoutMs), exitCode: result.exitCode };
      }),
    }),
  };
}

/** Tool input for the run log: long strings (file contents) shortened. */
export function shortInput(input: unknown): unknown {
  if (typeof input === "string") return shorten(input, 200);
  if (Array.isArray(input)) return input.map(shortInput);
  if (input && typeof input === "object") {
    return Object.fromEntries(Object.entries(input).map(([key, value]) => [key, shortInput(value)]));
  }
  return input;
}

export function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
