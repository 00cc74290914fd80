/**
 * `loopd mcp`: a stdio MCP server so a coding agent can create and look after its own durable
 * loops and reminders. Agents start MCP servers in their working directory, so the process's
 * cwd is the default repo of what the agent creates. stdout carries the protocol only;
 * anything else goes to stderr.
 *
 * This file answers `initialize` with the SDK alone; the tools, their schemas and the backend
 * (toolbox.ts) load once the client has initialized, or on its first tools/list or tools/call,
 * whichever comes first — an agent waits for `initialize` before it starts (issue #22).
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { JsonSchemaType, jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { BackendOptions } from "./backend.js";
import type { Toolbox } from "./toolbox.js";

const INSTRUCTIONS = [
  "loopd runs work on a schedule after this conversation ends: shell commands (free) and coding-agent",
  "prompts (each run spends model tokens, capped by a budget). Use create_loop for recurring or later work,",
  "remind for 'tell me when …' watches (plan first, then confirm: true), list_runs/get_run to see how runs went,",
  "pause/delete_routine to stop them, get_costs to see spend.",
].join(" ");

/**
 * The SDK's default validator (Ajv), built on its first use rather than with the server: the
 * SDK validates only elicitation answers with it, and building Ajv is a tenth of start-up.
 */
class LazyAjvValidator implements jsonSchemaValidator {
  private ajv: AjvJsonSchemaValidator | undefined;

  getValidator<T>(schema: JsonSchemaType) {
    this.ajv ??= new AjvJsonSchemaValidator();
    return this.ajv.getValidator<T>(schema);
  }
}

export interface LoopdMcpServer {
  server: Server;
  /** The tools and their backend, loaded on first use. */
  toolbox: () => Promise<Toolbox>;
  /** Closes the backend if the tools were loaded. */
  close: () => Promise<void>;
}

export function createLoopdMcpServer(options: BackendOptions & { version: string }): LoopdMcpServer {
  const { version, ...backendOptions } = options;
  const server = new Server(
    { name: "loopd", version },
    // listChanged as the SDK's McpServer declares it for registered tools (the list never changes).
    {
      capabilities: { tools: { listChanged: true } },
      instructions: INSTRUCTIONS,
      jsonSchemaValidator: new LazyAjvValidator(),
    },
  );
  let loaded: Promise<Toolbox> | undefined;
  const toolbox = () => {
    loaded ??= import("./toolbox.js").then(
      ({ Toolbox }) =>
        new Toolbox({
          ...backendOptions,
          clientName: () => server.getClientVersion()?.name ?? "an MCP client",
        }),
    );
    return loaded;
  };
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: (await toolbox()).list() }));
  server.setRequestHandler(CallToolRequestSchema, async (request) =>
    (await toolbox()).call(request.params.name, request.params.arguments),
  );
  return {
    server,
    toolbox,
    close: async () => {
      if (loaded) await (await loaded).close();
    },
  };
}

/** Serves MCP on stdin/stdout until the client closes the connection. */
export async function serveMcpOverStdio(options: BackendOptions & { version: string }): Promise<void> {
  const mcp = createLoopdMcpServer(options);
  const { server } = mcp;
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  // After `initialize` is answered: the tools load while the client reads the answer.
  server.oninitialized = () => {
    mcp.toolbox().then(
      (toolbox) => process.stderr.write(`loopd mcp: serving ${toolbox.size} tools for ${options.cwd}\n`),
      (error: unknown) => process.stderr.write(`loopd mcp: the tools did not load: ${String(error)}\n`),
    );
  };
  // The client going away closes stdin; the SDK's transport does not notice that by itself.
  process.stdin.once("end", () => void server.close());
  await server.connect(new StdioServerTransport());
  try {
    await closed;
  } finally {
    await mcp.close();
  }
}
