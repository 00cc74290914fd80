/**
 * A stored routine back in loopd.yaml's shape: the routine a user would have written to get
 * this spec, defaults left out. The dashboard's Config panel, the API's routine detail
 * (`yaml`) and anything else that shows a routine use it instead of the normalised spec
 * (`timeoutMs: 3600000`, `escalate: []`). The contract, tested as a round trip: the result
 * parses through the config schema and `toRoutineSpec` (same folder, same tiers) to the
 * same spec.
 */
import { isAbsolute, relative } from "node:path";
import { stringify } from "yaml";
import { canonicalJson } from "./canonical-json.js";
import { type CheckSpec, DEFAULT_GITHUB_STATE } from "./check.js";
import { type CheckConfig, defaultWatchBackoff, defaultWatchEvery } from "./config-checks.js";
import { DEFAULTS, type RoutineSpec } from "./routine-spec.js";
import { DEFAULT_PR_PUSH, DEFAULT_PUSH, defaultDeliverMode } from "./run-delivery.js";
import { findTemplate } from "./templates/index.js";

export interface RoutineYamlOptions {
  /** The folder of the routine's loopd.yaml: the default repo, and what repo paths are relative to. */
  configDir?: string;
  /** Tiers → their harness, so the harnesses tiers imply are not repeated under `requires`. */
  tierHarnesses?: Record<string, string>;
  /** A templated routine as the plain routine it expands to, instead of `template` + `params` + overrides. */
  expanded?: boolean;
}

/** The routine as a loopd.yaml entry (plain data, key order as a person writes it). */
export function routineConfigOf(
  spec: RoutineSpec,
  options: RoutineYamlOptions = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { name: spec.name };
  if (spec.description !== undefined) out.description = spec.description;
  if (spec.paused) out.paused = true;

  const task = spec.task;
  if (task.kind === "prompt") out.prompt = task.prompt;
  else if (task.kind === "command") out.command = task.command;
  if (spec.loop !== undefined) out.loop = spec.loop;

  Object.assign(out, triggerOf(spec));
  if (spec.check !== undefined) out.check = checkConfigOf(spec.check);
  if (spec.onUnsatisfied && (!spec.onUnsatisfied.notify || spec.onUnsatisfied.run !== undefined)) {
    out.onUnsatisfied = {
      ...(spec.onUnsatisfied.notify ? {} : { notify: false }),
      ...(spec.onUnsatisfied.run !== undefined ? { run: spec.onUnsatisfied.run } : {}),
    };
  }

  const repo = repoOf(spec.repo, options.configDir);
  if (repo !== undefined) out.repo = repo;
  const defaultHarness =
    task.kind === "command" || (task.kind === "check" && spec.check?.kind !== "agent") ? "shell" : null;
  if (spec.harness !== defaultHarness) out.harness = spec.harness;
  if (spec.tier !== undefined) out.tier = spec.tier;
  if (spec.escalate.length > 0) out.escalate = spec.escalate;
  if (spec.model !== undefined) out.model = spec.model;
  if (spec.maxTurns !== undefined) {
    const defaultTurns = task.kind === "check" ? DEFAULTS.agentCheckMaxTurns : DEFAULTS.maxTurns;
    if (spec.maxTurns !== defaultTurns) out.maxTurns = spec.maxTurns;
  }
  const defaultWorkspace = spec.harness === "shell" ? "in-place" : "worktree";
  if (spec.workspace !== defaultWorkspace) out.workspace = spec.workspace;

  if (spec.timeout !== DEFAULTS.timeout) out.timeout = spec.timeout;
  if (spec.retries !== DEFAULTS.retries) out.retries = spec.retries;
  if (spec.pauseAfter !== undefined) out.pauseAfter = spec.pauseAfter;
  if (spec.catchUp !== DEFAULTS.catchUp) out.catchUp = spec.catchUp;
  if (spec.maxCatchup !== DEFAULTS.maxCatchup) out.maxCatchup = spec.maxCatchup;
  if (spec.overlap !== DEFAULTS.overlap) out.overlap = spec.overlap;
  if (spec.budget !== undefined) out.budget = spec.budget;
  if (spec.verify !== undefined) {
    out.verify = {
      command: spec.verify.command,
      ...(spec.verify.timeout !== DEFAULTS.verifyTimeout ? { timeout: spec.verify.timeout } : {}),
    };
  }
  if (spec.expect !== undefined) out.expect = spec.expect;
  if (spec.events !== undefined) out.events = spec.events;
  if (spec.hook !== undefined) out.hook = spec.hook;

  if (spec.notify.length > 0) {
    const rules = spec.notify.map((rule) => ({
      to: rule.to.length === 1 ? rule.to[0] : rule.to,
      on: rule.on,
      ...(rule.changeOnly ? { changeOnly: true } : {}),
      ...(rule.digest !== undefined ? { digest: rule.digest } : {}),
    }));
    out.notify = rules.length === 1 ? rules[0] : rules;
  }
  if (spec.labels.length > 0) out.labels = spec.labels;
  const implied = new Set([
    spec.harness,
    ...[spec.tier, spec.check?.kind === "agent" ? spec.check.tier : undefined, ...spec.escalate].flatMap(
      (tier) => (tier !== undefined && options.tierHarnesses?.[tier] ? [options.tierHarnesses[tier]] : []),
    ),
  ]);
  const requires = spec.requires.filter((label) => !implied.has(label));
  if (requires.length > 0) out.requires = requires;
  if (spec.base !== undefined) out.base = spec.base;
  if (spec.docs.length > 0) out.docs = spec.docs;
  if (spec.memory !== (spec.harness !== "shell" && task.kind !== "check")) out.memory = spec.memory;
  if (spec.deliver !== defaultDeliverMode(spec)) out.deliver = spec.deliver;
  if (spec.push !== undefined) {
    const defaults = spec.deliver === "pr" ? DEFAULT_PR_PUSH : DEFAULT_PUSH;
    const push = Object.fromEntries(
      Object.entries(spec.push).filter(([key, value]) => defaults[key as keyof typeof defaults] !== value),
    );
    if (Object.keys(push).length > 0) out.push = push;
  }
  if (spec.pr !== undefined) {
    const { draft, labels, ...pr } = spec.pr;
    const written = { ...pr, ...(draft ? { draft } : {}), ...(labels.length > 0 ? { labels } : {}) };
    if (Object.keys(written).length > 0) out.pr = written;
  }
  if (spec.secrets.length > 0) out.secrets = spec.secrets;
  if (Object.keys(spec.env).length > 0) out.env = spec.env;
  if (spec.inheritEnv) out.inheritEnv = true;
  if (spec.mcpConfig !== undefined) out.mcpConfig = spec.mcpConfig;
  if (spec.sandbox !== undefined) out.sandbox = spec.sandbox;
  if (spec.agents.length > 0) {
    out.agents = Object.fromEntries(
      spec.agents.map(({ name, maxTurns, ...agent }) => [
        name,
        { ...agent, ...(maxTurns !== DEFAULTS.subAgentMaxTurns ? { maxTurns } : {}) },
      ]),
    );
  }
  return spec.template && !options.expanded ? templated(out, spec.template) : out;
}

/**
 * A plain routine back as `template` + `params` and the fields the routine sets itself: those
 * whose value differs from what the template gives (a replaced schedule keeps its new trigger).
 */
function templated(
  plain: Record<string, unknown>,
  written: { name: string; params: Record<string, unknown> },
): Record<string, unknown> {
  const template = findTemplate(written.name);
  const params = template?.params.safeParse(written.params);
  if (!template || !params?.success) return plain;
  const expansion = template.expand(params.data);
  const { name, ...fields } = plain;
  const out: Record<string, unknown> = { name, template: written.name };
  if (Object.keys(written.params).length > 0) out.params = written.params;
  for (const [key, value] of Object.entries(fields)) {
    if (!(key in expansion) || canonicalJson(expansion[key]) !== canonicalJson(value)) out[key] = value;
  }
  return out;
}

/** The routine as YAML text, one entry of `routines:` (without the list dash). */
export function routineYaml(spec: RoutineSpec, options: RoutineYamlOptions = {}): string {
  return stringify(routineConfigOf(spec, options), { lineWidth: 0 });
}

function triggerOf(spec: RoutineSpec): Record<string, unknown> {
  const trigger = spec.trigger;
  const until: Record<string, unknown> = {
    ...(spec.untilSatisfied && trigger.kind !== "by" ? { satisfied: true } : {}),
    ...(spec.until?.at !== undefined ? { at: spec.until.at } : {}),
    ...(spec.until?.runs !== undefined ? { runs: spec.until.runs } : {}),
  };
  const untilEntry =
    Object.keys(until).length === 0
      ? {}
      : Object.keys(until).length === 1 && until.at !== undefined
        ? { until: until.at }
        : { until };
  switch (trigger.kind) {
    case "every":
      return {
        every: trigger.every,
        ...(trigger.jitterMs !== undefined ? { jitter: `${trigger.jitterMs / 1000}s` } : {}),
        ...(trigger.backoff !== undefined ? { backoff: trigger.backoff } : {}),
        ...untilEntry,
      };
    case "cron":
      return { cron: trigger.cron, tz: trigger.tz, ...untilEntry };
    case "at":
      return { at: trigger.at, tz: trigger.tz, ...untilEntry };
    case "by": {
      const check = spec.check ? checkConfigOf(spec.check) : undefined;
      return { by: trigger.deadline, ...byCadenceOf(trigger, check), tz: trigger.tz, ...untilEntry };
    }
    case "manual":
      return untilEntry;
  }
}

/**
 * A `by` watch's `every` and `backoff`, left out where they are the defaults. A written
 * `every` has no backoff unless one is written too, so an `every` equal to the default is
 * kept when the default would bring a backoff the routine does not have.
 */
function byCadenceOf(trigger: { every: string; backoff?: string }, check: CheckConfig | undefined) {
  const defaultBackoff = defaultWatchBackoff(check);
  const defaultEvery = trigger.every === defaultWatchEvery(check);
  if (defaultEvery && trigger.backoff === undefined && defaultBackoff === undefined) return {};
  if (defaultEvery && trigger.backoff !== undefined) {
    return trigger.backoff === defaultBackoff ? {} : { backoff: trigger.backoff };
  }
  return { every: trigger.every, ...(trigger.backoff !== undefined ? { backoff: trigger.backoff } : {}) };
}

export function checkConfigOf(check: CheckSpec): CheckConfig {
  switch (check.kind) {
    case "command":
      return { command: check.command };
    case "test-retry":
      return { testRetry: { command: check.command, retries: check.retries } };
    case "github": {
      const kind = check.target.kind;
      const want =
        "checks" in check.want
          ? { checks: "green" as const }
          : kind !== "ref" && check.want.state !== DEFAULT_GITHUB_STATE[kind]
            ? { state: check.want.state }
            : {};
      return { github: { [kind]: check.url, ...want } } as CheckConfig;
    }
    case "http":
      return {
        http: {
          url: check.url,
          ...(check.method !== "GET" ? { method: check.method } : {}),
          ...(check.status !== "2xx" ? { status: check.status } : {}),
          ...(check.contains !== undefined ? { contains: check.contains } : {}),
          ...(check.matches !== undefined ? { matches: check.matches } : {}),
          ...(check.headers !== undefined ? { headers: check.headers } : {}),
        },
      } as CheckConfig;
    case "agent":
      return {
        agent: {
          question: check.question,
          ...(check.subject !== undefined ? { subject: check.subject } : {}),
          ...(check.tier !== undefined ? { tier: check.tier } : {}),
        },
      } as CheckConfig;
  }
}

/** Omitted when it is the config's own folder; relative below it; absolute (or a URL) otherwise. */
function repoOf(repo: string, configDir: string | undefined): string | undefined {
  if (configDir === undefined || !isAbsolute(repo)) return repo;
  if (repo === configDir) return undefined;
  const below = relative(configDir, repo);
  return below.startsWith("..") || isAbsolute(below) ? repo : `./${below}`;
}
