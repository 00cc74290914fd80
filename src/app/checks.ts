/**
 * `loopd checks`: the watches — routines with a check — with where each stands: open (next
 * evaluation, deadline), satisfied, or past its deadline; the last verdict and its evidence.
 */
import type { z } from "zod";
import { type CheckResult, describeCheck } from "../domain/check.js";
import { listRoutines, type Routine } from "../store/routines.js";
import type { Store } from "../store/store.js";
import type { CheckViewSchema } from "./view-schemas.js";

export type CheckView = z.infer<typeof CheckViewSchema>;
export type WatchState = CheckView["state"];

export async function listCheckViews(store: Store, options: { all?: boolean } = {}): Promise<CheckView[]> {
  const watches = (await listRoutines(store.db)).filter((routine) => routine.spec.check !== undefined);
  const views = await Promise.all(watches.map((routine) => checkView(store, routine)));
  return options.all ? views : views.filter((view) => view.state === "open" || view.state === "paused");
}

async function checkView(store: Store, routine: Routine): Promise<CheckView> {
  const check = routine.spec.check!;
  const { trigger } = routine.spec;
  const deadline = trigger.kind === "by" ? trigger.deadline : null;
  const lastRun = await store.db
    .selectFrom("runs")
    .select(["id", "finished_at", "summary", "verdict", "error_code", "status"])
    .where("routine_id", "=", routine.id)
    .where("status", "in", ["succeeded", "failed", "timed_out"])
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  const artifact = lastRun
    ? await store.db
        .selectFrom("run_artifacts")
        .select("content")
        .where("run_id", "=", lastRun.id)
        .where("kind", "=", "check")
        .orderBy("id", "desc")
        .limit(1)
        .executeTakeFirst()
    : undefined;
  const result = artifact ? (JSON.parse(artifact.content) as CheckResult) : null;
  const pending = await store.db
    .selectFrom("runs")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("routine_id", "=", routine.id)
    .where("status", "in", ["queued", "running"])
    .executeTakeFirst();
  const open = routine.nextDueAt !== null || Number(pending?.count ?? 0) > 0;
  return {
    routine: routine.name,
    check: describeCheck(check),
    subject: subjectOf(check),
    state:
      routine.state === "paused"
        ? "paused"
        : open
          ? "open"
          : routine.lastVerdict === "satisfied"
            ? "satisfied"
            : deadline !== null && routine.lastVerdict === "unsatisfied"
              ? "missed"
              : "done",
    nextEvaluationAt:
      routine.state === "active" && routine.nextDueAt !== null ? iso(routine.nextDueAt) : null,
    deadline,
    lastVerdict: routine.lastVerdict,
    last: lastRun
      ? {
          runId: lastRun.id,
          at: lastRun.finished_at === null ? null : iso(lastRun.finished_at),
          status: result?.status ?? (lastRun.status === "succeeded" ? lastRun.verdict : "error"),
          summary: result?.summary ?? lastRun.summary,
          evidence: result?.evidence ?? null,
        }
      : null,
    onUnsatisfied: {
      notify: routine.spec.onUnsatisfied?.notify ?? true,
      run: routine.spec.onUnsatisfied?.run ?? null,
    },
    notifies: [...new Set(routine.spec.notify.flatMap((rule) => rule.to))],
  };
}

function subjectOf(check: NonNullable<Routine["spec"]["check"]>): string {
  switch (check.kind) {
    case "command":
    case "test-retry":
      return check.command;
    case "github":
    case "http":
      return check.url;
    case "agent":
      return check.subject ?? check.question;
  }
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
