import { describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { planApply, type StoredRoutine } from "./apply-plan.js";
import type { RoutineSpec } from "./routine-spec.js";
import { specHash } from "./routine-spec.js";

const spec = shellSpec;

const declared = (s: RoutineSpec) => ({ spec: s, specHash: specHash(s) });
const stored = (
  s: RoutineSpec,
  source: string | null = "/a/loopd.yaml",
  state: "active" | "paused" = "active",
  pausedCode: string | null = state === "paused" ? "removed" : null,
  pausedReason: string | null = state === "paused" ? "no longer in loopd.yaml" : null,
): StoredRoutine => ({
  name: s.name,
  source,
  spec: s,
  specHash: specHash(s),
  state,
  pausedCode,
  pausedReason,
});
const base = {
  source: "/a/loopd.yaml",
  sourceLabel: "loopd.yaml",
  declaredSettings: {},
  storedSettings: {},
  prune: false,
};

describe("planApply", () => {
  it("creates new routines and leaves identical ones alone", () => {
    const plan = planApply({
      ...base,
      declared: [declared(spec("a")), declared(spec("b"))],
      stored: [stored(spec("b"))],
    });
    expect(plan.changes.map((change) => [change.action, change.name])).toEqual([
      ["create", "a"],
      ["unchanged", "b"],
    ]);
  });

  it("lists the fields an update changes", () => {
    const after = spec("a", { timeout: "5m", timeoutMs: 300_000, overlap: "queue" });
    const plan = planApply({ ...base, declared: [declared(after)], stored: [stored(spec("a"))] });
    expect(plan.changes).toEqual([
      expect.objectContaining({ action: "update", fields: ["overlap", "timeout", "timeoutMs"] }),
    ]);
  });

  it("pauses a routine its file no longer declares, or removes it with prune", () => {
    const input = { ...base, declared: [], stored: [stored(spec("gone"))] };
    expect(planApply(input).changes).toEqual([
      { action: "pause", name: "gone", reason: "no longer in loopd.yaml" },
    ]);
    expect(planApply({ ...input, prune: true }).changes).toEqual([
      { action: "remove", name: "gone", reason: "no longer in loopd.yaml" },
    ]);
  });

  it("does not touch routines owned by another file or created by hand", () => {
    const plan = planApply({
      ...base,
      declared: [],
      stored: [stored(spec("other"), "/b/loopd.yaml"), stored(spec("manual"), null)],
      prune: true,
    });
    expect(plan.changes).toEqual([]);
  });

  it("does not pause an already paused orphan twice", () => {
    expect(
      planApply({ ...base, declared: [], stored: [stored(spec("gone"), "/a/loopd.yaml", "paused")] }).changes,
    ).toEqual([]);
  });

  it("resumes a routine put back in its file, with any change it brings", () => {
    const gone = stored(spec("back"), "/a/loopd.yaml", "paused");
    expect(planApply({ ...base, declared: [declared(spec("back"))], stored: [gone] }).changes).toEqual([
      expect.objectContaining({ action: "resume", name: "back", reason: "back in loopd.yaml", fields: [] }),
    ]);
    const changed = spec("back", { overlap: "queue" });
    expect(planApply({ ...base, declared: [declared(changed)], stored: [gone] }).changes).toEqual([
      expect.objectContaining({ action: "resume", fields: ["overlap"] }),
    ]);
  });

  it("resumes one paused for leaving before paused_code existed (only its words recorded)", () => {
    const legacy = stored(spec("back"), "/a/loopd.yaml", "paused", null, "no longer in loopd.yaml");
    expect(planApply({ ...base, declared: [declared(spec("back"))], stored: [legacy] }).changes).toEqual([
      expect.objectContaining({ action: "resume", name: "back" }),
    ]);
  });

  it.each([
    ["user", "paused by hand"],
    ["LOOPD_AUTH_EXPIRED", "login expired"],
    ["LOOPD_ROUTINE_FAILING", "5 failed runs in a row"],
    [null, "declared paused"],
  ])("leaves a routine paused for another reason (%s) paused when its file declares it", (code, reason) => {
    const paused = stored(spec("kept"), "/a/loopd.yaml", "paused", code, reason);
    expect(planApply({ ...base, declared: [declared(spec("kept"))], stored: [paused] }).changes).toEqual([
      { action: "unchanged", name: "kept" },
    ]);
  });

  it("takes over a routine of the same name from another source", () => {
    const plan = planApply({ ...base, declared: [declared(spec("a"))], stored: [stored(spec("a"), null)] });
    expect(plan.changes).toEqual([expect.objectContaining({ action: "update", fields: ["source"] })]);
  });

  it("reports which config-wide settings change", () => {
    const plan = planApply({
      ...base,
      declared: [],
      stored: [],
      declaredSettings: { models: { fast: { harness: "claude", model: "m" } }, budgets: {} },
      storedSettings: { models: {}, budgets: {} },
    });
    expect(plan.settings).toEqual(["models"]);
  });

  it("lists only the sections the file sets on the first apply", () => {
    const plan = planApply({
      ...base,
      declared: [],
      stored: [],
      declaredSettings: { dates: {}, models: {}, channels: { me: { type: "desktop" } }, github: {} },
      storedSettings: undefined,
    });
    expect(plan.settings).toEqual(["channels"]);
    // A store written before a section existed: the new, empty section is no change.
    const older = planApply({
      ...base,
      declared: [],
      stored: [],
      declaredSettings: { models: {}, git: {} },
      storedSettings: { models: {} },
    });
    expect(older.settings).toEqual([]);
  });
});
