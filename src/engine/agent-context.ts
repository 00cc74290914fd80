/**
 * What an agent is told: the task as a prompt, loopd's standing instructions, the repo's
 * agent docs (capped, minus those the harness reads itself) and the routine's memory —
 * seeded into `.loopd/memory.md` before the run and read back after it.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { loadAgentDocs } from "../context/agent-docs.js";
import {
  DEFAULT_MEMORY_MAX_BYTES,
  MEMORY_FILE,
  memoryInstructions,
  updatedMemory,
} from "../domain/memory.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { AgentInput, HarnessEvent, HarnessResult } from "../harness/harness.js";
import { getMemory, putMemory } from "../store/memory.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Db } from "../store/store.js";
import type { Workspace } from "../workspace/workspaces.js";
import { agentPrompt, loopdInstructions } from "./agent-prompt.js";

export interface TierSettings {
  harness?: string;
  model?: string;
  baseUrl?: string;
}

export interface PreparedMemory {
  before: string;
  /** The seeded `.loopd/memory.md`, or null when the workspace is the user's folder. */
  file: string | null;
}

export async function agentInput(
  run: ClaimedRun,
  settings: ConfigSettings,
  tier: TierSettings | undefined,
  workspace: Workspace,
  memory: PreparedMemory | null,
  emit: (event: HarnessEvent) => void,
  /** The harness that runs this attempt (routing may pick another than the routine's). */
  harness: string,
  /** What a failed weaker attempt did, when this one escalates. */
  previousFailure: string | null,
): Promise<AgentInput> {
  const { spec } = run;
  const docs = await loadAgentDocs({
    root: workspace.cwd,
    harness,
    extra: spec.docs,
    ...(settings.context?.maxBytes !== undefined ? { maxBytes: settings.context.maxBytes } : {}),
  });
  emit({ type: "status", data: { event: "context", docs: docs.docs, cut: docs.cut } });
  const systemPrompt = [
    loopdInstructions(run, workspace),
    docs.text,
    memory ? memoryInstructions(memory.before, memory.file !== null) : "",
  ]
    .filter(Boolean)
    .join("\n\n");
  const models = (settings.models ?? {}) as Record<string, TierSettings>;
  return {
    prompt: previousFailure
      ? `${agentPrompt(spec, run.input)}\n\n${previousFailure}`
      : agentPrompt(spec, run.input),
    systemPrompt,
    model: spec.model ?? tier?.model ?? null,
    baseUrl: tier?.baseUrl ?? null,
    maxTurns: spec.maxTurns ?? 30,
    maxBudgetUsd: spec.budget?.perRun ?? settings.budgets?.perRun ?? null,
    mcpConfig: spec.mcpConfig ?? null,
    subAgents: spec.agents.map((agent) => {
      const agentTier = agent.tier ? models[agent.tier] : undefined;
      return {
        name: agent.name,
        description: agent.description,
        model: agent.model ?? agentTier?.model ?? spec.model ?? tier?.model ?? "",
        // The routine tier's server only serves the routine's own model.
        baseUrl: agentTier ? (agentTier.baseUrl ?? null) : agent.model ? null : (tier?.baseUrl ?? null),
        maxTurns: agent.maxTurns,
      };
    }),
  };
}

export async function prepareMemory(db: Db, run: ClaimedRun, workspace: Workspace): Promise<PreparedMemory> {
  const before = (await getMemory(db, run.routineId))?.content ?? "";
  // In place, the repo is the user's own folder: memory travels in the prompt only.
  if (workspace.mode === "in-place") return { before, file: null };
  const file = join(workspace.cwd, MEMORY_FILE);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, before);
  return { before, file };
}

export async function saveMemory(
  db: Db,
  now: number,
  run: ClaimedRun,
  memory: PreparedMemory,
  result: HarnessResult,
  settings: ConfigSettings,
  /** Memory is fed to every later run: it must never hold a secret in clear. */
  redact: (text: string) => string,
): Promise<void> {
  const file = memory.file ? await readFile(memory.file, "utf8").catch(() => null) : null;
  const update = updatedMemory({
    before: memory.before,
    file,
    finalMessage: result.finalMessage ?? result.summary,
    heading: `${new Date(now).toISOString().slice(0, 16)}Z · run ${run.id}`,
    maxBytes: settings.context?.memoryMaxBytes ?? DEFAULT_MEMORY_MAX_BYTES,
  });
  if (update) await putMemory(db, run.routineId, redact(update.memory), now);
}
