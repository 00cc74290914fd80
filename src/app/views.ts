/**
 * Routines and runs in their stable JSON shapes (declared in view-schemas.ts), shared by
 * `--json` output, the HTTP API, MCP and the dashboard. Times are ISO-8601 UTC strings;
 * absent values are null, never missing. A routine's
 * spec leaves through `publicSpec`: its hook secret as a fingerprint, secret-named `env`
 * values redacted.
 */
import { createHash } from "node:crypto";
import type { z } from "zod";
import { describeCheck } from "../domain/check.js";
import { ERROR_CODES } from "../domain/error-codes.js";
import { fillHint, isErrorCode, runErrorHint } from "../domain/error-hint.js";
import { misfireOf } from "../domain/misfire.js";
import type { RoutineSpec } from "../domain/routine-spec.js";
import { systemTimeZone } from "../domain/time-zone.js";
import { describeTrigger } from "../domain/trigger.js";
import { isSecretName } from "../harness/agent-env.js";
import type { Routine } from "../store/routines.js";
import type { Run } from "../store/runs.js";
import type { RoutineViewSchema, RunViewSchema } from "./view-schemas.js";

/** A routine as every face shows it (app/view-schemas.ts declares the shape). */
export type RoutineView = z.infer<typeof RoutineViewSchema>;

/** `now` decides whether the routine is misfiring (domain/misfire.ts). */
export function routineView(routine: Routine, now: number = Date.now()): RoutineView {
  const pausedCode = routine.state === "paused" ? routine.pausedCode : null;
  const misfire = misfireOf(
    { state: routine.state, nextDueAt: routine.nextDueAt, trigger: routine.spec.trigger },
    now,
  );
  return {
    name: routine.name,
    description: routine.spec.description ?? null,
    state: routine.state,
    pausedReason: routine.pausedReason,
    pausedCode,
    pauseHint:
      pausedCode !== null && isErrorCode(pausedCode)
        ? fillHint(ERROR_CODES[pausedCode].hint, { routine: routine.name })
        : null,
    misfire: misfire && {
      dueAt: iso(misfire.dueAt)!,
      lateByMs: misfire.lateByMs,
      hint: ERROR_CODES.LOOPD_ROUTINE_MISFIRE.hint,
    },
    // In this machine's zone (the CLI's viewer); the dashboard re-describes triggerSpec in the browser's.
    trigger: describeTrigger(routine.spec.trigger, { viewerTimeZone: systemTimeZone() }),
    triggerSpec: routine.spec.trigger,
    nextDueAt: iso(routine.state === "active" ? routine.nextDueAt : null),
    harness: routine.spec.harness,
    tier: routine.spec.tier ?? null,
    check: routine.spec.check ? describeCheck(routine.spec.check) : null,
    lastVerdict: routine.lastVerdict,
    labels: routine.spec.labels,
    health: {
      lastRunAt: iso(routine.lastRunAt),
      lastOutcome: routine.lastOutcome,
      lastError:
        routine.lastErrorMessage === null
          ? null
          : { code: routine.lastErrorCode, message: routine.lastErrorMessage },
      consecutiveFailures: routine.consecutiveFailures,
      lastSuccessAt: iso(routine.lastSuccessAt),
      lastUnverified: routine.lastUnverified,
    },
    source: routine.source,
    createdAt: iso(routine.createdAt)!,
    updatedAt: iso(routine.updatedAt)!,
  };
}

/** A run as every face shows it (app/view-schemas.ts declares the shape). */
export type RunView = z.infer<typeof RunViewSchema>;

export function runView(run: Run): RunView {
  return {
    id: run.id,
    routine: run.routineName,
    dueAt: iso(run.dueAt)!,
    trigger: run.trigger,
    status: run.status,
    reason: run.reason,
    attempt: run.attempt,
    maxAttempts: run.maxAttempts,
    workerId: run.workerId,
    queuedAt: iso(run.queuedAt)!,
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    durationMs: run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null,
    exitCode: run.exitCode,
    summary: run.summary,
    error:
      run.errorMessage === null
        ? null
        : {
            code: run.errorCode,
            message: run.errorMessage,
            hint:
              run.errorHint ??
              runErrorHint({ code: run.errorCode }, { runId: run.id, routine: run.routineName }),
          },
    usage: run.usage,
    costUsd: run.costUsd,
    turns: run.turns,
    sessionId: run.sessionId,
    branch: run.branch,
    workspace: run.workspace,
    headCommit: run.headCommit,
    tier: run.tier,
    routeReason: run.routeReason,
    verdict: run.verdict,
    delivery: run.delivery,
    unverified: run.unverified,
  };
}

/** The spec as shown: the hook secret becomes `secretFingerprint`, secret-named env values `[redacted]`. */
export type PublicSpec = Omit<RoutineSpec, "hook"> & {
  hook?: { secretFingerprint?: string; tokenEnv?: string };
};

export function publicSpec(spec: RoutineSpec): PublicSpec {
  const { hook, ...rest } = spec;
  const shown: PublicSpec = {
    ...rest,
    env: Object.fromEntries(
      Object.entries(spec.env).map(([key, value]) => [key, isSecretName(key) ? `[redacted:${key}]` : value]),
    ),
  };
  if (hook) {
    shown.hook = {
      ...(hook.secret !== undefined ? { secretFingerprint: secretFingerprint(hook.secret) } : {}),
      ...(hook.tokenEnv !== undefined ? { tokenEnv: hook.tokenEnv } : {}),
    };
  }
  return shown;
}

/** Enough to tell two secrets apart (or match the one in loopd.yaml), nothing to sign with. */
export function secretFingerprint(secret: string): string {
  return `sha256:${createHash("sha256").update(secret).digest("hex").slice(0, 12)}`;
}

/** A time a Date can hold; a value out of range (stored by an older loopd) shows as null, not a crash. */
function iso(epochMs: number | null): string | null {
  if (epochMs === null) return null;
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
