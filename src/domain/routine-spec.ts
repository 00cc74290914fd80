/**
 * A routine as the store keeps it: the declared config with defaults filled in, relative
 * paths and named dates resolved, and the time zone pinned. Everything downstream (engine,
 * CLI, API) reads this shape, never the raw YAML. Its hash decides whether `apply` changed it.
 */
import { createHash } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import { canonicalJson } from "./canonical-json.js";
import { type CheckSpec, toCheckSpec } from "./check.js";
import { defaultWatchBackoff, defaultWatchEvery } from "./config-checks.js";
import type {
  CatchUpPolicy,
  Config,
  Harness,
  NotifyEvent,
  OverlapPolicy,
  RoutineConfig,
  WorkspaceMode,
} from "./config-schema.js";
import { parseDuration } from "./duration.js";
import { LoopdError } from "./errors.js";
import { resolveInstant } from "./instant.js";
import type { MeteringMode } from "./metering.js";
import { tierOrder } from "./router.js";
import {
  DEFAULT_PR_PUSH,
  DEFAULT_PUSH,
  type DeliverMode,
  defaultDeliverMode,
  type PrSpec,
  type PushSpec,
} from "./run-delivery.js";
import type { SandboxConfig } from "./sandbox.js";
import { expandRoutine, type LoopSpec } from "./templates/index.js";
import type { TriggerSpec, UntilSpec, WatchBackoff } from "./trigger.js";

export const DEFAULTS = {
  timeout: "1h",
  maxTurns: 30,
  subAgentMaxTurns: 10,
  verifyTimeout: "10m",
  retries: 0,
  catchUp: "latest",
  maxCatchup: 10,
  overlap: "skip",
  agentHarness: "claude",
  notifyOn: ["failure"],
  /** A watch speaks up when its check is not met, misses its deadline, or cannot be evaluated. */
  watchNotifyOn: ["unsatisfied", "deadline", "failure"],
  agentCheckMaxTurns: 10,
} as const;

export type TaskSpec =
  | { kind: "prompt"; prompt: string }
  | { kind: "command"; command: string }
  | { kind: "check" };

export interface NotifyRuleSpec {
  to: string[];
  on: NotifyEvent[];
  changeOnly: boolean;
  digest?: string;
}

export interface RoutineSpec {
  name: string;
  description?: string;
  paused: boolean;
  repo: string;
  workspace: WorkspaceMode;
  task: TaskSpec;
  /** The built-in template it was written with (`template` + `params` as written); the spec is its expansion. */
  template?: { name: string; params: Record<string, unknown> };
  /** A built-in loop whose deterministic tick runs first each run (src/loops/). */
  loop?: LoopSpec;
  harness: Harness;
  tier?: string;
  escalate: string[];
  model?: string;
  trigger: TriggerSpec;
  until?: UntilSpec;
  maxTurns?: number;
  timeout: string;
  timeoutMs: number;
  retries: number;
  /** Failed runs in a row after which it pauses itself (absent: the global setting, else 5). */
  pauseAfter?: number;
  catchUp: CatchUpPolicy;
  maxCatchup: number;
  overlap: OverlapPolicy;
  budget?: {
    perRun?: number;
    perDay?: number;
    perMonth?: number;
    tokensPerRun?: number;
    usdPerMinute?: number;
  };
  /** `metering:` as written; absent: the config's, else the gateway (domain/metering.ts). */
  metering?: MeteringMode;
  /** GitHub events that fire it (`POST /hooks/github`). */
  events?: Array<{ github: string; conclusion?: string; repo?: string; label?: string; branch?: string }>;
  /** Inbound hook: `POST /hooks/r/<routine>` fires it when signed with `secret` or carrying the token. */
  hook?: { secret?: string; tokenEnv?: string };
  /** The condition a watch evaluates (the routine's task is `{ kind: "check" }`). */
  check?: CheckSpec;
  /** Watches: stop scheduling once satisfied (`by` deadlines and `until: { satisfied: true }`). */
  untilSatisfied?: boolean;
  /** Watches: what happens when the check is not met. */
  onUnsatisfied?: { notify: boolean; run?: string };
  /** Checks the agent's work; a failure escalates to the next tier. */
  verify?: { command: string; timeout: string; timeoutMs: number };
  /** `changes`: a run that changed no file fails with LOOPD_NO_CHANGES. */
  expect?: "changes";
  notify: NotifyRuleSpec[];
  labels: string[];
  /** Worker labels a run needs; the harness name is always among them. */
  requires: string[];
  /** Git ref the worktree branches from (default: the repo's HEAD / default branch). */
  base?: string;
  /** Extra docs (repo-relative paths) for the agent. */
  docs: string[];
  /** Keep a memory between runs (agent harnesses). */
  memory: boolean;
  /** What becomes of the run's work: left in the worktree, committed on the run branch, or pushed. */
  deliver: DeliverMode;
  /** Where `deliver: push` pushes (defaults filled in); only with `deliver: push`. */
  push?: PushSpec;
  /** The pull request of `deliver: pr` (defaults filled in); only with `deliver: pr`. */
  pr?: PrSpec;
  /** Environment variable names passed through to the agent and redacted from stored events. */
  secrets: string[];
  env: Record<string, string>;
  /** Shell commands see the daemon's whole environment (absent: the allow-list). */
  inheritEnv?: true;
  /** Absolute path of an MCP config file. */
  mcpConfig?: string;
  /** How the run is confined (`sandbox:` as written; absent: the global default, domain/sandbox.ts). */
  sandbox?: SandboxConfig;
  /** Sub-agents (builtin harness), in declaration order. */
  agents: SubAgentConfigSpec[];
}

export interface SubAgentConfigSpec {
  name: string;
  description: string;
  tier?: string;
  model?: string;
  maxTurns: number;
}

export interface SpecContext {
  /** Folder holding loopd.yaml: the default repo and the base for relative repo paths. */
  configDir: string;
  /** Zone used when a routine gives no `tz`. */
  defaultTimeZone: string;
  /** Reference time for phrases like "tomorrow 9am" (default now). */
  now?: number;
  config: Pick<Config, "dates" | "models">;
}

export function toRoutineSpec(written: RoutineConfig, index: number, context: SpecContext): RoutineSpec {
  const routine: RoutineConfig = expandRoutine(written);
  const tz = routine.tz ?? context.defaultTimeZone;
  const instant = (text: string, field: string): string => {
    const result = resolveInstant(text, {
      timeZone: tz,
      ...(context.config.dates ? { dates: context.config.dates } : {}),
      ...(context.now !== undefined ? { now: context.now } : {}),
    });
    if (!result.ok) {
      throw new LoopdError("LOOPD_CONFIG_INVALID", `routines[${index}].${field}: ${result.reason}`, {
        details: { issues: [{ path: `routines[${index}].${field}`, message: result.reason }] },
      });
    }
    return new Date(result.epochMs).toISOString();
  };

  const task = toTask(routine);
  // An agent check asks the cheapest tier unless told otherwise; other checks need no agent.
  const checkTier =
    routine.check?.agent !== undefined
      ? (routine.check.agent.tier ?? routine.tier ?? cheapestTier(context.config.models))
      : undefined;
  const tier = routine.tier ?? checkTier;
  const harness =
    routine.harness ??
    (task.kind === "command" || (task.kind === "check" && routine.check?.agent === undefined)
      ? "shell"
      : tier
        ? (context.config.models?.[tier]?.harness ?? DEFAULTS.agentHarness)
        : DEFAULTS.agentHarness);
  const timeout = routine.timeout ?? DEFAULTS.timeout;

  const spec: RoutineSpec = {
    name: routine.name,
    paused: routine.paused ?? false,
    repo: resolveRepo(routine.repo, context.configDir),
    workspace: routine.workspace ?? (harness === "shell" ? "in-place" : "worktree"),
    task,
    harness,
    escalate: routine.escalate ?? [],
    trigger: toTrigger(routine, tz, instant),
    timeout,
    timeoutMs: durationMs(timeout),
    retries: routine.retries ?? DEFAULTS.retries,
    catchUp: routine.catchUp ?? DEFAULTS.catchUp,
    maxCatchup: routine.maxCatchup ?? DEFAULTS.maxCatchup,
    overlap: routine.overlap ?? DEFAULTS.overlap,
    notify: toNotifyRules(routine),
    labels: [...new Set(routine.labels ?? [])].sort(),
    // Escalation may hand an attempt to another tier's harness: a worker must offer them all.
    requires: [...new Set([...(routine.requires ?? []), harness, ...tierHarnesses(routine, context)])].sort(),
    docs: routine.docs ?? [],
    memory: routine.memory ?? (harness !== "shell" && task.kind !== "check"),
    deliver:
      routine.deliver ??
      defaultDeliverMode({
        harness,
        task,
        workspace: routine.workspace ?? (harness === "shell" ? "in-place" : "worktree"),
      }),
    secrets: [...new Set(routine.secrets ?? [])].sort(),
    env: routine.env ?? {},
    agents: Object.entries(routine.agents ?? {}).map(([agentName, agent]) => ({
      name: agentName,
      description: agent.description,
      ...(agent.tier !== undefined ? { tier: agent.tier } : {}),
      ...(agent.model !== undefined ? { model: agent.model } : {}),
      maxTurns: agent.maxTurns ?? DEFAULTS.subAgentMaxTurns,
    })),
  };
  if (written.template !== undefined) {
    spec.template = { name: written.template, params: written.params ?? {} };
  }
  if (routine.loop !== undefined) spec.loop = routine.loop;
  if (spec.deliver === "push") spec.push = { ...DEFAULT_PUSH, ...routine.push };
  if (spec.deliver === "pr") {
    spec.push = { ...DEFAULT_PR_PUSH, ...routine.push };
    const { draft, labels, ...pr } = routine.pr ?? {};
    spec.pr = { ...pr, draft: draft ?? false, labels: labels ?? [] };
  }
  if (routine.inheritEnv === true) spec.inheritEnv = true;
  if (routine.base !== undefined) spec.base = routine.base;
  if (routine.sandbox !== undefined) spec.sandbox = routine.sandbox;
  if (routine.mcpConfig !== undefined) spec.mcpConfig = resolve(context.configDir, routine.mcpConfig);
  if (routine.description !== undefined) spec.description = routine.description;
  if (tier !== undefined) spec.tier = tier;
  if (routine.check !== undefined) {
    spec.check = toCheckSpec(routine.check);
    const untilSatisfied =
      routine.by !== undefined || (typeof routine.until === "object" && routine.until.satisfied === true);
    if (untilSatisfied) spec.untilSatisfied = true;
    spec.onUnsatisfied = {
      notify: routine.onUnsatisfied?.notify ?? true,
      ...(routine.onUnsatisfied?.run !== undefined ? { run: routine.onUnsatisfied.run } : {}),
    };
  }
  if (routine.model !== undefined) spec.model = routine.model;
  if (harness !== "shell") {
    spec.maxTurns =
      routine.maxTurns ?? (task.kind === "check" ? DEFAULTS.agentCheckMaxTurns : DEFAULTS.maxTurns);
  }
  if (routine.pauseAfter !== undefined) spec.pauseAfter = routine.pauseAfter;
  if (routine.budget !== undefined) spec.budget = routine.budget;
  if (routine.metering !== undefined) spec.metering = routine.metering;
  if (routine.hook !== undefined) spec.hook = routine.hook;
  if (routine.events !== undefined) spec.events = routine.events;
  if (routine.expect !== undefined) spec.expect = routine.expect;
  if (routine.verify !== undefined) {
    const timeout = routine.verify.timeout ?? DEFAULTS.verifyTimeout;
    spec.verify = { command: routine.verify.command, timeout, timeoutMs: durationMs(timeout) };
  }
  if (routine.until !== undefined) {
    spec.until =
      typeof routine.until === "string"
        ? { at: instant(routine.until, "until") }
        : {
            ...(routine.until.at !== undefined ? { at: instant(routine.until.at, "until.at") } : {}),
            ...(routine.until.runs !== undefined ? { runs: routine.until.runs } : {}),
          };
  }
  return spec;
}

/** Attempts one occurrence may take: the first, `retries` more, and one per escalation tier when verified. */
export function maxAttemptsOf(spec: RoutineSpec): number {
  return 1 + spec.retries + (spec.verify ? spec.escalate.length : 0);
}

export function specHash(spec: RoutineSpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex").slice(0, 16);
}

/** Whether two specs schedule differently (so `next_due_at` must be recomputed). */
export function scheduleChanged(before: RoutineSpec, after: RoutineSpec): boolean {
  return canonicalJson([before.trigger, before.until]) !== canonicalJson([after.trigger, after.until]);
}

/** Tiers are declared cheapest first (the router's convention, `tierOrder`). */
function cheapestTier(models: Config["models"]): string | undefined {
  return tierOrder(models)[0];
}

function tierHarnesses(routine: RoutineConfig, context: SpecContext): string[] {
  const tiers = [routine.tier, routine.check?.agent?.tier, ...(routine.escalate ?? [])].filter(
    (tier) => tier !== undefined,
  );
  return tiers.flatMap((tier) => {
    const harness = context.config.models?.[tier]?.harness;
    return harness ? [harness] : [];
  });
}

function toTask(routine: RoutineConfig): TaskSpec {
  if (routine.command !== undefined) return { kind: "command", command: routine.command };
  if (routine.check !== undefined) return { kind: "check" };
  return { kind: "prompt", prompt: routine.prompt ?? "" };
}

function toTrigger(
  routine: RoutineConfig,
  tz: string,
  instant: (text: string, field: string) => string,
): TriggerSpec {
  if (routine.by !== undefined) {
    const every = routine.every ?? defaultWatchEvery(routine.check);
    return {
      kind: "by",
      deadline: instant(routine.by, "by"),
      every,
      everyMs: durationMs(every),
      tz,
      ...backoffOf(routine),
    };
  }
  if (routine.every !== undefined) {
    const trigger: TriggerSpec = {
      kind: "every",
      every: routine.every,
      everyMs: durationMs(routine.every),
      ...backoffOf(routine),
    };
    if (routine.jitter !== undefined) trigger.jitterMs = durationMs(routine.jitter);
    return trigger;
  }
  if (routine.cron !== undefined) return { kind: "cron", cron: routine.cron, tz };
  if (routine.at !== undefined) return { kind: "at", at: instant(routine.at, "at"), tz };
  return { kind: "manual" };
}

/** A written `every` is kept as is unless `backoff` is given; the default cadence brings its own. */
function backoffOf(routine: RoutineConfig): WatchBackoff {
  if (routine.check === undefined) return {};
  const backoff =
    routine.backoff ?? (routine.every === undefined ? defaultWatchBackoff(routine.check) : undefined);
  return backoff === undefined ? {} : { backoff, backoffMs: durationMs(backoff) };
}

function toNotifyRules(routine: RoutineConfig): NotifyRuleSpec[] {
  if (routine.notify === undefined) return [];
  const rules = Array.isArray(routine.notify) ? routine.notify : [routine.notify];
  const defaultOn = routine.check !== undefined ? DEFAULTS.watchNotifyOn : DEFAULTS.notifyOn;
  return rules.map((rule) => {
    const spec: NotifyRuleSpec = {
      to: Array.isArray(rule.to) ? rule.to : [rule.to],
      on: rule.on ?? [...defaultOn],
      changeOnly: rule.changeOnly ?? false,
    };
    if (rule.digest !== undefined) spec.digest = rule.digest;
    return spec;
  });
}

/** A URL (https://, git@, ssh://) is kept; a path is made absolute against the config's folder. */
function resolveRepo(repo: string | undefined, configDir: string): string {
  if (repo === undefined) return configDir;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/\s]+@[^:\s]+:/.test(repo)) return repo;
  return isAbsolute(repo) ? repo : resolve(configDir, repo);
}

function durationMs(text: string): number {
  const parsed = parseDuration(text);
  // The schema validated every duration already; reaching this is a programming error.
  if (!parsed.ok) throw new Error(`unvalidated duration: ${parsed.reason}`);
  return parsed.ms;
}
