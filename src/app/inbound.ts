/**
 * Inbound hooks: `POST /hooks/r/<routine>` fires a routine for an external system. A delivery
 * must be signed per Standard Webhooks with the routine's `hook.secret` (the library checks
 * the signature and a ±5 min timestamp tolerance) or carry the bearer token from
 * `hook.tokenEnv` (compared in constant time); its id is recorded so a replay is refused.
 * An unknown routine and one without a `hook` get the same answer, so the endpoint, which
 * anyone may call, does not tell which routine names exist.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { LoopdError } from "../domain/errors.js";
import { findRoutineByName } from "../store/routines.js";
import type { Store } from "../store/store.js";
import { fireRoutine } from "./run-now.js";

/** Text handed to the run: a `text` field of a JSON body, else the body itself, capped. */
const MAX_INPUT_CHARS = 8_000;

export interface InboundRequest {
  routine: string;
  headers: Record<string, string>;
  body: string;
  now: number;
  env: NodeJS.ProcessEnv;
}

export async function receiveHook(
  store: Store,
  request: InboundRequest,
): Promise<{ runId: number; routine: string }> {
  const routine = await findRoutineByName(store.db, request.routine);
  const hook = routine?.spec.hook;
  if (!routine || !hook) {
    throw new LoopdError("LOOPD_NOT_FOUND", `no hook at /hooks/r/${request.routine}`, {
      hint: "A routine takes hooks once it has `hook: { secret: whsec_… }` (or `tokenEnv`) in loopd.yaml; check the name.",
    });
  }
  const id = await authenticate(hook, request);
  return store.writeTransaction(async (db) => {
    const source = `routine:${routine.name}`;
    const seen = await db
      .selectFrom("inbound_deliveries")
      .select("run_id")
      .where("source", "=", source)
      .where("id", "=", id)
      .executeTakeFirst();
    if (seen) {
      throw new LoopdError("LOOPD_HOOK_REPLAYED", `delivery ${id} was already received (run ${seen.run_id})`);
    }
    const { runId } = await fireRoutine({ ...store, db }, routine.name, {
      input: inputOf(request.body),
      now: request.now,
    });
    await db
      .insertInto("inbound_deliveries")
      .values({ source, id, received_at: request.now, run_id: runId })
      .execute();
    return { runId, routine: routine.name };
  });
}

/** Verifies the delivery; returns its id (the Standard Webhooks id, or a hash of the body). */
async function authenticate(
  hook: { secret?: string; tokenEnv?: string },
  request: InboundRequest,
): Promise<string> {
  const headers = request.headers;
  if (hook.secret && headers["webhook-signature"]) {
    const { Webhook } = await import("standardwebhooks");
    try {
      new Webhook(hook.secret).verify(request.body, headers);
    } catch (error) {
      throw unauthorized(`signature rejected: ${error instanceof Error ? error.message : String(error)}`);
    }
    return headers["webhook-id"] ?? digest(request.body);
  }
  const token = hook.tokenEnv ? request.env[hook.tokenEnv] : undefined;
  const given = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "")?.[1];
  if (token && given && sameSecret(given, token)) {
    // Bearer deliveries may carry an id; otherwise the same body within a tolerance is a replay.
    return (
      headers["webhook-id"] ??
      headers["x-request-id"] ??
      `${digest(request.body)}:${Math.floor(request.now / 300_000)}`
    );
  }
  throw unauthorized(
    hook.secret ? "missing or invalid webhook-signature" : "missing or invalid bearer token",
  );
}

function unauthorized(message: string): LoopdError {
  return new LoopdError("LOOPD_HOOK_UNAUTHORIZED", message);
}

/** Constant-time comparison of equal-length digests, so the token's length leaks nothing either. */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(
    createHash("sha256").update(given).digest(),
    createHash("sha256").update(expected).digest(),
  );
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

function inputOf(body: string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === "object" && typeof (parsed as { text?: unknown }).text === "string") {
      text = (parsed as { text: string }).text;
    }
  } catch {
    // not JSON: the raw body is the input
  }
  return text.length > MAX_INPUT_CHARS ? `${text.slice(0, MAX_INPUT_CHARS)}…` : text;
}
