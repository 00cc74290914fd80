/**
 * The model router: which tier runs the next attempt of a routine, and why. Pure (no I/O, no
 * clock, randomness injected), so the engine, `loopd routines show` and the routing benchmark
 * all get the same answer for the same inputs.
 *
 * Order: (1) escalation after a failed verification, (2) the routine's own `tier`, (3) the
 * first matching `routing.rules` entry, (4) the routine's history (expected cost per verified
 * success, with a Beta prior and `explore`), then (5) the budget guard on whatever was picked.
 * Tiers are ordered cheap → strong as declared under `models`.
 */
import type { z } from "zod";
import type { routingRuleSchema } from "./config-schema.js";
import { globToRegExp } from "./glob.js";
import { formatUsd } from "./money.js";
import type { RoutineSpec } from "./routine-spec.js";

export type RoutingRule = z.output<typeof routingRuleSchema>;

/** One tier's record for one routine: attempts, attempts that passed verification, USD. */
export interface TierStats {
  runs: number;
  verified: number;
  meanCostUsd: number;
  /**
   * The median attempt's USD. Preferred over the mean when known: one attempt that overshot
   * must not make a tier look unaffordable for the next two hundred runs.
   */
  medianCostUsd?: number;
}

/** The tightest budget cap that applies to the run, and which window it is. */
export interface BudgetLeft {
  usd: number;
  window: "run" | "day" | "month";
}

export interface RouteInput {
  spec: RoutineSpec;
  /** Tier names cheap → strong (`tierOrder(models)`). Route only when `models` declares tiers. */
  tiers: readonly string[];
  rules: readonly RoutingRule[];
  /** Share of history-routed runs that try another tier (config `routing.explore`). */
  explore: number;
  /** This routine's record per tier. */
  history: Readonly<Record<string, TierStats>>;
  /** USD of a typical run per tier (priced from the pricing table); the cost prior. */
  nominalCostUsd?: Readonly<Record<string, number>>;
  promptChars: number;
  /** Files the routine's previous run changed; null = unknown. */
  lastChangedFiles: readonly string[] | null;
  /** Failing tests reported in the run's input; null = not reported. */
  failingTests: number | null;
  budgetLeft: BudgetLeft | null;
  /** Set when the previous attempt of this occurrence failed verification. */
  escalation: { failedTier: string; summary: string } | null;
  /** Uniform in [0, 1); seeded in tests and the benchmark. */
  random: () => number;
}

export type RouteDecision =
  | { kind: "tier"; tier: string; reason: string }
  | { kind: "refuse"; reason: string };

/**
 * Prior success rate of the cheapest and the strongest tier (tiers between are interpolated),
 * worth PRIOR_WEIGHT runs: a new routine starts from "cheap models pass 60 % of checks, strong
 * ones 90 %", and two runs of its own already move the estimate halfway.
 */
export const PRIOR_SUCCESS = { cheapest: 0.6, strongest: 0.9 } as const;
export const PRIOR_WEIGHT = 2;
/** History picks the cheapest per verified success among tiers at most this far below the best success. */
export const SUCCESS_MARGIN = 0.05;

/** Tier names in declaration order, which the config documents as cheap → strong. */
export function tierOrder(models: Readonly<Record<string, unknown>> | undefined): string[] {
  return Object.keys(models ?? {});
}

/** Posterior mean success rate of `tier` for this routine (Beta prior, see PRIOR_SUCCESS). */
export function expectedSuccess(
  history: RouteInput["history"],
  tiers: readonly string[],
  tier: string,
): number {
  const index = Math.max(0, tiers.indexOf(tier));
  const share = tiers.length > 1 ? index / (tiers.length - 1) : 1;
  const prior = PRIOR_SUCCESS.cheapest + share * (PRIOR_SUCCESS.strongest - PRIOR_SUCCESS.cheapest);
  const stats = history[tier];
  return ((stats?.verified ?? 0) + PRIOR_WEIGHT * prior) / ((stats?.runs ?? 0) + PRIOR_WEIGHT);
}

/**
 * Expected USD of one attempt on `tier`: the routine's median (else mean), pulled towards the
 * nominal cost by PRIOR_WEIGHT runs when one is known. Null when neither exists.
 */
export function expectedCost(
  history: RouteInput["history"],
  tier: string,
  nominalCostUsd?: RouteInput["nominalCostUsd"],
): number | null {
  const stats = history[tier];
  const nominal = nominalCostUsd?.[tier];
  const runs = stats && stats.runs > 0 ? stats.runs : 0;
  const typical = stats?.medianCostUsd ?? stats?.meanCostUsd ?? 0;
  if (nominal === undefined) return runs > 0 ? typical : null;
  return (runs * typical + PRIOR_WEIGHT * nominal) / (runs + PRIOR_WEIGHT);
}

export function routeRun(input: RouteInput): RouteDecision {
  if (input.tiers.length === 0) return refuse("no model tiers under `models` to route between");
  if (input.escalation) return escalate(input, input.escalation.failedTier);
  if (input.spec.tier !== undefined) return guard(input, input.spec.tier, "set on the routine");
  const rule = input.rules.find((candidate) => ruleMatches(candidate, input));
  if (rule) return guard(input, rule.tier, `rule \`${rule.name}\``);
  return guard(input, ...fromHistory(input));
}

/** The tier an attempt that failed on `tier` escalates to; null at the top. */
export function nextTier(spec: RoutineSpec, tiers: readonly string[], tier: string): string | null {
  const rank = tiers.indexOf(tier);
  if (spec.escalate.length > 0) {
    const position = spec.escalate.indexOf(tier);
    if (position >= 0) return spec.escalate[position + 1] ?? null;
    // Routed to a tier outside the list (a rule, history): continue at the first stronger one.
    return spec.escalate.find((candidate) => tiers.indexOf(candidate) > rank) ?? null;
  }
  return rank >= 0 ? (tiers[rank + 1] ?? null) : null;
}

function escalate(input: RouteInput, failed: string): RouteDecision {
  const next = nextTier(input.spec, input.tiers, failed);
  if (next === null)
    return refuse(`${failed} failed verification and there is no stronger tier to escalate to`);
  const cost = expectedCost(input.history, next, input.nominalCostUsd);
  const left = input.budgetLeft;
  // Falling back to a cheaper tier would just repeat the attempt that failed: stop instead.
  if (left && (left.usd <= 0 || (cost !== null && cost > left.usd))) {
    return refuse(`${failed} failed verification; ${next} would cost ~${usd(cost ?? 0)}, ${leftText(left)}`);
  }
  return { kind: "tier", tier: next, reason: `${next}: escalated after ${failed} failed verification` };
}

/**
 * Step 5: keep the pick when the budget allows it, else the strongest cheaper tier that fits.
 * When only the per-run cap is too small for every tier, the cheapest tier runs anyway and
 * the run-time cap stops it: refusing would lock the routine out for good, since a run that
 * never starts adds no history that could lower the estimate.
 */
function guard(input: RouteInput, tier: string, why: string): RouteDecision {
  const left = input.budgetLeft;
  const cost = (name: string) => expectedCost(input.history, name, input.nominalCostUsd);
  const fits = (name: string) => {
    const expected = cost(name);
    // An unknown cost cannot be judged here; the run-time caps still stop an overrun.
    return left === null || (left.usd > 0 && (expected === null || expected <= left.usd));
  };
  if (fits(tier)) return { kind: "tier", tier, reason: `${tier}: ${why}` };
  const cheaper = input.tiers.slice(0, Math.max(0, input.tiers.indexOf(tier))).reverse();
  const fallback = cheaper.find(fits);
  const leftNow = left ? leftText(left) : "";
  if (fallback === undefined && left?.window === "run" && left.usd > 0) {
    const cheapest = input.tiers[0] ?? tier;
    return {
      kind: "tier",
      tier: cheapest,
      reason: `${cheapest}: no tier is expected to fit ${leftNow}, so the cheapest runs and the cap stops it`,
    };
  }
  if (fallback === undefined) {
    return refuse(`${tier} (${why}) would cost ~${usd(cost(tier) ?? 0)} and no tier fits: ${leftNow}`);
  }
  return { kind: "tier", tier: fallback, reason: `${fallback}: downgraded from ${tier}, ${leftNow}` };
}

/**
 * Step 4. A tier's value is its expected cost per verified success. With a `verify` check a
 * failure escalates, so a tier is valued as the chain starting there (cost c + (1 − p)·C_next,
 * success p + (1 − p)·S_next): a cheap first try backed by a strong retry often beats going
 * strong at once. Among tiers within SUCCESS_MARGIN of the best success the cheapest per
 * success wins; when a cost is unknown, the cheapest by declaration order.
 */
function fromHistory(input: RouteInput): [string, string] {
  const { tiers, history } = input;
  const chain = (tier: string, seen: Set<string>): { success: number; cost: number | null } => {
    const p = expectedSuccess(history, tiers, tier);
    const c = expectedCost(history, tier, input.nominalCostUsd);
    const next = input.spec.verify ? nextTier(input.spec, tiers, tier) : null;
    if (next === null || seen.has(next)) return { success: p, cost: c };
    const rest = chain(next, new Set([...seen, next]));
    const cost = c === null || rest.cost === null ? null : c + (1 - p) * rest.cost;
    return { success: p + (1 - p) * rest.success, cost };
  };
  const options = tiers.map((tier) => ({ tier, ...chain(tier, new Set([tier])) }));
  const best = Math.max(...options.map((option) => option.success));
  const eligible = options.filter((option) => option.success >= best - SUCCESS_MARGIN);
  const priced = eligible.every((option) => option.cost !== null);
  const perSuccess = (option: (typeof options)[number]) =>
    (option.cost ?? 0) / Math.max(option.success, 1e-9);
  const pick = priced
    ? eligible.reduce((a, b) => (perSuccess(b) < perSuccess(a) ? b : a))
    : (eligible[0] as (typeof options)[number]);

  const others = tiers.filter((tier) => tier !== pick.tier);
  if (others.length > 0 && input.explore > 0 && input.random() < input.explore) {
    const other = others[Math.min(others.length - 1, Math.floor(input.random() * others.length))] as string;
    return [other, `exploring (${percent(input.explore)} of runs try another tier than ${pick.tier})`];
  }
  const runs = Object.values(history).reduce((sum, stats) => sum + stats.runs, 0);
  const basis = runs === 0 ? "no history yet, prior only" : `${runs} past runs`;
  const value = pick.cost === null ? "" : `, ~${usd(perSuccess(pick))} per verified run`;
  return [pick.tier, `est. ${percent(pick.success)} verified${value} (${basis})`];
}

export function ruleMatches(rule: RoutingRule, input: RouteInput): boolean {
  const { when } = rule;
  const { spec } = input;
  if (when.template !== undefined && spec.template?.name !== when.template) return false;
  if (when.labels && !when.labels.some((label) => spec.labels.includes(label))) return false;
  if (when.repo !== undefined && !wildcard(when.repo).test(spec.repo)) return false;
  if (when.files) {
    const files = input.lastChangedFiles;
    // No changed files is no evidence that a run stays within the globs.
    if (!files || files.length === 0) return false;
    const globs = when.files.map((glob) => globToRegExp(glob));
    if (!files.every((file) => globs.some((glob) => glob.test(file)))) return false;
  }
  if (when.promptChars && !inRange(input.promptChars, when.promptChars)) return false;
  if (when.failingTests && (input.failingTests === null || !inRange(input.failingTests, when.failingTests))) {
    return false;
  }
  return true;
}

function inRange(value: number, range: { min?: number | undefined; max?: number | undefined }): boolean {
  return (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);
}

const escapeRegExp = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");

/** Repo patterns: `*` is any run of characters, slashes included (`github.com/acme/*`). */
function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`);
}

function refuse(reason: string): RouteDecision {
  return { kind: "refuse", reason };
}

function leftText(left: BudgetLeft): string {
  const window = { run: "for this run", day: "today", month: "this month" }[left.window];
  return `${usd(Math.max(0, left.usd))} left ${window}`;
}

/** Money in reasons, as every face shows it (the routing benchmark prints with it too). */
export const usd = formatUsd;

function percent(share: number): string {
  return `${Math.round(share * 100)} %`;
}
