/**
 * `npm run bench:routing`: what routing policies cost and how often their work passes
 * verification, on a seeded synthetic suite (bench/lib/routing-sim.ts). Every policy decides
 * through the real router (`routeRun`) where it routes at all; every attempt it makes is a
 * real builtin-harness run against the fake model server, priced with src/domain/pricing.ts.
 * A simulation of the policies, not a claim about real models. A benchmark, not a test:
 * prints Markdown and writes bench/results/routing.md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { costOf, type PricingTable } from "../src/domain/pricing.js";
import { type RouteInput, type RoutingRule, routeRun, type TierStats, usd } from "../src/domain/router.js";
import { mulberry32 } from "../test/helpers/prng.js";
import { shellSpec } from "../test/helpers/specs.js";
import {
  AttemptRunner,
  knowsDifficultyBound,
  MODEL_ID,
  makeTasks,
  pricingFor,
  ROUTINES,
  SEED,
  TASKS_PER_ROUTINE,
  type Task,
  TIERS,
  type Tier,
} from "./lib/routing-sim.js";

const TARGET = { costRatio: 0.4, successRatio: 0.98 };
const VERIFY = { command: "simulated", timeout: "10m", timeoutMs: 600_000 };
/** The router's cost prior: a nominal run of 20,000 input + 1,500 output tokens per tier. */
const NOMINAL = { tokensIn: 20_000, tokensOut: 1_500, tokensCached: 0, tokensReasoning: 0 };
/** Rules policies: a prompt up to this many characters (d ≈ 0.33) counts as easy. */
const SHORT_PROMPT = 1_500;

interface Policy {
  name: string;
  how: string;
  route: Pick<RouteInput, "rules" | "explore"> & { tier?: Tier; verify: boolean };
}

const shortRules = (chars: number): RoutingRule[] => [
  { name: "short-prompt", when: { promptChars: { max: chars } }, tier: "fast" },
  { name: "default", when: {}, tier: "strong" },
];

const policy = (name: string, how: string, route: Policy["route"]): Policy => ({ name, how, route });
const chars = (n: number) => `prompt ≤ ${n.toLocaleString("en")} chars`;

const POLICIES: Policy[] = [
  policy("always-strong", "strong, one attempt", { rules: [], explore: 0, tier: "strong", verify: false }),
  policy("always-fast", "fast, one attempt", { rules: [], explore: 0, tier: "fast", verify: false }),
  policy("rules only", `${chars(SHORT_PROMPT)} → fast, else strong; one attempt`, {
    rules: shortRules(SHORT_PROMPT),
    explore: 0,
    verify: false,
  }),
  policy("cascade", "fast, verify, strong on failure", { rules: [], explore: 0, tier: "fast", verify: true }),
  policy("rules + cascade", `${chars(SHORT_PROMPT)} → fast (strong on failure), else strong`, {
    rules: shortRules(SHORT_PROMPT),
    explore: 0,
    verify: true,
  }),
  policy("learned", "routeRun on per-routine history, explore 0.05, strong on failure", {
    rules: [],
    explore: 0.05,
    verify: true,
  }),
];

interface Result {
  policy: Policy;
  verified: number;
  costUsd: number;
  attempts: Record<Tier, number>;
  refused: number;
}

async function runPolicy(policy: Policy, tasks: Task[], runner: AttemptRunner, pricing: PricingTable) {
  const random = mulberry32(SEED + 1);
  const history = new Map<number, Record<string, TierStats>>();
  const nominalCostUsd = Object.fromEntries(
    TIERS.map((tier) => [tier, costOf(MODEL_ID[tier], NOMINAL, pricing)]),
  );
  const result: Result = { policy, verified: 0, costUsd: 0, attempts: { fast: 0, strong: 0 }, refused: 0 };
  for (const task of tasks) {
    const stats = history.get(task.routine) ?? {};
    history.set(task.routine, stats);
    const spec = shellSpec(`routine-${task.routine}`, {
      harness: "builtin",
      task: { kind: "prompt", prompt: "simulated" },
      escalate: policy.route.verify ? ["strong"] : [],
      ...(policy.route.tier ? { tier: policy.route.tier } : {}),
      ...(policy.route.verify ? { verify: VERIFY } : {}),
    });
    let escalation: RouteInput["escalation"] = null;
    for (;;) {
      const decision = routeRun({
        spec,
        tiers: TIERS,
        rules: policy.route.rules,
        explore: policy.route.explore,
        history: stats,
        nominalCostUsd,
        promptChars: task.promptChars,
        lastChangedFiles: null,
        failingTests: null,
        budgetLeft: null,
        escalation,
        random,
      });
      if (decision.kind === "refuse") {
        if (!escalation) result.refused++;
        break;
      }
      const tier = decision.tier as Tier;
      const attempt = await runner.attempt(task, tier);
      const cost = costOf(MODEL_ID[tier], attempt.usage, pricing);
      result.attempts[tier]++;
      result.costUsd += cost;
      const before = stats[tier] ?? { runs: 0, verified: 0, meanCostUsd: 0 };
      const runs = before.runs + 1;
      stats[tier] = {
        runs,
        verified: before.verified + (attempt.verified ? 1 : 0),
        meanCostUsd: before.meanCostUsd + (cost - before.meanCostUsd) / runs,
      };
      if (attempt.verified) {
        result.verified++;
        break;
      }
      if (!policy.route.verify) break;
      escalation = { failedTier: tier, summary: "verification failed" };
    }
  }
  return result;
}

async function runAll(policies: Policy[], tasks: Task[], runner: AttemptRunner, pricing: PricingTable) {
  const results: Result[] = [];
  for (const policy of policies) results.push(await runPolicy(policy, tasks, runner, pricing));
  return results;
}

const pct = (share: number) => `${(share * 100).toFixed(1)} %`;

function table(results: Result[], tasks: number): string[] {
  const base = results.find((result) => result.policy.name === "always-strong") as Result;
  const lines = [
    "| policy | how | verified | success | ÷ always-strong | attempts fast / strong | total cost | cost per verified | cost ÷ always-strong | target |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
  ];
  for (const result of results) {
    const successRatio = result.verified / base.verified;
    const costRatio = result.costUsd / base.costUsd;
    const judged = result.policy.name === "cascade" || result.policy.name === "learned";
    const met = costRatio <= TARGET.costRatio && successRatio >= TARGET.successRatio;
    lines.push(
      `| ${result.policy.name} | ${result.policy.how} | ${result.verified} / ${tasks} | ${pct(result.verified / tasks)} | ` +
        `${pct(successRatio)} | ${result.attempts.fast} / ${result.attempts.strong} | ${usd(result.costUsd)} | ` +
        `${usd(result.costUsd / Math.max(1, result.verified))} | ${pct(costRatio)} | ${judged ? (met ? "**met**" : "**not met**") : ""} |`,
    );
  }
  return lines;
}

/** Policy-side sweep: the prompt-length threshold of the two rules policies. */
function sweepPolicies(): Policy[] {
  return [1_000, 1_500, 2_000, 2_500, 3_000, 3_600].flatMap((n) => [
    policy(`rules only, ${chars(n)}`, "", { rules: shortRules(n), explore: 0, verify: false }),
    policy(`rules + cascade, ${chars(n)}`, "", { rules: shortRules(n), explore: 0, verify: true }),
  ]);
}

function boundText(tasks: Task[], pricing: PricingTable): string[] {
  const bound = knowsDifficultyBound(tasks, pricing, TARGET.successRatio);
  if (!bound) return [];
  return [
    `Bound: a policy that knew every task's d exactly, choosing per task strong, fast or fast → strong, would need ` +
      `${pct(bound.costShare)} of always-strong's expected cost to keep ${pct(bound.successShare)} of its expected verified ` +
      "tasks. Under these pass-rate formulas no mix of those three reaches the cost target, so the policies were not tuned towards it.",
  ];
}

function revision(root: string): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: root,
      encoding: "utf8",
    }).trim();
    const paths = [
      "src/domain/router.ts",
      "bench/routing.ts",
      "bench/lib/routing-sim.ts",
      "src/harness/builtin",
    ];
    const dirty = execFileSync("git", ["status", "--porcelain", "--", ...paths], {
      cwd: root,
      encoding: "utf8",
    });
    return dirty.trim() ? `${head} + uncommitted routing changes` : head;
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  const began = performance.now();
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const tasks = makeTasks(SEED);
  const runner = await AttemptRunner.start();
  const primary = pricingFor("claude-opus-4-5");
  let results: Result[];
  let sonnet: Result[];
  let sweep: Result[];
  try {
    results = await runAll(POLICIES, tasks, runner, primary);
    sonnet = await runAll(POLICIES, tasks, runner, pricingFor("claude-sonnet-4-5"));
    const base = results.filter((result) => result.policy.name === "always-strong");
    sweep = [...base, ...(await runAll(sweepPolicies(), tasks, runner, primary))];
  } finally {
    await runner.close();
  }
  const seconds = (performance.now() - began) / 1000;
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const meanD = tasks.reduce((sum, task) => sum + task.difficulty, 0) / tasks.length;
  const lines = [
    "# loopd routing benchmark",
    "",
    `loopd ${revision(root)} · ${new Date().toISOString().slice(0, 10)} · ${availableParallelism()} cores (${cpu}) · ` +
      `Node ${process.version} · seed ${SEED} · ${runner.harnessRuns} builtin-harness runs in ${seconds.toFixed(1)} s`,
    "",
    "**This is a simulation of the routing policies, not a claim about real models.** Pass rates are formulas of an",
    "invented difficulty; only the plumbing (router, harness, HTTP, token accounting, prices) is real.",
    "",
    "## Setup",
    "",
    `- ${tasks.length} tasks: ${ROUTINES} routines × ${TASKS_PER_ROUTINE}; routine k has difficulty d uniform in [k/8, (k+1)/8) ` +
      `(suite mean d = ${meanD.toFixed(3)}), tasks shuffled. Prompt length (what rules see) = 500 + 3,000 · clamp(d + N(0, 0.15²)) characters.`,
    "- Verification passes with p = 0.95 − 0.9·d on fast and p = 0.99 − 0.25·d on strong, one seeded uniform draw per (task, tier), " +
      "independent between tiers (which favours retrying on strong: a real strong model is likelier to fail where fast failed).",
    "- Each attempt is a real run of the builtin harness (`createBuiltinHarness()`, in process) with model " +
      "`openai-compatible:fast-model` / `strong-model` against the fake model server's Chat Completions endpoint over HTTP. " +
      "Script per task: 1 + round(5·d) `list_files` tool turns, then a final answer; call i (0-based) reports " +
      "3,000 + 2,000·i uncached input tokens and 250 output tokens (400 on the final answer); same script on both tiers. " +
      "The harness's reported usage is checked against the script.",
    "- Cost = those tokens priced with `src/domain/pricing.ts`: fast = claude-haiku-4-5 ($1 / $5 per M in / out), " +
      "strong = claude-opus-4-5 ($5 / $25); below also strong = claude-sonnet-4-5 ($3 / $15).",
    "- Each (task, tier) attempt runs once and every policy that sends that task to that tier gets the same attempt " +
      "(same tokens, same verification draw), so policies differ only in their choices.",
    "- All policies except the always-* ones decide through `routeRun` (src/domain/router.ts): rules, `tier` + `escalate`, " +
      "or history (Beta prior 60 % / 90 % worth 2 runs, nominal cost prior = 20,000 in + 1,500 out tokens, per-routine " +
      'history, explore 0.05 with a seeded random). "Verified" = the task\'s last attempt passed.',
    "",
    `## Results (strong = claude-opus-4-5)`,
    "",
    ...table(results, tasks.length),
    "",
    `Target: cascade / learned at ≤ ${pct(TARGET.costRatio)} of always-strong's cost with ≥ ${pct(TARGET.successRatio)} of its verified tasks.`,
    "",
    ...boundText(tasks, primary),
    "",
    "## Same attempts, strong = claude-sonnet-4-5",
    "",
    ...table(sonnet, tasks.length),
    "",
    "## Policy sweep: the rules' prompt-length threshold (strong = claude-opus-4-5)",
    "",
    "Tuning of the policies only; the simulation is unchanged. Shows what the best threshold could reach.",
    "",
    ...table(sweep, tasks.length),
    "",
    "Command: `npm run bench:routing`.",
    "",
  ];
  const markdown = lines.join("\n");
  process.stdout.write(markdown);
  const out = join(root, "bench", "results", "routing.md");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, markdown);
  process.stderr.write(`wrote ${out}\n`);
}

await main();
