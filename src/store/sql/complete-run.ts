/**
 * Complete: record attempts' results, many per transaction (the engine batches runs that
 * finish together, like a group commit). Each is fenced on (run, attempt, worker, running): a
 * worker that stalled past its lease, whose run was recovered and started again elsewhere,
 * cannot overwrite the newer attempt. A failed attempt with retries left goes back to the
 * queue after an exponential backoff with jitter. Routine health and runs waiting behind the
 * finished ones are updated in the same transaction, and so is the failure circuit breaker
 * (`domain/failure-breaker.ts`): the run that makes `pauseAfter` failed runs in a row pauses
 * its routine and writes `routine.paused` (pause-routine.ts).
 */
import { type Kysely, sql } from "kysely";
import { retryDelayMs } from "../../domain/backoff.js";
import type { NotifyEvent } from "../../domain/config-schema.js";
import { breakerPause, breakerTrips } from "../../domain/failure-breaker.js";
import { WAIT_REASON_PREFIXES } from "../../domain/overlap.js";
import type { NotifyRuleSpec } from "../../domain/routine-spec.js";
import type { NewRunEvent } from "../../domain/run-event.js";
import type { RunReport } from "../../domain/run-report.js";
import type { Outcome, RunStatus } from "../../domain/run-status.js";
import type { Dialect } from "../migrations/migration.js";
import { enqueueEvent } from "../outbox.js";
import { appendRunEvents } from "../run-events.js";
import type { Database } from "../schema.js";
import type { Store } from "../store.js";
import { completeWatch, type WatchCompletion } from "./complete-watch.js";
import { pauseRoutineItself } from "./pause-routine.js";
import { jsonTable } from "./values.js";

export interface Completion extends RunReport {
  runId: number;
  attempt: number;
  workerId: string;
  now: number;
  /** How the attempt ended; `skipped` is decided before a run starts, never by completing one. */
  outcome: Exclude<Outcome, "skipped">;
  /** Retry without backoff: the next attempt escalates to a stronger tier, nothing to wait for. */
  retryNow?: boolean;
  /**
   * The notification the final outcome causes (routine notify rules decide the channels). It is
   * written in the completion's own transaction: no outcome without its event, no event
   * for an outcome that was rolled back or rejected.
   */
  notify?: CompletionNotice;
  /** A watch's verdict and what it decides (runs whose task is a check, when it was evaluated). */
  watch?: WatchCompletion & { routineName: string };
  /** The failure circuit breaker for a failed run: its threshold (0 never) and who hears of a pause. */
  breaker?: { routineName: string; pauseAfter: number; notify: readonly NotifyRuleSpec[] };
  /** A success with no `verify` whose last tool call failed: recorded and notified as `unverified`. */
  unverified?: boolean;
}

export interface CompletionNotice {
  routineId: number;
  rules: readonly NotifyRuleSpec[];
  payload: Record<string, unknown>;
}

/**
 * `releasedRuns`: queued runs that were waiting for these and may start now. `paused`: this
 * run tripped the failure circuit breaker and its routine paused itself.
 */
export type CompletionResult =
  | { accepted: false }
  | { accepted: true; final: true; releasedRuns: number; paused?: { code: string; reason: string } }
  | { accepted: true; final: false; retryAt: number; releasedRuns: number };

export async function completeRun(store: Store, completion: Completion): Promise<CompletionResult> {
  const [result] = await completeRuns(store, [completion]);
  return result!;
}

interface RunUpdate {
  id: number;
  routineId: number;
  status: RunStatus;
  finishedAt: number | null;
  notBefore: number | null;
  reason: string | null;
  completion: Completion;
}

/**
 * Results in the order of `completions`. `events`: run events buffered before these
 * completions (the runs' logs up to their `finished` line), written first in the same
 * transaction, so a finished run's log is whole without a transaction of its own.
 */
export async function completeRuns(
  store: Store,
  completions: readonly Completion[],
  events: readonly NewRunEvent[] = [],
): Promise<CompletionResult[]> {
  if (completions.length === 0 && events.length === 0) return [];
  return store.writeTransaction(async (trx) => {
    await appendRunEvents(trx, events, store.dialect);
    if (completions.length === 0) return [];
    const rows = await trx
      .selectFrom("runs")
      .select(["id", "routine_id", "status", "attempt", "max_attempts", "worker_id"])
      .where(
        "id",
        "in",
        completions.map((completion) => completion.runId),
      )
      .orderBy("id")
      .$if(store.dialect === "postgres", (query) => query.forUpdate())
      .execute();
    const current = new Map(rows.map((row) => [row.id, row]));

    const results: CompletionResult[] = [];
    const updates: RunUpdate[] = [];
    const health = new Map<number, RoutineHealth>();
    for (const completion of completions) {
      const run = current.get(completion.runId);
      if (
        run?.status !== "running" ||
        run.attempt !== completion.attempt ||
        run.worker_id !== completion.workerId
      ) {
        results.push({ accepted: false });
        continue;
      }
      // A run is completed once: a second completion in the same batch sees it finished.
      current.set(run.id, { ...run, status: "succeeded" });
      const retry =
        (completion.outcome === "failed" || completion.outcome === "timed_out") &&
        run.attempt < run.max_attempts;
      const retryAt = completion.retryNow ? completion.now : completion.now + retryDelayMs(run.attempt);
      updates.push({
        id: run.id,
        routineId: run.routine_id,
        status: retry ? "queued" : completion.outcome,
        finishedAt: retry ? null : completion.now,
        notBefore: retry ? retryAt : null,
        reason: retry ? `retry ${run.attempt + 1}/${run.max_attempts} after ${completion.outcome}` : null,
        completion,
      });
      noteOutcome(health, run.routine_id, completion, !retry);
      results.push(
        retry
          ? { accepted: true, final: false, retryAt, releasedRuns: 0 }
          : { accepted: true, final: true, releasedRuns: 0 },
      );
    }
    if (updates.length === 0) return results;

    await updateRuns(trx, store.dialect, updates);
    // `changeOnly` rules compare with the outcome before this batch: read it before the update.
    const previous = await previousOutcomes(trx, updates);
    await updateRoutineHealth(trx, store.dialect, health);
    for (const update of updates) {
      if (update.finishedAt === null) continue;
      await enqueueOutcome(trx, update.completion, previous);
      const { watch } = update.completion;
      if (watch) {
        await completeWatch(
          trx,
          {
            id: update.id,
            routineId: update.routineId,
            routineName: watch.routineName,
            attempt: update.completion.attempt,
            now: update.completion.now,
          },
          watch,
          update.completion.notify,
        );
      }
    }
    const paused = await tripBreakers(trx, updates);
    const released = await releaseWaiting(
      trx,
      [...health.keys()],
      Math.max(...updates.map((u) => u.completion.now)),
    );
    return results.map((result, index) => {
      if (!result.accepted) return result;
      const pause = paused.get(completions[index]!.runId);
      return { ...result, releasedRuns: released, ...(pause && result.final ? { paused: pause } : {}) };
    });
  });
}

const OUTCOME_EVENTS: Record<Completion["outcome"], { kind: NotifyEvent; type: string } | null> = {
  succeeded: { kind: "success", type: "run.succeeded" },
  failed: { kind: "failure", type: "run.failed" },
  timed_out: { kind: "timeout", type: "run.timed_out" },
  canceled: null,
};

async function previousOutcomes(
  trx: Kysely<Database>,
  updates: readonly RunUpdate[],
): Promise<Map<number, string | null>> {
  const ids = [
    ...new Set(
      updates
        .filter((update) => update.completion.notify?.rules.some((rule) => rule.changeOnly))
        .map((update) => update.completion.notify!.routineId),
    ),
  ];
  if (ids.length === 0) return new Map();
  const rows = await trx
    .selectFrom("routines")
    .select(["id", "last_outcome"])
    .where("id", "in", ids)
    .execute();
  return new Map(rows.map((row) => [Number(row.id), row.last_outcome]));
}

async function enqueueOutcome(
  trx: Kysely<Database>,
  completion: Completion,
  previous: ReadonlyMap<number, string | null>,
): Promise<void> {
  const event = OUTCOME_EVENTS[completion.outcome];
  const notice = completion.notify;
  if (!event || !notice) return;
  // changeOnly: "tell me when it breaks or recovers", not every time it is still broken.
  const unchanged = previous.get(notice.routineId) === completion.outcome;
  const rules = notice.rules.filter((rule) => !(rule.changeOnly && unchanged));
  // A timeout is a failure too: rules asking for `failure` hear about it.
  const kinds: NotifyEvent[] = completion.outcome === "timed_out" ? ["timeout", "failure"] : [event.kind];
  // Only routines that asked to hear about this outcome get a row (most ask for nothing).
  if (!rules.some((rule) => rule.on.some((on) => kinds.includes(on)))) return;
  await enqueueEvent(trx, {
    type: event.type,
    kind: kinds,
    routineId: notice.routineId,
    runId: completion.runId,
    payload: {
      ...notice.payload,
      runId: completion.runId,
      attempt: completion.attempt,
      status: completion.outcome,
      summary: completion.summary,
      error: completion.error,
      costUsd: completion.costUsd ?? 0,
      unverified: completion.outcome === "succeeded" && completion.unverified === true,
      // A watch's run: notifications say the verdict, not "succeeded" (notify/message.ts).
      ...(completion.watch ? { verdict: completion.watch.verdict } : {}),
    },
    notify: rules,
    now: completion.now,
  });
}

/**
 * Routines whose count reached their `pauseAfter` with a failed run in this batch pause
 * themselves (after updateRoutineHealth, so the count includes the batch). Keyed by run id.
 */
async function tripBreakers(
  trx: Kysely<Database>,
  updates: readonly RunUpdate[],
): Promise<Map<number, { code: string; reason: string }>> {
  const paused = new Map<number, { code: string; reason: string }>();
  // The last failed run of each routine in the batch speaks for it.
  const lastFailed = new Map<number, RunUpdate>();
  for (const update of updates) {
    const { outcome, breaker } = update.completion;
    if (update.finishedAt === null || !breaker || breaker.pauseAfter <= 0) continue;
    if (outcome === "failed" || outcome === "timed_out") lastFailed.set(update.routineId, update);
    else lastFailed.delete(update.routineId);
  }
  if (lastFailed.size === 0) return paused;
  const rows = await trx
    .selectFrom("routines")
    .select(["id", "state", "consecutive_failures"])
    .where("id", "in", [...lastFailed.keys()])
    .execute();
  for (const row of rows) {
    const update = lastFailed.get(Number(row.id))!;
    const { breaker, error, runId, now } = update.completion;
    if (row.state !== "active" || !breakerTrips(row.consecutive_failures, breaker!.pauseAfter, error?.code))
      continue;
    const pause = breakerPause(breaker!.routineName, row.consecutive_failures, error);
    const written = await pauseRoutineItself(trx, {
      routineId: update.routineId,
      routineName: breaker!.routineName,
      runId,
      code: pause.code,
      reason: pause.reason,
      pausedReason: pause.pausedReason,
      hint: pause.hint,
      error,
      failures: row.consecutive_failures,
      // Rules that hear about failures hear that the failures stopped the routine.
      kind: ["failure"],
      notify: breaker!.notify,
      now,
    });
    if (written) paused.set(runId, { code: pause.code, reason: pause.pausedReason });
  }
  return paused;
}

interface RoutineHealth {
  /** Failures after the last success in this batch. */
  failures: number;
  /** A success in this batch resets the routine's count. */
  reset: boolean;
  lastRunAt: number;
  lastOutcome: Completion["outcome"];
  lastError: { code: string; message: string } | null;
  lastSuccessAt: number | null;
}

/**
 * `final`: the run ends with this attempt. Failed runs are counted, not attempts: a failure
 * that is retried is not yet one, and a canceled run (stopped by a newer one) is not one.
 */
function noteOutcome(
  health: Map<number, RoutineHealth>,
  routineId: number,
  completion: Completion,
  final: boolean,
): void {
  const succeeded = completion.outcome === "succeeded";
  const failedRun = final && (completion.outcome === "failed" || completion.outcome === "timed_out");
  const before = health.get(routineId) ?? {
    failures: 0,
    reset: false,
    lastRunAt: 0,
    lastOutcome: completion.outcome,
    lastError: null,
    lastSuccessAt: null,
  };
  health.set(routineId, {
    failures: succeeded ? 0 : before.failures + (failedRun ? 1 : 0),
    reset: before.reset || succeeded,
    lastRunAt: completion.now,
    lastOutcome: completion.outcome,
    lastError: succeeded ? null : completion.error,
    lastSuccessAt: succeeded ? completion.now : before.lastSuccessAt,
  });
}

/** One statement per batch in both dialects: a round trip per run is what limits throughput. */
async function updateRuns(trx: Kysely<Database>, dialect: Dialect, updates: RunUpdate[]): Promise<void> {
  const v = jsonTable(
    dialect,
    "v",
    [
      ["id", "bigint"],
      ["status", "text"],
      ["finished_at", "bigint"],
      ["not_before", "bigint"],
      ["reason", "text"],
      ["exit_code", "integer"],
      ["summary", "text"],
      ["error_code", "text"],
      ["error_message", "text"],
      ["error_hint", "text"],
      ["tokens_in", "bigint"],
      ["tokens_out", "bigint"],
      ["tokens_cached", "bigint"],
      ["tokens_reasoning", "bigint"],
      ["cost_usd", "double precision"],
      ["turns", "integer"],
      ["session_id", "text"],
      ["unverified", "integer"],
    ],
    updates.map(({ id, status, finishedAt, notBefore, reason, completion: c }) => [
      id,
      status,
      finishedAt,
      notBefore,
      reason,
      c.exitCode,
      c.summary,
      c.error?.code ?? null,
      c.error?.message ?? null,
      c.error?.hint ?? null,
      c.usage?.tokensIn ?? 0,
      c.usage?.tokensOut ?? 0,
      c.usage?.tokensCached ?? 0,
      c.usage?.tokensReasoning ?? 0,
      c.costUsd ?? 0,
      c.turns ?? null,
      c.sessionId ?? null,
      status === "succeeded" && c.unverified ? 1 : 0,
    ]),
  );
  await sql`with ${v} update runs set
      status = v.status, worker_id = null, lease_until = null, finished_at = v.finished_at,
      not_before = coalesce(v.not_before, runs.not_before), reason = v.reason, exit_code = v.exit_code,
      summary = v.summary, error_code = v.error_code, error_message = v.error_message, error_hint = v.error_hint,
      tokens_in = runs.tokens_in + v.tokens_in, tokens_out = runs.tokens_out + v.tokens_out,
      tokens_cached = runs.tokens_cached + v.tokens_cached,
      tokens_reasoning = runs.tokens_reasoning + v.tokens_reasoning,
      cost_usd = runs.cost_usd + v.cost_usd, turns = v.turns, session_id = v.session_id,
      unverified = v.unverified
    from v where runs.id = v.id`.execute(trx);
}

async function updateRoutineHealth(
  trx: Kysely<Database>,
  dialect: Dialect,
  health: Map<number, RoutineHealth>,
): Promise<void> {
  const v = jsonTable(
    dialect,
    "v",
    [
      ["id", "bigint"],
      ["failures", "integer"],
      ["reset", "integer"],
      ["last_run_at", "bigint"],
      ["last_outcome", "text"],
      ["error_code", "text"],
      ["error_message", "text"],
      ["last_success_at", "bigint"],
    ],
    [...health.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, h]) => [
        id,
        h.failures,
        h.reset ? 1 : 0,
        h.lastRunAt,
        h.lastOutcome,
        h.lastError?.code ?? null,
        h.lastError?.message ?? null,
        h.lastSuccessAt,
      ]),
  );
  await sql`with ${v} update routines set
      consecutive_failures = case when v.reset = 1 then v.failures else routines.consecutive_failures + v.failures end,
      last_run_at = v.last_run_at, last_outcome = v.last_outcome, last_error_code = v.error_code,
      last_error_message = v.error_message, last_success_at = coalesce(v.last_success_at, routines.last_success_at)
    from v where routines.id = v.id`.execute(trx);
}

/** Runs waiting behind the finished ones (domain/overlap.ts) or for a repo slot may start now. */
async function releaseWaiting(trx: Kysely<Database>, routineIds: number[], now: number): Promise<number> {
  const released = await trx
    .updateTable("runs")
    .set({ not_before: now })
    .where("status", "=", "queued")
    .where("not_before", ">", now)
    .where((eb) =>
      eb.or([
        eb.and([
          eb("routine_id", "in", routineIds),
          eb.or(WAIT_REASON_PREFIXES.map((prefix) => eb("reason", "like", `${prefix}%`))),
        ]),
        eb("reason", "like", "concurrency:%"),
      ]),
    )
    .executeTakeFirst();
  return Number(released.numUpdatedRows);
}
