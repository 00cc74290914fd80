/**
 * A built-in loop's own short model call (feedback-triage's theme titles): one request to the
 * cheapest declared tier (`models`, cheap → strong in the order declared) through the AI
 * SDK, with the tier's model, its `baseUrl` or the provider's base URL variable, and the
 * daemon's API key — never an agent, no tools, a few hundred tokens. Its tokens and price go
 * to the ledger as one row on the run (`cost_source: priced`). No tier, or a tier whose
 * provider has no key: no model (the loop falls back to what it has offline).
 */
import { generateText } from "ai";
import type { ModelTier } from "../domain/config-schema.js";
import { costOf, DEFAULT_PRICING } from "../domain/pricing.js";
import { tierOrder } from "../domain/router.js";
import type { ConfigSettings } from "../domain/settings.js";
import { createModel, resolveTarget } from "../harness/builtin/providers.js";
import { toTokenUsage } from "../harness/builtin/usage.js";
import type { LoopModel } from "../loops/index.js";
import { recordLedger } from "../store/ledger.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";

const TIMEOUT_MS = 60_000;

export function cheapLoopModel(options: {
  store: Store;
  run: ClaimedRun;
  settings: ConfigSettings;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  now: () => number;
}): LoopModel | null {
  const models = (options.settings.models ?? {}) as Record<string, ModelTier>;
  const tier = tierOrder(models)[0];
  if (tier === undefined) return null;
  const { harness, model, baseUrl } = models[tier]!;
  const env = Object.fromEntries(
    Object.entries(options.env).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
  const resolved = resolveTarget(model, baseUrl ?? null, env);
  if (!resolved.ok) return null;
  const target = resolved.target;
  const pricing = { ...DEFAULT_PRICING, ...options.settings.pricing };
  return {
    tier,
    model: target.modelId,
    async ask(prompt, { maxOutputTokens = 600 } = {}) {
      const result = await generateText({
        model: createModel(target),
        prompt,
        maxOutputTokens,
        maxRetries: 0,
        abortSignal: AbortSignal.any([options.signal, AbortSignal.timeout(TIMEOUT_MS)]),
      });
      const usage = toTokenUsage(result.usage);
      await recordLedger(options.store.db, [
        {
          at: options.now(),
          routineId: options.run.routineId,
          routineName: options.run.routineName,
          runId: options.run.id,
          attempt: options.run.attempt,
          harness,
          model: target.modelId,
          tier,
          usage,
          costUsd: costOf(target.modelId, usage, pricing),
          costSource: "priced",
        },
      ]);
      return result.text;
    },
  };
}
