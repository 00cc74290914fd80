/**
 * The MCP tools with the backend they act on: what `tools/list` and `tools/call` need, and
 * `initialize` does not. server.ts loads this file on the first of those requests (or once the
 * client has initialized), so an agent's MCP client gets its `initialize` answer before the
 * tools' zod schemas, the config schema and the store's code are loaded (bench/results/cli.md).
 */
import { toJsonSchemaCompat } from "@modelcontextprotocol/sdk/server/zod-json-schema-compat.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { LoopdError } from "../domain/errors.js";
import { Backend, type BackendOptions } from "./backend.js";
import { callTool, type ToolContext, type ToolDefinition, toolError } from "./tool.js";
import { costTools } from "./tools/costs.js";
import { remindTools } from "./tools/remind.js";
import { routineTools } from "./tools/routines.js";
import { runTools } from "./tools/runs.js";

export const TOOLS: readonly ToolDefinition[] = [...routineTools, ...runTools, ...remindTools, ...costTools];

export class Toolbox {
  private readonly backend: Backend;
  private readonly context: ToolContext;
  private readonly byName = new Map(TOOLS.map((tool) => [tool.name, tool]));
  private listed: Tool[] | undefined;

  constructor(options: BackendOptions & { clientName: () => string }) {
    this.backend = new Backend(options);
    this.context = { backend: this.backend, clientName: options.clientName };
  }

  get size(): number {
    return TOOLS.length;
  }

  /**
   * `tools/list`: each tool as the SDK's McpServer lists a registered one — JSON Schemas
   * converted from the zod schemas by the SDK's own converter, inputs as accepted, outputs as
   * produced.
   */
  list(): Tool[] {
    this.listed ??= TOOLS.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: toJsonSchemaCompat(tool.input, {
        strictUnions: true,
        pipeStrategy: "input",
      }) as Tool["inputSchema"],
      annotations: { title: tool.title, readOnlyHint: tool.readOnly === true, openWorldHint: false },
      execution: { taskSupport: "forbidden" },
      outputSchema: toJsonSchemaCompat(tool.output, {
        strictUnions: true,
        pipeStrategy: "output",
      }) as Tool["outputSchema"],
    }));
    return this.listed;
  }

  /**
   * `tools/call`: every failure, an unknown tool or arguments that miss the input schema
   * included, is answered with loopd's `{ code, message, hint }` (not the SDK's plain text).
   */
  call(name: string, args: unknown): Promise<CallToolResult> {
    const tool = this.byName.get(name);
    if (!tool) {
      return Promise.resolve(
        toolError(
          new LoopdError("LOOPD_USAGE", `no tool named "${name}"`, {
            hint: `loopd's tools: ${TOOLS.map((each) => each.name).join(", ")}.`,
          }),
        ),
      );
    }
    return callTool(tool, args, this.context);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}
