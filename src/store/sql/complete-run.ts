/**
 * Complete: record an attempt's result. Fenced on (run, attempt, worker, running): a worker
 * that stalled past its lease, whose run was recovered and started again elsewhere, cannot
 * overwrite the newer attempt. A failed attempt with retries left goes back to the queue
 * after an exponential backoff with jitter.
 */
import { retryDelayMs } from "../../domain/backoff.js";
import type { Store } from "../store.js";
import { recordRoutineOutcome } from "./record-outcome.js";

export interface Completion {
  runId: number;
  attempt: number;
  workerId: string;
  now: number;
  outcome: "succeeded" | "failed" | "timed_out" | "canceled";
  exitCode: number | null;
  summary: string | null;
  error: { code: string; message: string } | null;
  usage?: { tokensIn: number; tokensOut: number; tokensCached: number; tokensReasoning: number };
  costUsd?: number;
  turns?: number | null;
  sessionId?: string | null;
}

/** `releasedRuns`: queued runs that were waiting for this one and may start now. */
export type CompletionResult =
  | { accepted: false }
  | { accepted: true; final: true; releasedRuns: number }
  | { accepted: true; final: false; retryAt: number; releasedRuns: number };

export async function completeRun(store: Store, completion: Completion): Promise<CompletionResult> {
  return store.writeTransaction(async (trx) => {
    const run = await trx
      .selectFrom("runs")
      .select(["id", "routine_id", "status", "attempt", "max_attempts", "worker_id"])
      .where("id", "=", completion.runId)
      .$if(store.dialect === "postgres", (query) => query.forUpdate())
      .executeTakeFirst();
    if (
      run?.status !== "running" ||
      run.attempt !== completion.attempt ||
      run.worker_id !== completion.workerId
    ) {
      return { accepted: false };
    }

    const retry =
      (completion.outcome === "failed" || completion.outcome === "timed_out") &&
      run.attempt < run.max_attempts;
    const retryAt = completion.now + retryDelayMs(run.attempt);
    const usage = completion.usage;
    await trx
      .updateTable("runs")
      .set((eb) => ({
        status: retry ? "queued" : completion.outcome,
        worker_id: null,
        lease_until: null,
        finished_at: retry ? null : completion.now,
        not_before: retry ? retryAt : eb.ref("not_before"),
        reason: retry ? `retry ${run.attempt + 1}/${run.max_attempts} after ${completion.outcome}` : null,
        exit_code: completion.exitCode,
        summary: completion.summary,
        error_code: completion.error?.code ?? null,
        error_message: completion.error?.message ?? null,
        tokens_in: eb("tokens_in", "+", usage?.tokensIn ?? 0),
        tokens_out: eb("tokens_out", "+", usage?.tokensOut ?? 0),
        tokens_cached: eb("tokens_cached", "+", usage?.tokensCached ?? 0),
        tokens_reasoning: eb("tokens_reasoning", "+", usage?.tokensReasoning ?? 0),
        cost_usd: eb("cost_usd", "+", completion.costUsd ?? 0),
        turns: completion.turns ?? null,
        session_id: completion.sessionId ?? null,
      }))
      .where("id", "=", run.id)
      .execute();

    await recordRoutineOutcome(trx, {
      routineId: run.routine_id,
      outcome: completion.outcome,
      error: completion.error,
      now: completion.now,
    });
    // Runs waiting behind this one (overlap: queue) or for a repo slot may start now.
    const released = await trx
      .updateTable("runs")
      .set({ not_before: completion.now })
      .where("status", "=", "queued")
      .where((eb) =>
        eb.or([
          eb.and([eb("routine_id", "=", run.routine_id), eb("reason", "like", "overlap queue:%")]),
          eb("reason", "like", "concurrency:%"),
        ]),
      )
      .where("not_before", ">", completion.now)
      .executeTakeFirst();
    const releasedRuns = Number(released.numUpdatedRows);
    return retry
      ? { accepted: true, final: false, retryAt, releasedRuns }
      : { accepted: true, final: true, releasedRuns };
  });
}
