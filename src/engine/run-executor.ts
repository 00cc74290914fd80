/**
 * Executing one claimed run, whatever its harness: preflight (installed? logged in?), the
 * workspace (a warm worktree, or the repo in place), the agent's context (repo docs,
 * memory, loopd's instructions), an allow-listed environment, the harness itself, and
 * afterwards escape detection, artifacts and the memory update. Secrets are redacted from
 * every event and text that is stored. The engine owns leases, timeouts and completion.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { loadAgentDocs } from "../context/agent-docs.js";
import { LoopdError } from "../domain/errors.js";
import {
  DEFAULT_MEMORY_MAX_BYTES,
  MEMORY_FILE,
  memoryInstructions,
  updatedMemory,
} from "../domain/memory.js";
import { agentEnvironment, createRedactor } from "../harness/agent-env.js";
import type {
  AgentInput,
  Harness,
  HarnessEvent,
  HarnessRegistry,
  HarnessResult,
} from "../harness/harness.js";
import { recordHarnessHealth } from "../store/harness-health.js";
import { getMemory, putMemory } from "../store/memory.js";
import {
  type RunArtifact,
  recordRunHead,
  recordRunWorkspace,
  saveRunArtifacts,
} from "../store/run-artifacts.js";
import { CONFIG_SETTING, type ConfigSettings, getSetting } from "../store/settings.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";
import type { Workspace, WorkspaceManager, WorkspaceReport } from "../workspace/workspaces.js";
import { agentPrompt, loopdInstructions } from "./agent-prompt.js";
import { unavailable } from "./outcome.js";
import { runContext, runEnvironment } from "./run-environment.js";

export interface RunExecutorOptions {
  store: Store;
  harnesses: HarnessRegistry;
  /** Null: every run works in place (tests of the engine that need no git). */
  workspaces: WorkspaceManager | null;
  workerId: string;
  now: () => number;
  /** The daemon's environment, from which agents get an allow-listed part. */
  baseEnv?: NodeJS.ProcessEnv;
}

export interface ExecuteRequest {
  run: ClaimedRun;
  signal: AbortSignal;
  emit: (event: HarnessEvent) => void;
}

export class RunExecutor {
  constructor(private readonly options: RunExecutorOptions) {}

  async execute({ run, signal, emit }: ExecuteRequest): Promise<HarnessResult> {
    const harness = this.options.harnesses.get(run.spec.harness);
    if (!harness) return unavailable(run.spec.harness, this.options.harnesses);
    if (run.spec.harness === "shell" && run.spec.workspace === "in-place") {
      // The simplest path stays simple: the user's own command, in the repo, with their env.
      return harness.run(
        {
          ...baseInput(run, signal),
          cwd: run.spec.repo,
          env: runEnvironment(run, run.spec.repo, this.options.baseEnv),
          agent: null,
        },
        emit,
      );
    }
    const settings = (await getSetting<ConfigSettings>(this.options.store.db, CONFIG_SETTING)) ?? {};
    return this.executeInWorkspace(run, harness, settings, signal, emit);
  }

  private async executeInWorkspace(
    run: ClaimedRun,
    harness: Harness,
    settings: ConfigSettings,
    signal: AbortSignal,
    emitRaw: (event: HarnessEvent) => void,
  ): Promise<HarnessResult> {
    const { spec } = run;
    const isAgent = spec.harness !== "shell";
    const tier = spec.tier ? (settings.models?.[spec.tier] as TierSettings | undefined) : undefined;
    const environment = isAgent
      ? agentEnvironment({
          base: this.options.baseEnv ?? process.env,
          harnessKeys: harness.envKeys ?? [],
          secretNames: spec.secrets,
          env: spec.env,
          context: runContext(run, spec.repo),
        })
      : { env: { ...runEnvironment(run, spec.repo, this.options.baseEnv), ...spec.env }, secrets: new Map() };
    for (const name of spec.secrets) {
      const value = (this.options.baseEnv ?? process.env)[name];
      if (value !== undefined) environment.secrets.set(name, value);
    }
    const redact = createRedactor(environment.secrets);
    const emit = (event: HarnessEvent) => emitRaw(redactEvent(event, redact));

    if (harness.preflight) {
      const preflight = await harness.preflight({
        env: environment.env,
        cwd: spec.repo,
        baseUrl: tier?.baseUrl ?? null,
        model: spec.model ?? tier?.model ?? null,
        signal,
      });
      await this.recordHealth(harness.name, preflight, preflight.error);
      emit({
        type: "status",
        data: {
          event: "preflight",
          harness: harness.name,
          version: preflight.version,
          auth: preflight.auth,
          authSource: preflight.authSource,
        },
      });
      if (preflight.error) {
        return failed(preflight.error.code, `${preflight.error.message}. ${preflight.error.hint}`);
      }
    }

    let workspace: Workspace;
    try {
      workspace = await this.acquire(run, signal);
    } catch (error) {
      if (error instanceof LoopdError) return failed(error.code, error.message);
      throw error;
    }
    let report: WorkspaceReport | null = null;
    let result: HarnessResult | null = null;
    try {
      await recordRunWorkspace(this.options.store.db, run.id, run.attempt, {
        path: workspace.cwd,
        branch: workspace.branch,
      });
      emit({
        type: "status",
        data: {
          event: "workspace",
          path: workspace.cwd,
          branch: workspace.branch,
          base: workspace.baseCommit,
        },
      });
      const env = { ...environment.env, LOOPD_WORKSPACE: workspace.cwd };
      const memory = spec.memory ? await this.prepareMemory(run, workspace) : null;
      const agent = isAgent ? await this.agentInput(run, settings, tier, workspace, memory, emit) : null;
      result = await harness.run({ ...baseInput(run, signal), cwd: workspace.cwd, env, agent }, emit);
      if (result.error && HARNESS_HEALTH_ERRORS.has(result.error.code)) {
        // Credentials that passed preflight but were rejected mid-run: doctor's "last error".
        await this.recordHealth(
          harness.name,
          { installed: true, version: null, auth: "expired" },
          result.error,
        );
      }
      if (memory) await this.saveMemory(run, memory, result, settings);
    } finally {
      report = await this.finish(workspace, result);
    }
    if (report) await this.saveArtifacts(run, report, result, redact);
    const final = report && report.escaped.length > 0 ? escaped(result, report) : result;
    return redactResult(final, redact);
  }

  private async recordHealth(
    harness: string,
    state: { installed: boolean; version: string | null; auth: string },
    error: { code: string; message: string } | null,
  ): Promise<void> {
    await recordHarnessHealth(this.options.store.db, {
      harness,
      checkedAt: this.options.now(),
      workerId: this.options.workerId,
      installed: state.installed,
      version: state.version,
      auth: state.auth,
      error: error ? { code: error.code, message: error.message } : null,
    }).catch(() => {}); // doctor's history must never fail a run
  }

  private async acquire(run: ClaimedRun, signal: AbortSignal): Promise<Workspace> {
    const { spec } = run;
    if (!this.options.workspaces) {
      return {
        cwd: spec.repo,
        mode: "in-place",
        branch: null,
        baseCommit: null,
        repoDir: spec.repo,
      } as Workspace;
    }
    return this.options.workspaces.acquire({
      repo: spec.repo,
      routine: run.routineName,
      runId: run.id,
      attempt: run.attempt,
      mode: spec.workspace,
      ...(spec.base !== undefined ? { base: spec.base } : {}),
      signal,
    });
  }

  private async finish(workspace: Workspace, result: HarnessResult | null): Promise<WorkspaceReport | null> {
    if (!this.options.workspaces) return null;
    return this.options.workspaces.finish(workspace, { succeeded: result?.outcome === "succeeded" });
  }

  private async agentInput(
    run: ClaimedRun,
    settings: ConfigSettings,
    tier: TierSettings | undefined,
    workspace: Workspace,
    memory: PreparedMemory | null,
    emit: (event: HarnessEvent) => void,
  ): Promise<AgentInput> {
    const { spec } = run;
    const docs = await loadAgentDocs({
      root: workspace.cwd,
      harness: spec.harness,
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
      prompt: agentPrompt(spec.task, run.input),
      systemPrompt,
      model: spec.model ?? tier?.model ?? null,
      baseUrl: tier?.baseUrl ?? null,
      maxTurns: spec.maxTurns ?? 30,
      maxBudgetUsd: spec.budget?.perRun ?? null,
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

  private async prepareMemory(run: ClaimedRun, workspace: Workspace): Promise<PreparedMemory> {
    const before = (await getMemory(this.options.store.db, run.routineId))?.content ?? "";
    // In place, the repo is the user's own folder: memory travels in the prompt only.
    if (workspace.mode === "in-place") return { before, file: null };
    const file = join(workspace.cwd, MEMORY_FILE);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, before);
    return { before, file };
  }

  private async saveMemory(
    run: ClaimedRun,
    memory: PreparedMemory,
    result: HarnessResult,
    settings: ConfigSettings,
  ): Promise<void> {
    const file = memory.file ? await readFile(memory.file, "utf8").catch(() => null) : null;
    const update = updatedMemory({
      before: memory.before,
      file,
      finalMessage: result.finalMessage ?? result.summary,
      heading: `${new Date(this.options.now()).toISOString().slice(0, 16)}Z · run ${run.id}`,
      maxBytes: settings.context?.memoryMaxBytes ?? DEFAULT_MEMORY_MAX_BYTES,
    });
    if (update) await putMemory(this.options.store.db, run.routineId, update.memory, this.options.now());
  }

  private async saveArtifacts(
    run: ClaimedRun,
    report: WorkspaceReport,
    result: HarnessResult | null,
    redact: (text: string) => string,
  ): Promise<void> {
    const createdAt = this.options.now();
    const artifact = (kind: RunArtifact["kind"], content: string): RunArtifact => ({
      runId: run.id,
      attempt: run.attempt,
      kind,
      content: redact(content),
      createdAt,
    });
    const changed = report.changedFiles.filter((path) => !isLoopdFile(path));
    const artifacts: RunArtifact[] = [];
    if (changed.length > 0) artifacts.push(artifact("changed-files", JSON.stringify(changed)));
    if (report.diff) artifacts.push(artifact("diff", report.diff));
    if (report.escaped.length > 0) artifacts.push(artifact("escaped", JSON.stringify(report.escaped)));
    if (result?.finalMessage) artifacts.push(artifact("final-message", result.finalMessage));
    await saveRunArtifacts(this.options.store.db, artifacts);
    if (report.headCommit) await recordRunHead(this.options.store.db, run.id, run.attempt, report.headCommit);
  }
}

const HARNESS_HEALTH_ERRORS = new Set([
  "LOOPD_AUTH_EXPIRED",
  "LOOPD_AUTH_MISSING",
  "LOOPD_HARNESS_NOT_INSTALLED",
]);

interface TierSettings {
  harness?: string;
  model?: string;
  baseUrl?: string;
}

interface PreparedMemory {
  before: string;
  /** The seeded `.loopd/memory.md`, or null when the workspace is the user's folder. */
  file: string | null;
}

function baseInput(run: ClaimedRun, signal: AbortSignal) {
  return {
    runId: run.id,
    routine: run.routineName,
    spec: run.spec,
    attempt: run.attempt,
    dueAt: run.dueAt,
    input: run.input,
    signal,
  };
}

function isLoopdFile(path: string): boolean {
  return path === ".loopd" || path.startsWith(".loopd/");
}

function failed(code: string, message: string): HarnessResult {
  return { outcome: "failed", exitCode: null, summary: null, error: { code, message } };
}

/** Whatever the agent achieved, writing outside its worktree fails the run. */
function escaped(result: HarnessResult | null, report: WorkspaceReport): HarnessResult {
  const shown = report.escaped.slice(0, 10).join(", ");
  const more = report.escaped.length > 10 ? ` and ${report.escaped.length - 10} more` : "";
  return {
    ...(result ?? { exitCode: null, summary: null }),
    outcome: "failed",
    error: {
      code: "LOOPD_WORKSPACE_ESCAPE",
      message: `the agent changed ${report.escaped.length} path(s) outside its worktree: ${shown}${more}`,
    },
  };
}

function redactEvent(event: HarnessEvent, redact: (text: string) => string): HarnessEvent {
  if (event.type === "log") return { ...event, line: redact(event.line) };
  return { type: event.type, data: redactDeep(event.data, redact) };
}

function redactDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, redact)]));
  }
  return value;
}

function redactResult(result: HarnessResult | null, redact: (text: string) => string): HarnessResult {
  if (!result) return failed("LOOPD_HARNESS_CRASHED", "the harness returned no result");
  return {
    ...result,
    summary: result.summary === null ? null : redact(result.summary),
    error: result.error ? { ...result.error, message: redact(result.error.message) } : null,
    ...(result.finalMessage ? { finalMessage: redact(result.finalMessage) } : {}),
  };
}
