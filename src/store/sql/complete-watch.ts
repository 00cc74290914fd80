/**
 * The watch half of a completion, in the completion's transaction: record the verdict on the
 * run and the routine, move a backing-off watch's next look (`domain/watch-cadence.ts`),
 * close a watch that is over (satisfied, or its deadline evaluated),
 * write the notification its verdict causes, and start the `onUnsatisfied.run` routine. A
 * rolled-back completion leaves none of it behind.
 */
import type { Kysely } from "kysely";
import type { Verdict } from "../../domain/check.js";
import { maxAttemptsOf } from "../../domain/routine-spec.js";
import { storedSpec } from "../../domain/stored-spec.js";
import type { WatchDecision } from "../../domain/watch.js";
import { decideCadence } from "../../domain/watch-cadence.js";
import { enqueueEvent } from "../outbox.js";
import { findRoutineByName } from "../routines.js";
import { insertRunNow } from "../runs.js";
import type { Database } from "../schema.js";
import type { CompletionNotice } from "./complete-run.js";

export interface WatchCompletion {
  verdict: Verdict;
  decision: WatchDecision;
  /** What the notification and the fix routine are told: the check and its evidence. */
  summary: string;
  check: string;
  deadline: string | null;
  /** `onUnsatisfied.run`, when the decision acts. */
  fix: string | null;
}

export async function completeWatch(
  trx: Kysely<Database>,
  run: { id: number; routineId: number; routineName: string; attempt: number; now: number },
  watch: WatchCompletion,
  notice: CompletionNotice | undefined,
): Promise<void> {
  const routine = await trx
    .selectFrom("routines")
    .innerJoin("runs", "runs.routine_id", "routines.id")
    .select([
      "routines.spec",
      "routines.last_verdict",
      "routines.unchanged_verdicts",
      "routines.next_due_at",
      "runs.trigger",
      "runs.due_at",
    ])
    .where("runs.id", "=", run.id)
    .executeTakeFirst();
  const previous = routine?.last_verdict ?? null;
  const cadence = routine
    ? decideCadence(
        {
          trigger: storedSpec(routine.spec).trigger,
          previousVerdict: previous,
          unchanged: routine.unchanged_verdicts,
          nextDueAt: routine.next_due_at,
          run: { trigger: routine.trigger, dueAt: routine.due_at },
        },
        watch.verdict,
      )
    : { unchanged: 0 };
  await trx.updateTable("runs").set({ verdict: watch.verdict }).where("id", "=", run.id).execute();
  await trx
    .updateTable("routines")
    .set({
      last_verdict: watch.verdict,
      unchanged_verdicts: cadence.unchanged,
      ...(watch.decision.closes
        ? { next_due_at: null }
        : cadence.nextDueAt !== undefined
          ? { next_due_at: cadence.nextDueAt }
          : {}),
    })
    .where("id", "=", run.routineId)
    .execute();
  if (watch.decision.closes) {
    // Evaluations already queued for a watch that is over would only repeat the verdict.
    await trx
      .updateTable("runs")
      .set({
        status: "skipped",
        reason: `watch closed: ${watch.verdict === "satisfied" ? "satisfied" : "deadline passed"}`,
        finished_at: run.now,
      })
      .where("routine_id", "=", run.routineId)
      .where("status", "=", "queued")
      .where("trigger", "in", ["schedule", "catch-up"])
      .execute();
  }

  const fixed = watch.decision.acts && watch.fix ? await startFix(trx, run, watch) : null;
  const event = watch.decision.event;
  if (!event || !notice) return;
  const rules = notice.rules.filter((rule) => !(rule.changeOnly && previous === watch.verdict));
  if (!rules.some((rule) => rule.on.includes(event.kind))) return;
  await enqueueEvent(trx, {
    type: event.type,
    kind: event.kind,
    routineId: run.routineId,
    runId: run.id,
    payload: {
      ...notice.payload,
      runId: run.id,
      attempt: run.attempt,
      verdict: watch.verdict,
      check: watch.check,
      summary: watch.summary,
      ...(watch.deadline ? { deadline: watch.deadline } : {}),
      ...(fixed ? { started: fixed } : {}),
    },
    notify: rules,
    now: run.now,
  });
}

/** Queues a run of the fix routine with the evidence as its input; a missing routine is reported, not fatal. */
async function startFix(
  trx: Kysely<Database>,
  run: { id: number; routineName: string; now: number },
  watch: WatchCompletion,
): Promise<{ routine: string; runId: number | null; error?: string }> {
  const name = watch.fix!;
  const routine = await findRoutineByName(trx, name);
  if (!routine) return { routine: name, runId: null, error: `no routine named "${name}"` };
  const input = [
    `The watch "${run.routineName}" (run ${run.id}) is not satisfied.`,
    `Check: ${watch.check}`,
    `Evidence: ${watch.summary}`,
  ].join("\n");
  const runId = await insertRunNow(trx, {
    routineId: routine.id,
    trigger: "event",
    maxAttempts: maxAttemptsOf(routine.spec),
    input,
    now: run.now,
  });
  return runId === undefined
    ? { routine: name, runId: null, error: "could not queue a run" }
    : { routine: name, runId };
}
