/**
 * `loopd mcp`: a stdio MCP server so a coding agent can create and look after its own durable
 * loops and reminders. Agents start MCP servers in their working directory, so the process's
 * cwd is the default repo of what the agent creates. stdout carries the protocol only;
 * anything else goes to stderr.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { LoopdError } from "../domain/errors.js";
import { Backend, type BackendOptions } from "./backend.js";
import { callTool, type ToolContext, type ToolDefinition, toolError } from "./tool.js";
import { costTools } from "./tools/costs.js";
import { remindTools } from "./tools/remind.js";
import { routineTools } from "./tools/routines.js";
import { runTools } from "./tools/runs.js";

export const TOOLS: readonly ToolDefinition[] = [...routineTools, ...runTools, ...remindTools, ...costTools];

const INSTRUCTIONS = [
  "loopd runs work on a schedule after this conversation ends: shell commands (free) and coding-agent",
  "prompts (each run spends model tokens, capped by a budget). Use create_loop for recurring or later work,",
  "remind for 'tell me when …' watches (plan first, then confirm: true), list_runs/get_run to see how runs went,",
  "pause/delete_routine to stop them, get_costs to see spend.",
].join(" ");

export function createLoopdMcpServer(options: { version: string; backend: Backend }): McpServer {
  const server = new McpServer(
    { name: "loopd", version: options.version },
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
  );
  const context: ToolContext = {
    backend: options.backend,
    clientName: () => server.server.getClientVersion()?.name ?? "an MCP client",
  };
  for (const tool of TOOLS) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: { title: tool.title, readOnlyHint: tool.readOnly === true, openWorldHint: false },
      },
      (args: unknown) => callTool(tool, args, context),
    );
  }
  // The SDK answers arguments that miss the input schema with its own plain-text error; loopd
  // answers every failure with `{ code, message, hint }`, so calls are dispatched here and the
  // schemas registered above serve tools/list.
  const byName = new Map(TOOLS.map((tool) => [tool.name, tool]));
  server.server.removeRequestHandler(CallToolRequestSchema.shape.method.value);
  server.server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const tool = byName.get(request.params.name);
    if (!tool) {
      return toolError(
        new LoopdError("LOOPD_USAGE", `no tool named "${request.params.name}"`, {
          hint: `loopd's tools: ${TOOLS.map((each) => each.name).join(", ")}.`,
        }),
      );
    }
    return callTool(tool, request.params.arguments, context);
  });
  return server;
}

/** Serves MCP on stdin/stdout until the client closes the connection. */
export async function serveMcpOverStdio(options: BackendOptions & { version: string }): Promise<void> {
  const backend = new Backend(options);
  const server = createLoopdMcpServer({ version: options.version, backend });
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  // The client going away closes stdin; the SDK's transport does not notice that by itself.
  process.stdin.once("end", () => void server.close());
  await server.connect(new StdioServerTransport());
  process.stderr.write(`loopd mcp: serving ${TOOLS.length} tools for ${options.cwd}\n`);
  try {
    await closed;
  } finally {
    await backend.close();
  }
}
