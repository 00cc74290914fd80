/**
 * The claim policy: given the queued runs a worker may take and what is going on around them,
 * which start here, which wait, which are skipped and which running runs are canceled. Pure;
 * `store/sql/claim-runs.ts` gathers the rows under its locks, asks `planClaim`, and writes the
 * answer. Each candidate, oldest `not_before` first, meets these questions in order:
 *
 *   1. routine paused            → skipped "routine paused", unless fired by hand and never
 *                                  started (`loopd run` on a paused routine is an explicit ask)
 *   2. labels missing            → left queued for another worker (counted as unsuitable)
 *   3. overlap (domain/overlap.ts) → skipped, or waits behind the blocking run
 *   4. per-repo cap reached      → waits for a run in its repo to finish
 *   5. otherwise                 → starts; under cancel-previous the runs it supersedes are
 *                                  canceled (never started if claimed earlier in this batch)
 *
 * A run that started before (released at shutdown, recovered, a retry waiting out its backoff)
 * is skipped when its routine is paused even if fired by hand: the pause came after that ask.
 */
import type { OverlapPolicy } from "./config-schema.js";
import { decideOverlap, isInLine } from "./overlap.js";

export interface ClaimCandidate {
  id: number;
  routineId: number;
  dueAt: number;
  trigger: string;
  /** An attempt of it started before (`started_at` is set). */
  startedBefore: boolean;
}

export interface ClaimRoutine {
  paused: boolean;
  overlap: OverlapPolicy;
  /** Labels a worker must offer to run it. */
  requires: readonly string[];
  /** Its repo path or URL: routines sharing one share the per-repo cap. */
  repo: string;
}

export interface RunningRun {
  id: number;
  inLine: boolean;
  /** When its lease ends: a run waiting behind it looks again then at the latest. */
  leaseUntil: number | null;
}

export interface ClaimSituation {
  /** The queued, ready runs this claim may take, in claim order. */
  candidates: readonly ClaimCandidate[];
  routines: ReadonlyMap<number, ClaimRoutine>;
  /** Per routine, its runs executing now. */
  running: ReadonlyMap<number, readonly RunningRun[]>;
  /**
   * Per routine (one run at a time only), its runs in line that are queued and ready,
   * including ones this claim did not get (another worker's lock, the limit): an on-time run
   * must not start ahead of them.
   */
  inLine: ReadonlyMap<number, ReadonlyArray<{ id: number; dueAt: number }>>;
  /** Per repo, its running runs (only read when `perRepo` is set). */
  runningPerRepo: ReadonlyMap<string, number>;
  /** This worker's labels; undefined: it takes runs whatever they require. */
  labels?: readonly string[];
  /** Cap on running runs per repo. */
  perRepo?: number;
  /** The lease a run started now gets. */
  leaseUntil: number;
}

export interface ClaimPlan {
  /** Candidates to lease to this worker, in claim order. */
  start: number[];
  /** Runs ended without executing here: skipped candidates, canceled running runs. */
  finish: Array<{ runId: number; status: "skipped" | "canceled"; reason: string }>;
  /** Candidates left queued until `notBefore` (or until a completion releases them). */
  wait: Array<{ runId: number; notBefore: number; reason: string }>;
  /** Running runs (on other workers, or earlier here) this claim canceled; their workers must stop them. */
  canceled: number[];
  /** Candidates left queued because this worker lacks labels their routine requires. */
  unsuitable: number;
}

/** `loopd run` on a paused routine, not yet started: the one kind of run a pause lets through. */
export function firedWhilePaused(run: { trigger: string; startedBefore: boolean }): boolean {
  return run.trigger === "manual" && !run.startedBefore;
}

/**
 * How many runs this claim may start: its own limit, cut to what the global cap leaves.
 * Zero or less under a cap means saturated: nothing more starts until a run finishes.
 */
export function claimCapacity(limit: number, globalConcurrency: number | undefined, running: number): number {
  return globalConcurrency === undefined ? limit : Math.min(limit, globalConcurrency - running);
}

export function planClaim(situation: ClaimSituation): ClaimPlan {
  const plan: ClaimPlan = { start: [], finish: [], wait: [], canceled: [], unsuitable: 0 };
  const labels = situation.labels === undefined ? undefined : new Set(situation.labels);
  const running = new Map([...situation.running].map(([id, runs]) => [id, [...runs]]));
  const runningPerRepo = new Map(situation.runningPerRepo);
  /** Runs this claim started, skipped or set waiting: no longer "ready in line". */
  const handled = new Set<number>();
  const lineAhead = (run: ClaimCandidate): number | null => {
    let ahead: { id: number; dueAt: number } | null = null;
    for (const other of situation.inLine.get(run.routineId) ?? []) {
      if (other.id === run.id || handled.has(other.id) || other.dueAt >= run.dueAt) continue;
      if (ahead === null || other.dueAt < ahead.dueAt) ahead = other;
    }
    return ahead?.id ?? null;
  };

  for (const run of situation.candidates) {
    const routine = situation.routines.get(run.routineId);
    if (routine === undefined) throw new Error(`claim: run ${run.id} has no routine ${run.routineId}`);
    if (routine.paused && !firedWhilePaused(run)) {
      plan.finish.push({ runId: run.id, status: "skipped", reason: "routine paused" });
      continue;
    }
    if (labels && !routine.requires.every((label) => labels.has(label))) {
      plan.unsuitable++;
      continue;
    }
    const busy = running.get(run.routineId) ?? [];
    const candidate = { id: run.id, inLine: isInLine(run) };
    const decision = decideOverlap({
      policy: routine.overlap,
      candidate,
      running: busy,
      lineAhead: lineAhead(run),
    });
    if (decision.action === "skip") {
      handled.add(run.id);
      plan.finish.push({ runId: run.id, status: "skipped", reason: decision.reason });
      continue;
    }
    if (decision.action === "wait") {
      // Until the blocker's completion releases it (complete-run.ts), or its lease horizon; a
      // blocker not started yet has none: the horizon of a lease taken now.
      handled.add(run.id);
      const blocker = busy.find((other) => other.id === decision.behind);
      plan.wait.push({
        runId: run.id,
        notBefore: blocker?.leaseUntil ?? situation.leaseUntil,
        reason: decision.reason,
      });
      continue;
    }
    if (situation.perRepo !== undefined && (runningPerRepo.get(routine.repo) ?? 0) >= situation.perRepo) {
      // Waits until a run in this repo finishes (completion releases it) or the lease horizon.
      handled.add(run.id);
      plan.wait.push({
        runId: run.id,
        notBefore: situation.leaseUntil,
        reason: `concurrency: ${situation.perRepo} run(s) already in ${routine.repo}`,
      });
      continue;
    }
    for (const previous of busy.filter((other) => decision.cancel.includes(other.id))) {
      plan.finish.push({
        runId: previous.id,
        status: "canceled",
        reason: `overlap cancel-previous: superseded by run ${run.id}`,
      });
      // Claimed earlier in this batch: it never starts. Running elsewhere: its worker stops it.
      const inBatch = plan.start.indexOf(previous.id);
      if (inBatch >= 0) plan.start.splice(inBatch, 1);
      else plan.canceled.push(previous.id);
    }
    handled.add(run.id);
    running.set(run.routineId, [
      ...busy.filter((other) => !decision.cancel.includes(other.id)),
      { ...candidate, leaseUntil: situation.leaseUntil },
    ]);
    runningPerRepo.set(routine.repo, (runningPerRepo.get(routine.repo) ?? 0) + 1);
    plan.start.push(run.id);
  }
  return plan;
}
