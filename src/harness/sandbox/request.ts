/**
 * What the engine asks of a run's sandbox (`SandboxRequest`): the effective setting
 * (domain/sandbox.ts), the bubblewrap binary, and what the run may reach — the loopback
 * endpoints its model traffic goes to (the tier's base URL, a `*_BASE_URL` in its environment;
 * the metering gateway's port once that sits in between) and the hosts it may reach through
 * the proxy (the provider's public API when no base URL is set, the routine's
 * `sandbox.network`). sandbox.ts adds the git remotes of the worktree itself.
 */
import type { RoutineSpec } from "../../domain/routine-spec.js";
import { bwrapSetting, effectiveSandbox, type SandboxSetting } from "../../domain/sandbox.js";
import type { ConfigSettings } from "../../domain/settings.js";
import type { LoopbackEndpoint } from "./network.js";

export interface SandboxRequest {
  setting: SandboxSetting;
  /** The bubblewrap binary: LOOPD_BWRAP, else `sandbox.bwrap`, else `bwrap` on PATH. */
  bwrap: string;
  /** Loopback endpoints this run may reach (forwarded into its network namespace). */
  loopback: LoopbackEndpoint[];
  /** Hosts it may reach through the filtering proxy (besides `setting.network`). */
  hosts: string[];
  /** The routine talks to GitHub (`deliver: pr`, a built-in loop): `~/.config/gh` is readable. */
  github: boolean;
}

/** The providers' public APIs, reachable when a harness runs with no base URL of its own. */
const PUBLIC_APIS: Record<string, string[]> = {
  claude: ["api.anthropic.com"],
  codex: ["api.openai.com", "chatgpt.com", "auth.openai.com"],
  gemini: ["generativelanguage.googleapis.com", "cloudcode-pa.googleapis.com", "oauth2.googleapis.com"],
  opencode: ["api.anthropic.com", "api.openai.com", "generativelanguage.googleapis.com", "models.dev"],
};

const BASE_URL_KEY = /(_BASE_URL|_API_BASE|_ENDPOINT)$/;

export function sandboxRequest(input: {
  spec: RoutineSpec;
  settings: ConfigSettings;
  harness: string;
  /** The attempt's model endpoint (tier `baseUrl`), if any. */
  baseUrl: string | null;
  /** The run's environment (its `*_BASE_URL` values are endpoints too). */
  env: Record<string, string>;
  /** The daemon's environment (LOOPD_BWRAP). */
  baseEnv: NodeJS.ProcessEnv;
}): SandboxRequest | null {
  const setting = effectiveSandbox(input.spec.sandbox, input.settings.sandbox, input.harness);
  if (setting.mode === "off") return null;
  const urls = [
    input.baseUrl,
    ...Object.entries(input.env)
      .filter(([key]) => BASE_URL_KEY.test(key))
      .map(([, v]) => v),
  ];
  const loopback: LoopbackEndpoint[] = [];
  const hosts: string[] = [];
  for (const text of urls) {
    const url = parseUrl(text);
    if (!url) continue;
    const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
    if (isLoopback(url.hostname)) loopback.push({ host: url.hostname.replace(/^\[|\]$/g, ""), port });
    else hosts.push(url.hostname);
  }
  if (urls.every((url) => !parseUrl(url))) hosts.push(...(PUBLIC_APIS[input.harness] ?? []));
  return {
    setting,
    bwrap: input.baseEnv.LOOPD_BWRAP || bwrapSetting(input.settings.sandbox) || "bwrap",
    loopback,
    hosts,
    github: input.spec.deliver === "pr" || input.spec.loop !== undefined,
  };
}

export function isLoopback(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, "").toLowerCase();
  return name === "localhost" || name === "::1" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

function parseUrl(text: string | null | undefined): URL | null {
  if (!text) return null;
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}
