/** The model router: rules, explicit tiers, escalation, the history prior, exploration, budgets. */
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../test/helpers/prng.js";
import { shellSpec } from "../../test/helpers/specs.js";
import {
  expectedCost,
  expectedSuccess,
  type RouteInput,
  type RoutingRule,
  routeRun,
  tierOrder,
} from "./router.js";
import type { RoutineSpec } from "./routine-spec.js";

const TIERS = ["fast", "medium", "strong"];
const NOMINAL = { fast: 0.05, medium: 0.15, strong: 0.5 };
const VERIFY = { command: "npm test", timeout: "10m", timeoutMs: 600_000 };

function input(overrides: Partial<RouteInput> = {}, spec: Partial<RoutineSpec> = {}): RouteInput {
  return {
    spec: shellSpec("nightly", { harness: "builtin", task: { kind: "prompt", prompt: "fix it" }, ...spec }),
    tiers: TIERS,
    rules: [],
    explore: 0,
    history: {},
    nominalCostUsd: NOMINAL,
    promptChars: 1_000,
    lastChangedFiles: null,
    failingTests: null,
    budgetLeft: null,
    escalation: null,
    random: () => 0.99,
    ...overrides,
  };
}

const rule = (name: string, when: RoutingRule["when"], tier = "fast"): RoutingRule => ({ name, when, tier });

describe("routeRun: rules", () => {
  const routed = (
    when: RoutingRule["when"],
    overrides: Partial<RouteInput> = {},
    spec: Partial<RoutineSpec> = {},
  ) => routeRun(input({ rules: [rule("r", when)], ...overrides }, spec));

  it("matches a template rule only for routines on that template", () => {
    const template = { name: "deps", params: {} };
    expect(routed({ template: "deps" }, {}, { template })).toEqual({
      kind: "tier",
      tier: "fast",
      reason: "fast: rule `r`",
    });
    expect(routed({ template: "docs" }, {}, { template }).reason).not.toContain("rule");
    expect(routed({ template: "deps" }).reason).not.toContain("rule");
  });

  it("matches labels when the routine carries any of them", () => {
    expect(routed({ labels: ["docs", "chore"] }, {}, { labels: ["chore"] }).reason).toBe("fast: rule `r`");
    expect(routed({ labels: ["docs"] }, {}, { labels: ["chore"] }).reason).not.toContain("rule");
  });

  it("matches the repo with * wildcards, slashes included", () => {
    expect(routed({ repo: "github.com/acme/*" }, {}, { repo: "github.com/acme/web" }).reason).toContain(
      "rule",
    );
    expect(routed({ repo: "/srv/*-docs" }, {}, { repo: "/srv/api-docs" }).reason).toContain("rule");
    expect(routed({ repo: "github.com/acme/*" }, {}, { repo: "github.com/other/web" }).reason).not.toContain(
      "rule",
    );
  });

  it("matches files only when every changed file matches one glob", () => {
    const when = { files: ["docs/**", "*.md"] };
    expect(routed(when, { lastChangedFiles: ["README.md", "docs/a/b.txt"] }).reason).toContain("rule");
    expect(routed(when, { lastChangedFiles: ["README.md", "src/index.ts"] }).reason).not.toContain("rule");
    expect(routed(when, { lastChangedFiles: [] }).reason).not.toContain("rule");
    expect(routed(when, { lastChangedFiles: null }).reason).not.toContain("rule");
  });

  it("matches prompt length and failing tests within inclusive ranges", () => {
    expect(routed({ promptChars: { max: 1_000 } }).reason).toContain("rule");
    expect(routed({ promptChars: { min: 1_001 } }).reason).not.toContain("rule");
    expect(routed({ failingTests: { min: 1, max: 3 } }, { failingTests: 3 }).reason).toContain("rule");
    expect(routed({ failingTests: { min: 1, max: 3 } }, { failingTests: 4 }).reason).not.toContain("rule");
    expect(routed({ failingTests: { max: 3 } }, { failingTests: null }).reason).not.toContain("rule");
  });

  it("requires every condition of a rule to hold", () => {
    const when = { labels: ["docs"], promptChars: { max: 500 } };
    expect(routed(when, {}, { labels: ["docs"] }).reason).not.toContain("rule");
    expect(routed(when, { promptChars: 400 }, { labels: ["docs"] }).reason).toContain("rule");
  });

  it("takes the first matching rule, and an empty `when` matches everything", () => {
    const rules = [
      rule("nope", { labels: ["x"] }, "medium"),
      rule("docs-only", {}, "fast"),
      rule("all", {}, "strong"),
    ];
    expect(routeRun(input({ rules })).reason).toBe("fast: rule `docs-only`");
  });

  it("prefers the routine's explicit tier over rules", () => {
    const decision = routeRun(input({ rules: [rule("all", {}, "strong")] }, { tier: "fast" }));
    expect(decision).toEqual({ kind: "tier", tier: "fast", reason: "fast: set on the routine" });
  });
});

describe("routeRun: escalation", () => {
  const failed = (failedTier: string) => ({ escalation: { failedTier, summary: "tests fail" } });

  it("walks the routine's escalate list in order and refuses past its end", () => {
    const spec = { tier: "fast", escalate: ["medium", "strong"], verify: VERIFY };
    expect(routeRun(input(failed("fast"), spec))).toEqual({
      kind: "tier",
      tier: "medium",
      reason: "medium: escalated after fast failed verification",
    });
    expect(routeRun(input(failed("medium"), spec)).reason).toBe(
      "strong: escalated after medium failed verification",
    );
    expect(routeRun(input(failed("strong"), spec))).toEqual({
      kind: "refuse",
      reason: "strong failed verification and there is no stronger tier to escalate to",
    });
  });

  it("skips list entries weaker than a tier that was routed outside the list", () => {
    const spec = { escalate: ["fast", "strong"], verify: VERIFY };
    expect(routeRun(input(failed("medium"), spec)).reason).toBe(
      "strong: escalated after medium failed verification",
    );
  });

  it("goes to the next stronger tier without a list, and beats the explicit tier", () => {
    expect(routeRun(input(failed("fast"), { tier: "fast" })).reason).toBe(
      "medium: escalated after fast failed verification",
    );
    expect(routeRun(input(failed("strong"))).kind).toBe("refuse");
  });

  it("refuses rather than retry a cheaper tier when the budget cannot pay for the next one", () => {
    const decision = routeRun(input({ ...failed("medium"), budgetLeft: { usd: 0.2, window: "day" } }));
    expect(decision).toEqual({
      kind: "refuse",
      reason: "medium failed verification; strong would cost ~$0.50, $0.20 left today",
    });
  });
});

describe("routeRun: history", () => {
  const twoTiers = { tiers: ["fast", "strong"], nominalCostUsd: { fast: 0.1, strong: 0.5 } };

  it("starts a new routine with a verify check on the cheap tier (the prior backs it with escalation)", () => {
    const decision = routeRun(input(twoTiers, { verify: VERIFY }));
    // fast then strong: 0.6 + 0.4 · 0.9 = 96 % verified for 0.1 + 0.4 · 0.5 = $0.30.
    expect(decision).toEqual({
      kind: "tier",
      tier: "fast",
      reason: "fast: est. 96 % verified, ~$0.3125 per verified run (no history yet, prior only)",
    });
  });

  it("starts a new routine without a check on the strong tier: 60 % is not within reach of 90 %", () => {
    expect(routeRun(input(twoTiers)).reason).toBe(
      "strong: est. 90 % verified, ~$0.5556 per verified run (no history yet, prior only)",
    );
  });

  it("moves to the strong tier after many cheap failures", () => {
    const history = {
      fast: { runs: 12, verified: 1, meanCostUsd: 0.1 },
      strong: { runs: 3, verified: 3, meanCostUsd: 0.5 },
    };
    const decision = routeRun(input({ ...twoTiers, history }, { verify: VERIFY }));
    expect(decision.kind === "tier" && decision.tier).toBe("strong");
    expect(decision.reason).toContain("(15 past runs)");
  });

  it("keeps the cheap tier without a check once it has proven itself", () => {
    const history = {
      fast: { runs: 30, verified: 29, meanCostUsd: 0.1 },
      strong: { runs: 2, verified: 2, meanCostUsd: 0.5 },
    };
    expect(routeRun(input({ ...twoTiers, history })).reason).toMatch(/^fast: est\. 94 % verified/);
  });

  it("picks the cheapest eligible tier by order when costs are unknown", () => {
    const decision = routeRun(input({ nominalCostUsd: {} }, { verify: VERIFY }));
    expect(decision.kind === "tier" && decision.tier).toBe("fast");
    expect(decision.reason).not.toContain("$");
  });

  it("explores another tier at the configured rate with a seeded random", () => {
    const random = mulberry32(42);
    let explored = 0;
    for (let i = 0; i < 2_000; i++) {
      const decision = routeRun(input({ ...twoTiers, explore: 0.1, random }, { verify: VERIFY }));
      if (decision.kind === "tier" && decision.tier === "strong") {
        expect(decision.reason).toBe("strong: exploring (10 % of runs try another tier than fast)");
        explored++;
      }
    }
    expect(explored).toBeGreaterThan(160);
    expect(explored).toBeLessThan(240);
  });

  it("never explores away from an explicit tier", () => {
    expect(routeRun(input({ explore: 1, random: () => 0 }, { tier: "fast" })).reason).toBe(
      "fast: set on the routine",
    );
  });
});

describe("routeRun: budget guard", () => {
  it("downgrades to the strongest cheaper tier that fits the money left", () => {
    const decision = routeRun(input({ budgetLeft: { usd: 0.4, window: "day" } }, { tier: "strong" }));
    expect(decision).toEqual({
      kind: "tier",
      tier: "medium",
      reason: "medium: downgraded from strong, $0.40 left today",
    });
    expect(routeRun(input({ budgetLeft: { usd: 0.08, window: "month" } }, { tier: "strong" })).reason).toBe(
      "fast: downgraded from strong, $0.08 left this month",
    );
  });

  it("refuses when no tier fits today, or nothing is left at all", () => {
    expect(routeRun(input({ budgetLeft: { usd: 0.0125, window: "day" } }, { tier: "strong" }))).toEqual({
      kind: "refuse",
      reason: "strong (set on the routine) would cost ~$0.50 and no tier fits: $0.0125 left today",
    });
    expect(
      routeRun(input({ nominalCostUsd: {}, budgetLeft: { usd: 0, window: "day" } }, { tier: "fast" })).kind,
    ).toBe("refuse");
  });

  it("runs the cheapest tier when only the per-run cap is too small: the cap stops it, no lock-out", () => {
    expect(routeRun(input({ budgetLeft: { usd: 0.01, window: "run" } }, { tier: "strong" }))).toEqual({
      kind: "tier",
      tier: "fast",
      reason:
        "fast: no tier is expected to fit $0.01 left for this run, so the cheapest runs and the cap stops it",
    });
  });

  it("judges a tier by its median run, so one overshoot does not make it unaffordable", () => {
    const history = { strong: { runs: 5, verified: 5, meanCostUsd: 0.9, medianCostUsd: 0.1 } };
    const decision = routeRun(
      input({ history, nominalCostUsd: {}, budgetLeft: { usd: 0.2, window: "day" } }, { tier: "strong" }),
    );
    expect(decision).toEqual({ kind: "tier", tier: "strong", reason: "strong: set on the routine" });
  });

  it("lets a tier with no cost estimate through (run-time caps still apply)", () => {
    const decision = routeRun(
      input({ nominalCostUsd: {}, budgetLeft: { usd: 0.01, window: "day" } }, { tier: "strong" }),
    );
    expect(decision.reason).toBe("strong: set on the routine");
  });
});

describe("router helpers", () => {
  it("orders tiers as declared under `models`", () => {
    expect(tierOrder({ fast: {}, strong: {} })).toEqual(["fast", "strong"]);
    expect(tierOrder(undefined)).toEqual([]);
  });

  it("blends the routine's mean cost with the nominal cost, weighted as two runs", () => {
    const history = { fast: { runs: 2, verified: 2, meanCostUsd: 0.3 } };
    expect(expectedCost(history, "fast", { fast: 0.1 })).toBeCloseTo(0.2);
    expect(expectedCost(history, "fast")).toBe(0.3);
    expect(expectedCost({}, "fast")).toBeNull();
  });

  it("interpolates the prior between the cheapest and the strongest tier", () => {
    expect(expectedSuccess({}, TIERS, "fast")).toBeCloseTo(0.6);
    expect(expectedSuccess({}, TIERS, "medium")).toBeCloseTo(0.75);
    expect(
      expectedSuccess({ strong: { runs: 8, verified: 4, meanCostUsd: 1 } }, TIERS, "strong"),
    ).toBeCloseTo(0.58);
  });
});
