/**
 * feedback-triage's theme titles from the cheap tier: with `models` declared (the first tier
 * is the cheapest), a tick with new feedback names its new themes in ONE side request to the
 * fake model server (Anthropic Messages, the tier's baseUrl), the titles are what the digest
 * and `loopd feedback` show, and the request is a ledger row of the run. A tick with no new
 * items makes zero model requests; a failed request leaves the new theme its top terms.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FeedbackClusterView } from "../src/app/feedback.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { type LabelledItem, labelledFeedback, THEMES } from "./helpers/feedback-data.js";
import type { ModelRequest, ScriptedReply } from "./support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const jsonl = (items: readonly LabelledItem[]) =>
  items.map((item) => `${JSON.stringify({ id: item.id, text: item.text })}\n`).join("");

/** The prompt's text, whatever the SDK's message shape. */
const promptOf = (request: ModelRequest) => JSON.stringify(request.body.messages ?? "");

describe("feedback-triage theme titles", () => {
  let model: FakeModelServer;
  let root: string;
  let env: Record<string, string>;
  let failTitles = false;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  const tick = async () => {
    const result = await loopd("run", "survey", "--wait", "--json");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return json<{ id: number; status: string; summary: string | null }>(result);
  };
  const themes = async () =>
    json<FeedbackClusterView[]>(await loopd("feedback", "--json", "--routine", "survey"));
  const sideRequests = () => model.requests.filter((request) => !request.hasTools);

  beforeAll(async () => {
    model = await startFakeModelServer({
      script: [],
      // Titles for every theme id the prompt names, as the JSON object asked for.
      sideReply: (request): ScriptedReply => {
        if (failTitles) return { status: 529, errorMessage: "Overloaded" };
        const ids = [...promptOf(request).matchAll(/Theme (c\d+)/g)].map((match) => match[1]!);
        const titles = Object.fromEntries(ids.map((id) => [id, `Users report theme ${id}`]));
        return { text: `\`\`\`json\n${JSON.stringify(titles)}\n\`\`\``, usage: { input: 400, output: 30 } };
      },
    });
    root = mkdtempSync(join(tmpdir(), "loopd-feedback-titles-"));
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: root,
      LOOPD_HOME: join(root, "home"),
      ANTHROPIC_API_KEY: "sk-ant-fake-titles",
      NO_PROXY: "127.0.0.1,localhost",
    };
    writeFileSync(
      join(root, "loopd.yaml"),
      `models:
  cheap: { harness: claude, model: claude-haiku-4-5, baseUrl: "${model.url}" }
  strong: { harness: claude, model: claude-sonnet-4-5, baseUrl: "${model.url}" }
routines:
  - name: survey
    template: feedback-triage
    params: { sources: [{ file: feedback.jsonl }] }
`,
    );
    writeFileSync(join(root, "feedback.jsonl"), "");
    const applied = await loopd("apply");
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    await model?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("names new themes in one cheap-tier request, asks nothing when nothing is new, and keeps terms when it fails", async () => {
    appendFileSync(
      join(root, "feedback.jsonl"),
      jsonl(labelledFeedback({ seed: 3, themes: THEMES.slice(0, 3), perTheme: 8, duplicates: 0 })),
    );
    const first = await tick();
    expect(first.status, first.summary ?? "").toBe("succeeded");
    expect(sideRequests()).toHaveLength(1);
    const [request] = sideRequests();
    expect(request).toMatchObject({ protocol: "anthropic", model: "claude-haiku-4-5" });
    expect(request!.headers["x-api-key"]).toBe("sk-ant-fake-titles");
    const named = await themes();
    expect(named.length).toBeGreaterThanOrEqual(3);
    for (const theme of named) expect(theme.title).toBe(`Users report theme ${theme.id}`);
    expect(first.summary).toContain(`**${named[0]!.id}** Users report theme ${named[0]!.id}`);
    // The request is in the ledger, on the cheap tier and this routine.
    const costs = await loopd("costs", "--by", "tier", "--routine", "survey", "--json");
    expect(costs.code, costs.stderr).toBe(0);
    expect(costs.stdout).toContain('"cheap"');

    // Nothing new: zero model requests of any kind.
    const before = model.requests.length;
    const idle = await tick();
    expect(idle.summary).toMatch(/^no new feedback/);
    expect(model.requests).toHaveLength(before);

    // A new theme while the tier fails: one request, the run succeeds, the theme keeps its terms.
    failTitles = true;
    appendFileSync(
      join(root, "feedback.jsonl"),
      jsonl(labelledFeedback({ seed: 4, themes: [THEMES[5]!], perTheme: 8, duplicates: 0, idPrefix: "n" })),
    );
    const third = await tick();
    expect(third.status, third.summary ?? "").toBe("succeeded");
    expect(model.requests).toHaveLength(before + 1);
    const after = await themes();
    const fresh = after.filter((theme) => !named.some((old) => old.id === theme.id));
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    for (const theme of fresh) expect(theme.title).toBeNull();
    for (const theme of named) {
      const now = after.find((candidate) => candidate.id === theme.id);
      if (now && now.status !== "resolved") expect(now.title).toBe(`Users report theme ${theme.id}`);
    }
  }, 120_000);
});
