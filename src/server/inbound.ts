/**
 * Inbound HTTP: `POST /hooks/r/<routine>` (signed or bearer, see app/inbound.ts) and
 * `POST /hooks/github` (X-Hub-Signature-256, see app/github-hook.ts). They carry their own
 * auth, not the API token; firing a routine by hand is the API's `POST /api/v1/routines/
 * <name>/run` (alias `/fire`, server/api/routines.ts). Bodies are capped at 1 MiB; errors
 * are `{ error: { code, message, hint } }` with the matching status.
 */
import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { receiveGithubHook } from "../app/github-hook.js";
import { receiveHook } from "../app/inbound.js";
import type { Store } from "../app/open-store.js";
import { LoopdError, toLoopdError } from "../domain/errors.js";

const MAX_BODY_BYTES = 1024 * 1024;

export interface InboundDeps {
  store: Store;
  env: NodeJS.ProcessEnv;
  now: () => number;
  /** A run was queued: wake the engine. */
  onFired: () => void;
  /** Base URL of the daemon, for links to runs. */
  baseUrl: () => string | null;
}

const STATUS: Record<string, 400 | 401 | 403 | 404 | 409 | 413> = {
  LOOPD_NOT_FOUND: 404,
  LOOPD_HOOK_UNAUTHORIZED: 401,
  LOOPD_HOOK_REPLAYED: 409,
  LOOPD_HOOK_TOO_LARGE: 413,
  LOOPD_HOOK_INVALID: 400,
  LOOPD_USAGE: 400,
};

export function mountInbound(app: Hono, deps: InboundDeps): void {
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => problem(c, new LoopdError("LOOPD_HOOK_TOO_LARGE", `body over ${MAX_BODY_BYTES} bytes`)),
  });

  app.post("/hooks/r/:routine", limit, async (c) => {
    try {
      const fired = await receiveHook(deps.store, {
        routine: c.req.param("routine"),
        headers: headersOf(c),
        body: await c.req.text(),
        now: deps.now(),
        env: deps.env,
      });
      deps.onFired();
      return c.json({ ...fired, url: runUrl(deps, fired.runId) }, 202);
    } catch (error) {
      return problem(c, toLoopdError(error));
    }
  });

  app.post("/hooks/github", limit, async (c) => {
    try {
      const result = await receiveGithubHook(deps.store, {
        headers: headersOf(c),
        body: await c.req.text(),
        now: deps.now(),
        env: deps.env,
      });
      if (result.fired.length > 0) deps.onFired();
      return c.json(result, 202);
    } catch (error) {
      return problem(c, toLoopdError(error));
    }
  });
}

function headersOf(c: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  c.req.raw.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return headers;
}

function runUrl(deps: InboundDeps, runId: number): string | null {
  const base = deps.baseUrl();
  return base ? `${base}/runs/${runId}` : null;
}

function problem(c: Context, error: LoopdError): Response {
  const status = STATUS[error.code] ?? 500;
  return c.json({ error: { code: error.code, message: error.message, hint: error.hint } }, status);
}
