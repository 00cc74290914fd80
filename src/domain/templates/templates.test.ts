import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfigText } from "../../config/load-config.js";
import { LoopdError } from "../errors.js";
import { toRoutineSpec } from "../routine-spec.js";
import { routineConfigOf, routineYaml } from "../routine-yaml.js";
import { expandRoutine, TEMPLATES, templateParamDocs } from "./index.js";

const DIR = "/home/me/project";

function specOf(routine: Record<string, unknown>) {
  const config = parseConfigText(JSON.stringify({ routines: [routine] }), "loopd.yaml");
  return toRoutineSpec(config.routines[0]!, 0, {
    configDir: DIR,
    defaultTimeZone: "UTC",
    config: { models: config.models },
  });
}

function configError(routine: Record<string, unknown>): LoopdError {
  try {
    parseConfigText(JSON.stringify({ routines: [routine] }), "loopd.yaml");
  } catch (error) {
    if (error instanceof LoopdError) return error;
  }
  throw new Error("expected a config error");
}

describe("templates", () => {
  it("expand to a plain routine: the template's prompt, schedule, budget and loop", () => {
    const spec = specOf({ name: "babysit", template: "pr-babysit", params: { repo: "acme/shop" } });
    expect(spec.task.kind).toBe("prompt");
    expect(spec.trigger).toMatchObject({ kind: "every", every: "1m" });
    expect(spec.budget).toEqual({ perRun: 2, perDay: 10 });
    expect(spec.loop).toEqual({
      kind: "pr-babysit",
      repo: "acme/shop",
      prs: "mine",
      update: "merge",
      fix: true,
      maxPrs: 10,
      retryFlaky: 1,
    });
    expect(spec.template).toEqual({ name: "pr-babysit", params: { repo: "acme/shop" } });
  });

  it("expand issue-to-pr to a scheduled routine that the label's webhook also fires", () => {
    const spec = specOf({ name: "fix", template: "issue-to-pr", params: { repo: "acme/shop" } });
    expect(spec.trigger).toMatchObject({ kind: "every", every: "10m" });
    expect(spec.events).toEqual([{ github: "issues.labeled", label: "loopd", repo: "acme/shop" }]);
    expect(spec.loop).toEqual({
      kind: "issue-to-pr",
      repo: "acme/shop",
      label: "loopd",
      branchPrefix: "loopd/issue-",
      maxIssues: 10,
    });
  });

  it("let the routine's own fields override the template's, a schedule as a whole", () => {
    const spec = specOf({
      name: "babysit",
      template: "pr-babysit",
      params: { repo: "acme/shop" },
      cron: "*/5 * * * *",
      prompt: "Fix it my way",
      budget: { perRun: 1 },
    });
    expect(spec.trigger.kind).toBe("cron");
    expect(spec.task).toEqual({ kind: "prompt", prompt: "Fix it my way" });
    expect(spec.budget).toEqual({ perRun: 1 });
  });

  it("name the param in validation errors, with the templates command as the hint", () => {
    const wrong = configError({
      name: "b",
      template: "pr-babysit",
      params: { repo: "acme/shop", prs: "some" },
    });
    expect(wrong.code).toBe("LOOPD_CONFIG_INVALID");
    expect(wrong.message).toContain("routines[0].params.prs: mine, all or label:<name>");
    expect(wrong.hint).toContain("loopd templates");
    expect(configError({ name: "b", template: "pr-babysit", params: {} }).message).toContain(
      "routines[0].params.repo",
    );
    expect(
      configError({ name: "b", template: "pr-babysit", params: { repo: "a/b", retries: 2 } }).message,
    ).toContain('unknown param "retries" of template pr-babysit');
    expect(configError({ name: "b", template: "nope" }).message).toContain(
      'unknown template "nope"; built in: pr-babysit',
    );
    expect(
      configError({ name: "b", template: "issue-to-pr", params: { repo: "a/b", maxIssues: 0 } }).message,
    ).toContain("routines[0].params.maxIssues");
  });

  it("show as written, or expanded to the plain routine, and both read back to the same spec", () => {
    const written = {
      name: "babysit",
      template: "pr-babysit",
      params: { repo: "acme/shop", retryFlaky: 2 },
      verify: { command: "npm test" },
      timeout: "20m",
    };
    const spec = specOf(written);
    const shown = routineConfigOf(spec, { configDir: DIR });
    expect(shown).toEqual({ ...written, harness: "claude" });
    const expanded = parse(routineYaml(spec, { configDir: DIR, expanded: true })) as Record<string, unknown>;
    expect(expanded.template).toBeUndefined();
    expect(expanded.loop).toMatchObject({ kind: "pr-babysit", retryFlaky: 2 });
    expect(expanded.prompt).toContain("pull request");
    const { template: _t, ...plain } = specOf(expanded);
    const { template: _w, ...fromWritten } = spec;
    expect(plain).toEqual(fromWritten);
  });

  it("document every param", () => {
    for (const template of TEMPLATES) {
      for (const param of templateParamDocs(template)) expect(param.description, param.name).not.toBe("");
    }
    const docs = templateParamDocs(TEMPLATES[0]!);
    expect(docs.find((param) => param.name === "repo")).toMatchObject({ required: true });
    expect(docs.find((param) => param.name === "prs")).toMatchObject({ required: false, default: "mine" });
  });

  it("write examples that are valid once the repository is filled in", () => {
    for (const template of TEMPLATES.filter((t) => t.ready)) {
      const routine = parse(template.example.replace("<owner>/<name>", "acme/shop")) as Record<
        string,
        unknown
      >;
      expect("template" in expandRoutine(routine as { template?: string })).toBe(false);
      expect(() => specOf(routine)).not.toThrow();
    }
  });
});
