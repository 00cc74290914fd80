/**
 * The config-wide sections of loopd.yaml (`models`, `budgets`, `channels`, `dates`, …) as
 * `loopd apply` stores them: what the engine, the harnesses and the use-cases read.
 */
import type { CodexSandbox } from "./config-sections.js";
import type { MeteringMode } from "./metering.js";
import type { SandboxSettings } from "./sandbox.js";

export interface ConfigSettings {
  dates?: Record<string, string>;
  models?: Record<string, unknown>;
  budgets?: {
    daily?: number;
    monthly?: number;
    perRun?: number;
    tokensPerMinute?: number;
    usdPerMinute?: number;
  };
  /** How agent spend is counted (domain/metering.ts); a routine's `metering` overrides it. */
  metering?: MeteringMode;
  channels?: Record<string, unknown>;
  limits?: { concurrency?: number; perRepo?: number };
  workspaces?: { pool?: number; keep?: "failed" | "always" | "never"; pruneAfter?: string };
  context?: { maxBytes?: number; memoryMaxBytes?: number };
  auth?: { pauseAfter?: number };
  failures?: { pauseAfter?: number };
  /** Retention of finished runs (store/sql/prune-runs.ts, engine/run-retention.ts). */
  runs?: { keepFor?: string; keepPerRoutine?: number };
  harnesses?: Partial<Record<string, { command?: string; args?: string[]; sandbox?: CodexSandbox }>>;
  pricing?: Record<string, { input: number; cachedInput: number; output: number }>;
  github?: { webhookSecretEnv?: string; apiUrl?: string };
  /** How loopd commits and pushes a run's work (`deliver`). */
  git?: { author?: string; noVerify?: boolean };
  /** Every routine's default `sandbox`, and the bubblewrap binary (domain/sandbox.ts). */
  sandbox?: SandboxSettings;
  routing?: {
    rules?: Array<{ name: string; when: Record<string, unknown>; tier: string }>;
    explore?: number;
  };
}
