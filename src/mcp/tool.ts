/**
 * One MCP tool: zod input and output schemas, a description written for the model that calls
 * it, and a handler over the backend. Results carry the structured value (checked against the
 * output schema, which also drops fields the schema does not promise) and the same JSON as
 * text for clients that read only text. Failures are tool errors whose text is loopd's
 * `{ code, message, hint }`, so an agent can act on them like a person acts on the CLI's.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import { LoopdError, toLoopdError } from "../domain/errors.js";
import type { Backend } from "./backend.js";

export interface ToolContext {
  backend: Backend;
  /** The MCP client's name from its initialize request ("claude-code", "cursor", …). */
  clientName: () => string;
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  /** The tool changes nothing: clients may call it without asking. */
  readOnly?: boolean;
  handler: (args: z.output<I>, context: ToolContext) => Promise<z.input<O>>;
}

/** Keeps each tool's input and output types tied together while the list stays one array. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  tool: ToolDefinition<I, O>,
): ToolDefinition {
  return tool as unknown as ToolDefinition;
}

/** Validates the arguments, runs the handler, and shapes its answer or its error for MCP. */
export async function callTool(
  tool: ToolDefinition,
  args: unknown,
  context: ToolContext,
): Promise<CallToolResult> {
  try {
    const parsed = tool.input.safeParse(args ?? {});
    if (!parsed.success) throw invalidArguments(tool.name, parsed.error);
    const value = tool.output.parse(await tool.handler(parsed.data, context)) as Record<string, unknown>;
    return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], structuredContent: value };
  } catch (error) {
    return toolError(error);
  }
}

export function toolError(error: unknown): CallToolResult {
  const loopdError = toLoopdError(error);
  // An unexpected failure is a bug: its message, never its stack, goes back to the agent.
  const body = {
    code: loopdError.code,
    message: loopdError.message,
    hint: loopdError.hint,
    ...(loopdError.details !== undefined ? { details: loopdError.details } : {}),
  };
  if (loopdError.code === "LOOPD_INTERNAL") process.stderr.write(`loopd mcp: ${String(error)}\n`);
  return { content: [{ type: "text", text: JSON.stringify(body) }], isError: true };
}

function invalidArguments(tool: string, error: z.ZodError): LoopdError {
  const issues = error.issues.map((issue) => ({
    path: issue.path.join(".") || "(root)",
    message: issue.message,
  }));
  return new LoopdError(
    "LOOPD_USAGE",
    `invalid arguments for ${tool}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
    {
      hint: `Call ${tool} again with the fields named fixed; its inputSchema lists them.`,
      details: { issues },
    },
  );
}
