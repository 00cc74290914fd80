/**
 * Which model endpoints an agent attempt would call, so the metering gateway can stand in for
 * them: the tier's `baseUrl`, else the provider's base-URL variable in the run's environment,
 * else the provider's public API. A setup the gateway cannot stand in for (no base-URL
 * setting, or one that only applies with an API key the run does not have) is metered from
 * the harness's own report at the end, and says why.
 *
 *   harness   gateway-metered when                                   upstream default
 *   claude    always (ANTHROPIC_BASE_URL; API key or login alike)    https://api.anthropic.com
 *   codex     a tier baseUrl, or OPENAI_API_KEY (its custom provider https://api.openai.com/v1
 *             reads that key; a ChatGPT login has none)
 *   gemini    a tier baseUrl, or GEMINI_API_KEY / GOOGLE_API_KEY     https://generativelanguage.googleapis.com
 *             (not Vertex AI, not a Google login)
 *   opencode  a tier baseUrl with a model, or an OpenAI model with    https://api.openai.com/v1
 *             OPENAI_API_KEY (opencode's other providers have no
 *             base URL loopd can set)
 *   builtin   always (Anthropic, OpenAI, OpenAI-compatible)          per provider
 */

import { parseModel, resolveTarget } from "../harness/builtin/providers.js";
import type { AgentInput } from "../harness/harness.js";

export const ANTHROPIC_API = "https://api.anthropic.com";
export const OPENAI_API = "https://api.openai.com/v1";
export const GEMINI_API = "https://generativelanguage.googleapis.com";

export type MeteringRoute =
  | {
      kind: "gateway";
      /** The upstream base URLs to register. */
      upstreams: string[];
      /** The agent input with every endpoint replaced by the gateway's stand-in. */
      rewrite: (baseUrl: (upstream: string) => string) => AgentInput;
    }
  | { kind: "reported"; reason: string };

export function meteringRoute(
  harness: string,
  agent: AgentInput,
  env: Record<string, string>,
): MeteringRoute {
  const set = (name: string) => nonEmpty(env[name]);
  const single = (upstream: string): MeteringRoute => ({
    kind: "gateway",
    upstreams: [upstream],
    rewrite: (baseUrl) => ({ ...agent, baseUrl: baseUrl(upstream) }),
  });
  switch (harness) {
    case "claude":
      return single(agent.baseUrl ?? set("ANTHROPIC_BASE_URL") ?? ANTHROPIC_API);
    case "codex":
      if (agent.baseUrl) return single(agent.baseUrl);
      if (!set("OPENAI_API_KEY"))
        return {
          kind: "reported",
          reason: "codex without OPENAI_API_KEY (a ChatGPT login) takes no base URL",
        };
      return single(set("OPENAI_BASE_URL") ?? OPENAI_API);
    case "gemini":
      if (agent.baseUrl) return single(agent.baseUrl);
      if (set("GOOGLE_GENAI_USE_VERTEXAI") === "true" || set("GOOGLE_GENAI_USE_GCA") === "true")
        return { kind: "reported", reason: "gemini on Vertex AI or a Google login takes no base URL" };
      if (!set("GEMINI_API_KEY") && !set("GOOGLE_API_KEY"))
        return {
          kind: "reported",
          reason: "gemini without GEMINI_API_KEY (a Google login) takes no base URL",
        };
      return single(set("GOOGLE_GEMINI_BASE_URL") ?? GEMINI_API);
    case "opencode":
      if (agent.baseUrl && agent.model) return single(agent.baseUrl);
      if (
        agent.model &&
        !agent.model.includes("/") &&
        parseModel(agent.model).provider === "openai" &&
        set("OPENAI_API_KEY")
      )
        return single(set("OPENAI_BASE_URL") ?? OPENAI_API);
      return { kind: "reported", reason: "opencode's own providers take no base URL loopd can set" };
    case "builtin":
      return builtinRoute(agent, env);
    default:
      return { kind: "reported", reason: `${harness} has no base-URL setting` };
  }
}

/** The builtin agent: the main model's endpoint and each sub-agent's. */
function builtinRoute(agent: AgentInput, env: Record<string, string>): MeteringRoute {
  const upstreamOf = (model: string | null, baseUrl: string | null): string | null => {
    const resolved = resolveTarget(model, baseUrl, env);
    if (!resolved.ok) return null; // the harness fails the run itself, with its own words
    const { target } = resolved;
    if (target.baseUrl) return target.baseUrl;
    return target.provider === "anthropic" ? ANTHROPIC_API : target.provider === "openai" ? OPENAI_API : null;
  };
  const main = upstreamOf(agent.model, agent.baseUrl);
  if (main === null) return { kind: "reported", reason: "the builtin agent's model has no endpoint" };
  const subs = agent.subAgents.map((sub) => upstreamOf(sub.model || agent.model, sub.baseUrl));
  const upstreams = [...new Set([main, ...subs.filter((url): url is string => url !== null)])];
  return {
    kind: "gateway",
    upstreams,
    rewrite: (baseUrl) => ({
      ...agent,
      baseUrl: baseUrl(main),
      subAgents: agent.subAgents.map((sub, index) => {
        const upstream = subs[index];
        return upstream ? { ...sub, baseUrl: baseUrl(upstream) } : sub;
      }),
    }),
  };
}

function nonEmpty(value: string | undefined): string | null {
  return value?.trim() ? value.trim() : null;
}
