import { describe, expect, it } from "vitest";
import type { PullDetail } from "../../github/index.js";
import { ciState, freshMemory, HOUR, MINUTE, memoryFor, nextLook, pushRefusal } from "./assess.js";

const pull = (overrides: Partial<PullDetail> = {}): PullDetail =>
  ({
    number: 7,
    head: { ref: "feature/x", sha: "abc", repo: "acme/shop", cloneUrl: null },
    author: "me",
    fromFork: false,
    maintainerCanModify: false,
    ...overrides,
  }) as PullDetail;
const rules = { defaultBranch: "main", protectedHead: false, pushBranches: undefined, me: "me" };

describe("pr-babysit guard rails (pushRefusal)", () => {
  it("pushes to the token user's own PR branches by default", () => {
    expect(pushRefusal(pull(), rules)).toBeNull();
    expect(pushRefusal(pull({ author: "someone" }), rules)).toContain("not authored by me");
  });

  it("follows pushBranches when given, whoever wrote the PR", () => {
    const glob = { ...rules, pushBranches: "feature/**" };
    expect(pushRefusal(pull({ author: "someone" }), glob)).toBeNull();
    expect(
      pushRefusal(pull({ head: { ref: "hotfix/y", sha: "a", repo: null, cloneUrl: null } }), glob),
    ).toContain("outside pushBranches (feature/**)");
  });

  it("never pushes to the default branch, a protected branch, or a fork that does not allow it", () => {
    const onMain = pull({ head: { ref: "main", sha: "a", repo: "acme/shop", cloneUrl: null } });
    expect(pushRefusal(onMain, { ...rules, pushBranches: "**" })).toContain("default branch");
    expect(pushRefusal(pull(), { ...rules, protectedHead: true })).toContain("protected");
    expect(pushRefusal(pull({ fromFork: true }), rules)).toContain("fork");
    expect(pushRefusal(pull({ fromFork: true, maintainerCanModify: true }), rules)).toBeNull();
  });
});

describe("pr-babysit assessment", () => {
  it("reads CI as red, pending or green from check runs and statuses", () => {
    const run = (status: string, conclusion: string | null) => ({ name: "t", status, conclusion }) as never;
    expect(ciState([run("completed", "success")], [])).toBe("green");
    expect(ciState([], [])).toBe("green");
    expect(ciState([run("in_progress", null), run("completed", "failure")], [])).toBe("red");
    expect(ciState([run("queued", null)], [])).toBe("pending");
    expect(ciState([], [{ context: "ci", state: "error", description: null, targetUrl: null }])).toBe("red");
  });

  it("looks every minute while busy and backs off toward an hour while green", () => {
    let memory = freshMemory("abc");
    const intervals: number[] = [];
    for (let i = 0; i < 8; i++) {
      memory = { ...memory, ...nextLook(memory, true, 0) };
      intervals.push(memory.intervalMs);
    }
    expect(intervals[0]).toBe(2 * MINUTE);
    expect(intervals.at(-1)).toBe(HOUR);
    expect(nextLook(memory, false, 1000)).toEqual({ intervalMs: MINUTE, nextCheckAt: 1000 + MINUTE });
  });

  it("starts over on a new head, keeping the failures already attempted", () => {
    const stored = { ...freshMemory("old"), gaveUp: true, reruns: { e2e: 1 }, attempted: ["test@old:boom"] };
    expect(memoryFor(stored, "old")).toBe(stored);
    expect(memoryFor(stored, "new")).toMatchObject({
      head: "new",
      gaveUp: false,
      reruns: {},
      attempted: ["test@old:boom"],
    });
  });
});
