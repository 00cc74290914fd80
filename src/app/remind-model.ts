/**
 * The model fallback of `loopd remind`: a sentence the parser could not read goes to the
 * cheapest declared tier, which must answer a plan as JSON. The answer is validated by the
 * same schema as the parser's plans; anything else is "not understood", never a guess. The
 * call is a one-off agent task in an empty folder, and its cost lands in the ledger.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { configSchema, type ModelTier } from "../domain/config-schema.js";
import { type ParseResult, remindPlanSchema } from "../domain/remind-plan.js";
import { tierOrder } from "../domain/router.js";
import { toRoutineSpec } from "../domain/routine-spec.js";
import type { ConfigSettings } from "../domain/settings.js";
import { agentEnvironment } from "../harness/agent-env.js";
import type { HarnessRegistry } from "../harness/harness.js";
import { parseJsonAnswer } from "../lib/json-answer.js";
import { recordLedger } from "../store/ledger.js";
import type { Store } from "../store/store.js";

/** A plan is a small JSON object: a few turns and a few cents are plenty. */
const MAX_TURNS = 3;
const MAX_USD = 0.1;
const TIMEOUT_MS = 120_000;

export interface ModelPlanRequest {
  sentence: string;
  now: number;
  timeZone: string;
  /** Why the parser gave up, so the model knows what was missing. */
  parserReason: string;
  settings: ConfigSettings;
  harnesses: HarnessRegistry;
  env: NodeJS.ProcessEnv;
  store: Store;
}

/** `unavailable`: no model could be asked at all (its CLI is missing), as opposed to a model's "no". */
export type ModelPlanResult = ParseResult & { tier: string; costUsd: number; unavailable?: true };

/** Null when no model tier is declared (the parser's answer stands). */
export async function planWithModel(request: ModelPlanRequest): Promise<ModelPlanResult | null> {
  const models = (request.settings.models ?? {}) as Record<string, ModelTier>;
  const tier = tierOrder(models)[0];
  if (tier === undefined) return null;
  const { harness: harnessName, model, baseUrl } = models[tier]!;
  const harness = request.harnesses.get(harnessName);
  if (!harness)
    return {
      ok: false,
      reason: `tier "${tier}" uses harness ${harnessName}, which is not available`,
      tier,
      costUsd: 0,
      unavailable: true,
    };

  const cwd = await mkdtemp(join(tmpdir(), "loopd-remind-"));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort("timeout"), TIMEOUT_MS);
  try {
    const spec = toRoutineSpec(
      configSchema.parse({
        routines: [{ name: "remind", prompt: request.sentence, harness: harnessName, model }],
      }).routines[0]!,
      0,
      { configDir: cwd, defaultTimeZone: request.timeZone, config: {} },
    );
    const environment = agentEnvironment({
      base: request.env,
      harnessKeys: harness.envKeys ?? [],
      secretNames: [],
      env: {},
      context: { LOOPD_ROUTINE: "remind" },
    });
    const result = await harness.run(
      {
        runId: 0,
        routine: "remind",
        spec,
        attempt: 1,
        dueAt: request.now,
        cwd,
        env: environment.env,
        input: null,
        signal: controller.signal,
        agent: {
          prompt: planPrompt(request),
          systemPrompt: "You convert reminder requests into JSON plans. Answer with JSON only; use no tools.",
          model,
          baseUrl: baseUrl ?? null,
          maxTurns: MAX_TURNS,
          maxBudgetUsd: MAX_USD,
          mcpConfig: null,
          subAgents: [],
        },
      },
      () => {},
    );
    const costUsd = result.costUsd ?? 0;
    // As for routine runs (settleAttempt): a harness that reports totals only still leaves a row.
    const spent =
      result.modelUsage && result.modelUsage.length > 0
        ? result.modelUsage
        : result.usage
          ? [{ model: model ?? "unknown", usage: result.usage, costUsd }]
          : [];
    await recordLedger(
      request.store.db,
      spent.map((usage) => ({
        at: request.now,
        routineId: null,
        routineName: "(remind)",
        runId: null,
        attempt: null,
        harness: harnessName,
        model: usage.model,
        tier,
        usage: usage.usage,
        costUsd: usage.costUsd,
        // Claude Code reports dollars itself; the others are priced from the pricing table.
        costSource: harnessName === "claude" ? ("reported" as const) : ("priced" as const),
      })),
    ).catch(() => {}); // the ledger is bookkeeping: a plan the user is waiting for matters more
    if (result.outcome !== "succeeded") {
      const code = result.error?.code;
      // A missing CLI is "no model here", said plainly: the spawn error (with the whole
      // command line) helps nobody reading a one-line refusal.
      if (code === "LOOPD_HARNESS_NOT_INSTALLED" || code === "LOOPD_HARNESS_SPAWN_FAILED")
        return {
          ok: false,
          reason: `tier "${tier}" uses ${harnessName}, which is not installed here`,
          tier,
          costUsd,
          unavailable: true,
        };
      return {
        ok: false,
        reason: `tier "${tier}" failed: ${oneLine(result.error?.message ?? "no answer")}`,
        tier,
        costUsd,
      };
    }
    return { ...readPlan(result.finalMessage ?? result.summary ?? ""), tier, costUsd };
  } finally {
    clearTimeout(timer);
    await rm(cwd, { recursive: true, force: true });
  }
}

/** The first line of a message, shortened: a refusal is read in a terminal, not a log. */
export function oneLine(message: string, max = 160): string {
  const first =
    message
      .split("\n")
      .find((line) => line.trim() !== "")
      ?.trim() ?? "";
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

const refusalSchema = z.strictObject({ error: z.string().min(1) });

/** The model's answer: a plan object, or `{ "error": "…" }` when the sentence is not a reminder. */
export function readPlan(answer: string): ParseResult {
  const json = parseJsonAnswer(answer);
  if (!json.ok) return { ok: false, reason: "the model's answer was not JSON" };
  const parsed = json.value;
  const refusal = refusalSchema.safeParse(parsed);
  if (refusal.success) return { ok: false, reason: refusal.data.error };
  const plan = remindPlanSchema.safeParse(parsed);
  if (!plan.success) {
    const issue = plan.error.issues[0];
    return {
      ok: false,
      reason: `the model's plan is invalid at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    };
  }
  return { ok: true, plan: plan.data };
}

function planPrompt(request: ModelPlanRequest): string {
  const schema = JSON.stringify(z.toJSONSchema(remindPlanSchema, { io: "input", unrepresentable: "any" }));
  const dates = Object.entries(request.settings.dates ?? {})
    .map(([name, value]) => `${name} = ${value}`)
    .join(", ");
  return [
    "Turn this reminder request into a watch plan.",
    `Request: ${JSON.stringify(request.sentence)}`,
    `Now: ${new Date(request.now).toISOString()} (the user's time zone is ${request.timeZone}; write instants as ISO 8601 with the offset of that zone).`,
    `Named dates: ${dates || "none"}. A date without a time means 09:00 in the user's zone.`,
    `A rule-based parser could not read it: ${request.parserReason}.`,
    "",
    'Modes: at (evaluate once), by (evaluate every `every` until the deadline; default every 2h, 5m for CI status), after-retry (a test re-run now), until-satisfied ("tell me when …").',
    'notifyOn is "unsatisfied" for "ping me if it is NOT …" and "satisfied" for "tell me when it IS …".',
    "Checks: github {issue|pr|discussion|ref, state|checks: green}, http {url, status, contains}, testRetry {command, retries}, command, agent {question, subject}.",
    "Pull request states: merged, closed, open, approved, changes-requested, mergeable, conflicting, behind / up-to-date (optional base branch), new-comments (with since = now).",
    "Set timeZone to the IANA zone the request names, else the user's zone.",
    "Use an `agent` check only when no other check can decide the condition.",
    "",
    `Answer with one JSON object matching this JSON Schema, and nothing else:\n${schema}`,
    'If the request is not something to watch or cannot be decided, answer {"error": "<why, in one sentence>"}.',
  ].join("\n");
}
