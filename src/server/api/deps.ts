/** What the API routes need from the daemon; tests build it around a test store. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Store } from "../../app/open-store.js";
import type { HarnessRegistry } from "../../harness/harness.js";

export interface ApiDeps {
  store: Store;
  version: string;
  workerId: string;
  activeRuns: () => number;
  now: () => number;
  /** A run was queued: wake the engine so it starts at once. */
  onFired: () => void;
  /** Base URL of the daemon, for links to runs in the dashboard (null before it listens). */
  baseUrl: () => string | null;
  /** The API token; null when `--no-auth` (loopback only). */
  token: string | null;
  /** Base for a relative `repo` (and the default repo) of routines made over the API. */
  cwd: string;
  /** The daemon's environment: what `remind`'s model fallback runs with. */
  env?: NodeJS.ProcessEnv;
  /** The daemon's harnesses, for `remind`'s model fallback; without them only the parser reads. */
  harnesses?: () => Promise<HarnessRegistry>;
  /** How often streams look at the store (tests shorten these). */
  timing?: Partial<StreamTiming>;
}

export interface StreamTiming {
  /** A followed run's new events and status. */
  runPollMs: number;
  /** The global stream's run changes. */
  globalPollMs: number;
  /** SSE comment lines that keep proxies from closing an idle stream. */
  heartbeatMs: number;
}

export const DEFAULT_TIMING: StreamTiming = { runPollMs: 250, globalPollMs: 500, heartbeatMs: 15_000 };

export type Api = OpenAPIHono;

export function runUrl(deps: ApiDeps, runId: number): string | null {
  const base = deps.baseUrl();
  // The dashboard routes with hashes: this link opens the run's page.
  return base ? `${base}/#/runs/${runId}` : null;
}
