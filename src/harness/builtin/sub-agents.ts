/**
 * Sub-agents: each one the routine declares becomes a tool `agent_<name>` of the main agent.
 * Calling it runs a nested agent loop on the sub-agent's own model and turn cap, with the
 * workspace tools but no sub-agent tools (no recursion), and returns its final text as the
 * tool result. Its usage goes to the same ledger under its own model.
 *
 * A tool that throws does not stop the AI SDK's loop (the error becomes a tool result), so
 * failures the run cannot recover from (credentials rejected, run aborted) are handed to
 * `onFatal`, which stops the main loop; other failures are reported to the main agent as a
 * tool error it can work around.
 */
import { type Tool, tool } from "ai";
import { z } from "zod";
import type { HarnessEvent, SubAgentSpec } from "../harness.js";
import type { BashSandbox } from "./bash.js";
import { isFatal } from "./errors.js";
import { builtinInstructions, runAgentLoop } from "./loop.js";
import type { ModelTarget } from "./providers.js";
import { reported, type ToolEvent, workspaceTools } from "./tools.js";
import type { UsageLedger } from "./usage.js";
import type { Workspace } from "./workspace.js";

export interface SubAgentContext {
  workspace: Workspace;
  env: Record<string, string>;
  sandbox?: BashSandbox | null;
  signal: AbortSignal;
  ledger: UsageLedger;
  emit: (event: HarnessEvent) => void;
  onToolEvent: (event: ToolEvent) => void;
  onFatal: (error: unknown, model: string) => void;
}

export interface ResolvedSubAgent {
  spec: SubAgentSpec;
  target: ModelTarget;
}

/** Tool names allowed by every provider: letters, digits, _ and -, at most 64 characters. */
export function subAgentToolName(name: string): string {
  return `agent_${name.replace(/[^A-Za-z0-9_-]/g, "_")}`.slice(0, 64);
}

export function subAgentTools(subAgents: ResolvedSubAgent[], context: SubAgentContext): Record<string, Tool> {
  const tools: Record<string, Tool> = {};
  for (const { spec, target } of subAgents) {
    const name = subAgentToolName(spec.name);
    const run = async ({ task }: { task: string }): Promise<string> => {
      try {
        const result = await runAgentLoop({
          agent: spec.name,
          target,
          system: subAgentInstructions(context.workspace.root, spec),
          prompt: task,
          tools: workspaceTools({ ...context, agent: spec.name, onEvent: context.onToolEvent }),
          maxTurns: spec.maxTurns,
          signal: context.signal,
          ledger: context.ledger,
          emit: context.emit,
        });
        if (result.hitTurnLimit) {
          const partial = result.text ? ` Its last message: ${result.text}` : "";
          return `Error: sub-agent ${spec.name} reached its limit of ${spec.maxTurns} turns before finishing.${partial}`;
        }
        return result.text || `(sub-agent ${spec.name} finished without a message)`;
      } catch (error) {
        if (isFatal(error)) {
          context.onFatal(error, target.modelId);
          throw error;
        }
        return `Error: sub-agent ${spec.name} failed: ${(error as Error).message ?? String(error)}`;
      }
    };
    tools[name] = tool({
      description: `Delegate a task to the sub-agent "${spec.name}": ${spec.description} It works in the same workspace with the same file and shell tools, does not see this conversation, and returns its final answer.`,
      inputSchema: z.object({
        task: z.string().describe("The complete task, with every detail the sub-agent needs"),
      }),
      execute: reported({ ...context, agent: "main", onEvent: context.onToolEvent }, name, run),
    });
  }
  return tools;
}

function subAgentInstructions(cwd: string, spec: SubAgentSpec): string {
  return [
    builtinInstructions(cwd),
    `You are the sub-agent "${spec.name}" (${spec.description}). Another agent delegated one task to you; your final message is all it will see, so put the result there.`,
  ].join("\n");
}
