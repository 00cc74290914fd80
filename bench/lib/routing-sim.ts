/**
 * The routing benchmark's simulated world: a seeded suite of tasks of graded difficulty, and an
 * executor that runs one task on one tier through the builtin harness against the fake model
 * server (real HTTP, real AI SDK, real token accounting), then draws the verification outcome
 * from the tier's pass probability. Policies live in bench/routing.ts; this file is the part
 * they must not be tuned against.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { costOf, DEFAULT_PRICING, type PricingTable } from "../../src/domain/pricing.js";
import type { TokenUsage } from "../../src/domain/run-report.js";
import { createBuiltinHarness } from "../../src/harness/builtin/agent.js";
import { mulberry32 } from "../../test/helpers/prng.js";
import { shellSpec } from "../../test/helpers/specs.js";
import type { ScriptedReply } from "../../test/support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "../../test/support/fake-model/server.js";

export const SEED = 20_261_129;
export const ROUTINES = 8;
export const TASKS_PER_ROUTINE = 30;
export type Tier = "fast" | "strong";
export const TIERS: readonly Tier[] = ["fast", "strong"];

/** Chance that a tier's attempt passes verification, by task difficulty d ∈ [0, 1]. */
export const PASS = {
  fast: (d: number) => 0.95 - 0.9 * d,
  strong: (d: number) => 0.99 - 0.25 * d,
} satisfies Record<Tier, (d: number) => number>;

/** The fake server's model ids per tier and the list prices they are billed at. */
export const MODEL_ID: Record<Tier, string> = { fast: "fast-model", strong: "strong-model" };
export function pricingFor(strongPrices: string): PricingTable {
  const price = (id: string) => {
    const entry = DEFAULT_PRICING[id];
    if (!entry) throw new Error(`no price for ${id}`);
    return entry;
  };
  return { [MODEL_ID.fast]: price("claude-haiku-4-5"), [MODEL_ID.strong]: price(strongPrices) };
}

export interface Task {
  id: number;
  /** Which routine (0 … ROUTINES − 1) the task belongs to; its difficulty band. */
  routine: number;
  difficulty: number;
  /** A noisy difficulty proxy visible to rules: the prompt's length. */
  promptChars: number;
  /** Agent turns that call a tool before the final answer. */
  toolTurns: number;
  /** Uniform draws deciding verification per tier (pass when draw < PASS[tier](d)). */
  draw: Record<Tier, number>;
}

/**
 * Routine k's tasks have d uniform in [k/8, (k+1)/8), so the suite covers [0, 1] evenly and
 * every routine has a consistent difficulty (what history can learn). Tasks arrive shuffled.
 * The prompt length follows d with Gaussian noise (σ = 0.15 in difficulty units).
 */
export function makeTasks(seed: number): Task[] {
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const tasks: Task[] = [];
  for (let routine = 0; routine < ROUTINES; routine++) {
    for (let i = 0; i < TASKS_PER_ROUTINE; i++) {
      const difficulty = (routine + random()) / ROUTINES;
      const seen = Math.min(1, Math.max(0, difficulty + 0.15 * gaussian()));
      tasks.push({
        id: tasks.length,
        routine,
        difficulty,
        promptChars: Math.round(500 + 3_000 * seen),
        toolTurns: 1 + Math.round(5 * difficulty),
        draw: { fast: random(), strong: random() },
      });
    }
  }
  for (let i = tasks.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [tasks[i], tasks[j]] = [tasks[j] as Task, tasks[i] as Task];
  }
  return tasks;
}

/**
 * Scripted usage per model call: the context grows by 2,000 tokens a turn from a 3,000-token
 * start (uncached), and each reply is 250 output tokens (400 for the final answer). Both tiers
 * get the same script; only the price and the pass chance differ.
 */
export function script(task: Task): ScriptedReply[] {
  const replies: ScriptedReply[] = [];
  for (let turn = 0; turn < task.toolTurns; turn++) {
    replies.push({
      toolCalls: [{ name: "list_files", input: { path: "." } }],
      usage: { input: 3_000 + 2_000 * turn, output: 250 },
    });
  }
  replies.push({ text: "done", usage: { input: 3_000 + 2_000 * task.toolTurns, output: 400 } });
  return replies;
}

export interface Attempt {
  verified: boolean;
  usage: TokenUsage;
  /** Model calls the harness made. */
  calls: number;
}

/**
 * Runs (task, tier) pairs through the builtin harness, once each: every policy that sends a
 * task to a tier gets that same measured attempt, so policies differ only in their choices.
 */
export class AttemptRunner {
  private readonly cache = new Map<string, Attempt>();
  harnessRuns = 0;

  private constructor(
    private readonly server: FakeModelServer,
    private readonly cwd: string,
  ) {}

  static async start(): Promise<AttemptRunner> {
    const server = await startFakeModelServer({ script: [] });
    return new AttemptRunner(server, await mkdtemp(join(tmpdir(), "loopd-bench-routing-")));
  }

  async attempt(task: Task, tier: Tier): Promise<Attempt> {
    const key = `${task.id}:${tier}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    this.server.setScript(script(task));
    const before = this.server.requests.length;
    const result = await createBuiltinHarness().run(this.input(task, tier), () => {});
    if (result.outcome !== "succeeded" || !result.usage) {
      throw new Error(`task ${task.id} on ${tier}: ${result.error?.message ?? "no usage reported"}`);
    }
    // The harness's own accounting must agree with the script, or the costs below are fiction.
    const scripted = script(task).reduce(
      (sum, reply) => ({ in: sum.in + (reply.usage?.input ?? 0), out: sum.out + (reply.usage?.output ?? 0) }),
      { in: 0, out: 0 },
    );
    if (result.usage.tokensIn !== scripted.in || result.usage.tokensOut !== scripted.out) {
      throw new Error(
        `task ${task.id} on ${tier}: harness reported ${JSON.stringify(result.usage)}, scripted ${JSON.stringify(scripted)}`,
      );
    }
    const attempt = {
      verified: task.draw[tier] < PASS[tier](task.difficulty),
      usage: result.usage,
      calls: this.server.requests.length - before,
    };
    this.harnessRuns++;
    this.cache.set(key, attempt);
    return attempt;
  }

  private input(task: Task, tier: Tier) {
    const spec = shellSpec(`routine-${task.routine}`, {
      harness: "builtin",
      workspace: "worktree",
      task: { kind: "prompt", prompt: "simulated" },
    });
    return {
      runId: task.id,
      routine: spec.name,
      spec,
      attempt: 1,
      dueAt: 0,
      cwd: this.cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      input: null,
      agent: {
        prompt: "x".repeat(task.promptChars),
        systemPrompt: "",
        model: `openai-compatible:${MODEL_ID[tier]}`,
        baseUrl: `${this.server.url}/v1`,
        maxTurns: 30,
        maxBudgetUsd: null,
        mcpConfig: null,
        subAgents: [],
      },
      signal: new AbortController().signal,
    };
  }

  async close(): Promise<void> {
    await this.server.close();
    await rm(this.cwd, { recursive: true, force: true });
  }
}

/**
 * The reference a policy cannot beat here: one that knows each task's d exactly and picks per
 * task strong, fast, or fast → strong. Computed in expectation (pass chances, scripted tokens),
 * not from draws: the least cost share of always-strong that keeps ≥ `successRatio` of its
 * expected verified tasks (Lagrangian sweep over the value of one verified task).
 */
export function knowsDifficultyBound(tasks: Task[], pricing: PricingTable, successRatio: number) {
  const cost = (task: Task, tier: Tier) => {
    const tokens = script(task).reduce(
      (sum, reply) => {
        const usage = reply.usage ?? {};
        return { in: sum.in + (usage.input ?? 0), out: sum.out + (usage.output ?? 0) };
      },
      { in: 0, out: 0 },
    );
    return costOf(
      MODEL_ID[tier],
      { tokensIn: tokens.in, tokensOut: tokens.out, tokensCached: 0, tokensReasoning: 0 },
      pricing,
    );
  };
  const options = tasks.map((task) => {
    const [pf, ps] = [PASS.fast(task.difficulty), PASS.strong(task.difficulty)];
    const [cf, cs] = [cost(task, "fast"), cost(task, "strong")];
    return [
      { success: ps, cost: cs },
      { success: pf, cost: cf },
      { success: pf + (1 - pf) * ps, cost: cf + (1 - pf) * cs },
    ];
  });
  const strong = options.reduce(
    (sum, [s]) => ({ success: sum.success + (s?.success ?? 0), cost: sum.cost + (s?.cost ?? 0) }),
    { success: 0, cost: 0 },
  );
  let best: { costShare: number; successShare: number } | null = null;
  for (
    let value = 0;
    value <= 20 * (strong.cost / tasks.length);
    value += strong.cost / tasks.length / 1_000
  ) {
    let success = 0;
    let spent = 0;
    for (const choices of options) {
      const pick = choices.reduce((a, b) =>
        b.cost - value * b.success < a.cost - value * a.success ? b : a,
      );
      success += pick.success;
      spent += pick.cost;
    }
    if (success >= successRatio * strong.success && (best === null || spent / strong.cost < best.costShare)) {
      best = { costShare: spent / strong.cost, successShare: success / strong.success };
    }
  }
  return best;
}
