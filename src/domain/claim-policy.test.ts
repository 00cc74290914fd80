import { describe, expect, it } from "vitest";
import {
  type ClaimCandidate,
  type ClaimRoutine,
  type ClaimSituation,
  claimCapacity,
  firedWhilePaused,
  planClaim,
  type RunningRun,
} from "./claim-policy.js";

const LEASE = 1_000_000;
const routine = (fields: Partial<ClaimRoutine> = {}): ClaimRoutine => ({
  paused: false,
  overlap: "skip",
  requires: [],
  repo: "/repo",
  ...fields,
});
const queued = (id: number, fields: Partial<ClaimCandidate> = {}): ClaimCandidate => ({
  id,
  routineId: 1,
  dueAt: id * 1000,
  trigger: "schedule",
  startedBefore: false,
  ...fields,
});
const going = (id: number, fields: Partial<RunningRun> = {}): RunningRun => ({
  id,
  inLine: false,
  leaseUntil: 5000,
  ...fields,
});

function situation(fields: Partial<ClaimSituation> = {}): ClaimSituation {
  return {
    candidates: [queued(10)],
    routines: new Map([[1, routine()]]),
    running: new Map(),
    inLine: new Map(),
    runningPerRepo: new Map(),
    leaseUntil: LEASE,
    ...fields,
  };
}

const nothing = { start: [], finish: [], wait: [], canceled: [], unsuitable: 0 };

describe("planClaim", () => {
  it("starts a ready run of an idle routine", () => {
    expect(planClaim(situation())).toEqual({ ...nothing, start: [10] });
  });

  it.each([
    // trigger, started before → what a paused routine does with it
    ["schedule", false, "skipped"],
    ["catch-up", false, "skipped"],
    ["event", false, "skipped"],
    ["manual", false, "starts"], // `loopd run` on a paused routine: an explicit ask
    ["manual", true, "skipped"], // released or recovered after the pause: the pause came later
    ["retry", true, "skipped"],
  ] as const)("a paused routine's %s run (started before: %s) is %s", (trigger, startedBefore, expected) => {
    const plan = planClaim(
      situation({
        candidates: [queued(10, { trigger, startedBefore })],
        routines: new Map([[1, routine({ paused: true })]]),
      }),
    );
    expect(plan).toEqual(
      expected === "starts"
        ? { ...nothing, start: [10] }
        : { ...nothing, finish: [{ runId: 10, status: "skipped", reason: "routine paused" }] },
    );
    expect(firedWhilePaused({ trigger, startedBefore })).toBe(expected === "starts");
  });

  it("skips a paused routine's run whichever worker looks, labels or not", () => {
    const plan = planClaim(
      situation({
        routines: new Map([[1, routine({ paused: true, requires: ["gpu"] })]]),
        labels: ["shell"],
      }),
    );
    expect(plan.finish).toEqual([{ runId: 10, status: "skipped", reason: "routine paused" }]);
    expect(plan.unsuitable).toBe(0);
  });

  it.each([
    // requires, this worker's labels → starts?
    [[], ["shell"], true],
    [["shell"], ["shell", "gpu"], true],
    [["gpu"], ["shell"], false],
    [["shell", "gpu"], ["shell"], false],
    [["gpu"], undefined, true], // no labels given: the worker takes anything (`loopd run`)
  ] as const)("requires %j, worker labels %j: starts %s", (requires, labels, starts) => {
    const plan = planClaim(
      situation({
        routines: new Map([[1, routine({ requires })]]),
        ...(labels !== undefined ? { labels } : {}),
      }),
    );
    expect(plan).toEqual(starts ? { ...nothing, start: [10] } : { ...nothing, unsuitable: 1 });
  });

  it("applies the overlap policy against the runs going: skip, queue behind the blocker's lease", () => {
    const running = new Map([[1, [going(3, { leaseUntil: 7000 })]]]);
    expect(planClaim(situation({ running }))).toEqual({
      ...nothing,
      finish: [{ runId: 10, status: "skipped", reason: "overlap skip: run 3 still running" }],
    });
    expect(
      planClaim(situation({ running, routines: new Map([[1, routine({ overlap: "queue" })]]) })),
    ).toEqual({
      ...nothing,
      wait: [{ runId: 10, notBefore: 7000, reason: "overlap queue: waiting for run 3" }],
    });
    expect(
      planClaim(situation({ running, routines: new Map([[1, routine({ overlap: "allow" })]]) })).start,
    ).toEqual([10]);
  });

  it("a run waiting behind one not started yet looks again at the horizon of a lease taken now", () => {
    const plan = planClaim(
      situation({
        candidates: [queued(10)],
        routines: new Map([[1, routine({ overlap: "queue" })]]),
        inLine: new Map([[1, [{ id: 4, dueAt: 500 }]]]),
      }),
    );
    expect(plan.wait).toEqual([{ runId: 10, notBefore: LEASE, reason: "overlap queue: waiting for run 4" }]);
  });

  it("starts runs in line one at a time, oldest first, and an on-time run after them", () => {
    const plan = planClaim(
      situation({
        candidates: [
          queued(11, { dueAt: 2000, trigger: "catch-up" }),
          queued(10, { dueAt: 1000, trigger: "catch-up" }),
          queued(12, { dueAt: 3000 }),
        ],
        routines: new Map([[1, routine({ overlap: "queue" })]]),
        inLine: new Map([
          [
            1,
            [
              { id: 10, dueAt: 1000 },
              { id: 11, dueAt: 2000 },
            ],
          ],
        ]),
      }),
    );
    // 11 waits for the older 10 still in line; 10 starts; 12 queues behind the one going.
    expect(plan.start).toEqual([10]);
    expect(plan.wait).toEqual([
      {
        runId: 11,
        notBefore: LEASE,
        reason: "in line: waiting for run 10 (catch-up runs and retries start one at a time)",
      },
      { runId: 12, notBefore: LEASE, reason: "overlap queue: waiting for run 10" },
    ]);
  });

  it("a run in line this claim set waiting no longer goes first: the on-time run meets the cap, not the skip", () => {
    const plan = planClaim(
      situation({
        candidates: [queued(10, { dueAt: 1000, trigger: "catch-up" }), queued(12, { dueAt: 3000 })],
        inLine: new Map([[1, [{ id: 10, dueAt: 1000 }]]]),
        runningPerRepo: new Map([["/repo", 2]]),
        perRepo: 2,
      }),
    );
    expect(plan).toEqual({
      ...nothing,
      wait: [
        { runId: 10, notBefore: LEASE, reason: "concurrency: 2 run(s) already in /repo" },
        { runId: 12, notBefore: LEASE, reason: "concurrency: 2 run(s) already in /repo" },
      ],
    });
  });

  it("cancel-previous cancels on-time runs going elsewhere, and never starts one it supersedes in this batch", () => {
    const plan = planClaim(
      situation({
        candidates: [queued(10), queued(11)],
        routines: new Map([[1, routine({ overlap: "cancel-previous" })]]),
        running: new Map([[1, [going(3)]]]),
      }),
    );
    expect(plan).toEqual({
      ...nothing,
      start: [11],
      finish: [
        { runId: 3, status: "canceled", reason: "overlap cancel-previous: superseded by run 10" },
        { runId: 10, status: "canceled", reason: "overlap cancel-previous: superseded by run 11" },
      ],
      canceled: [3],
    });
  });

  it("cancel-previous does not cancel a run in line: the new run waits for it", () => {
    const plan = planClaim(
      situation({
        routines: new Map([[1, routine({ overlap: "cancel-previous" })]]),
        running: new Map([[1, [going(3, { inLine: true, leaseUntil: 9000 })]]]),
      }),
    );
    expect(plan).toEqual({
      ...nothing,
      wait: [
        {
          runId: 10,
          notBefore: 9000,
          reason: "in line: waiting for run 3 (cancel-previous does not cancel a catch-up run or a retry)",
        },
      ],
    });
  });

  it("caps running runs per repo, counting the runs this claim starts", () => {
    const plan = planClaim(
      situation({
        candidates: [queued(10), queued(20, { routineId: 2 }), queued(30, { routineId: 3 })],
        routines: new Map([
          [1, routine({ repo: "/a" })],
          [2, routine({ repo: "/a" })],
          [3, routine({ repo: "/b" })],
        ]),
        runningPerRepo: new Map([["/b", 1]]),
        perRepo: 1,
      }),
    );
    expect(plan).toEqual({
      ...nothing,
      start: [10],
      wait: [
        { runId: 20, notBefore: LEASE, reason: "concurrency: 1 run(s) already in /a" },
        { runId: 30, notBefore: LEASE, reason: "concurrency: 1 run(s) already in /b" },
      ],
    });
  });

  it("overlap goes before the repo cap, and a run waiting on the cap cancels nothing", () => {
    const full = { runningPerRepo: new Map([["/repo", 1]]), perRepo: 1 };
    expect(planClaim(situation({ ...full, running: new Map([[1, [going(3)]]]) })).finish).toEqual([
      { runId: 10, status: "skipped", reason: "overlap skip: run 3 still running" },
    ]);
    const plan = planClaim(
      situation({
        ...full,
        routines: new Map([[1, routine({ overlap: "cancel-previous" })]]),
        running: new Map([[1, [going(3)]]]),
      }),
    );
    expect(plan).toEqual({
      ...nothing,
      wait: [{ runId: 10, notBefore: LEASE, reason: "concurrency: 1 run(s) already in /repo" }],
    });
  });

  it("fails loudly on a run whose routine was not read", () => {
    expect(() => planClaim(situation({ routines: new Map() }))).toThrow("run 10 has no routine 1");
  });
});

describe("claimCapacity", () => {
  it.each([
    [4, undefined, 100, 4],
    [4, 10, 3, 4],
    [4, 10, 8, 2],
    [4, 10, 10, 0], // saturated
    [4, 2, 5, -3], // over the cap (lowered while runs went): saturated too
  ])("limit %s, global cap %s, %s running → %s", (limit, cap, running, expected) => {
    expect(claimCapacity(limit, cap, running)).toBe(expected);
  });
});
