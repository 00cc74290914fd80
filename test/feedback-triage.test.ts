/**
 * The `feedback-triage` template end to end: `loopd run <routine> --wait` with a JSONL file
 * embedded through the fake model server's OpenAI embeddings endpoint, and with the fake
 * GitHub's open issues (labelled with their theme). The digest goes to the routine's `report`
 * rule (an outbox row per tick with news) and is the run's summary; a tick with nothing new
 * makes no model request and sends nothing; `loopd feedback --json` shows the themes.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FeedbackClusterView } from "../src/app/feedback.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { type LabelledItem, labelledFeedback, THEMES } from "./helpers/feedback-data.js";
import { spawnLoopd } from "./helpers/process.js";
import { type FakeGithub, startFakeGithub } from "./support/fake-github/server.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const TOKEN = "ghp_feedback_test_token";
const REPO = "acme/web";

interface TickJson {
  id: number;
  status: string;
  summary: string | null;
}

interface DeliveryJson {
  type: string;
  routine: string | null;
  channel: string;
}

const jsonl = (items: readonly LabelledItem[]) =>
  items
    .map(
      (item) =>
        `${JSON.stringify({ id: item.id, text: item.text, link: `https://example.com/f/${item.id}` })}\n`,
    )
    .join("");

describe("feedback-triage", () => {
  let github: FakeGithub;
  let model: FakeModelServer;
  let root: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  const tick = async (routine: string): Promise<TickJson> => {
    const result = await loopd("run", routine, "--wait", "--json");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return json<TickJson>(result);
  };
  const reports = async (routine: string) =>
    json<DeliveryJson[]>(await loopd("deliveries", "--json")).filter(
      (delivery) => delivery.type === "loop.report" && delivery.routine === routine,
    );
  const themes = async (routine: string) =>
    json<FeedbackClusterView[]>(await loopd("feedback", "--json", "--routine", routine));

  beforeAll(async () => {
    github = await startFakeGithub({ token: TOKEN });
    model = await startFakeModelServer({ script: [] });
    root = mkdtempSync(join(tmpdir(), "loopd-feedback-"));
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: root,
      LOOPD_HOME: join(root, "home"),
      OPENAI_API_KEY: "sk-fake-embeddings-key",
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.apiUrl,
      NO_PROXY: "127.0.0.1,localhost",
    };
    writeFileSync(
      join(root, "loopd.yaml"),
      `channels:
  me: { type: log }
routines:
  - name: survey
    template: feedback-triage
    params:
      sources:
        - file: feedback.jsonl
          url: link
    notify: { to: me, on: [report] }
  - name: embedded
    template: feedback-triage
    params:
      sources: [{ file: embedded.jsonl }]
      embedding: { model: text-embedding-3-small, baseUrl: "${model.url}/v1" }
    notify: { to: me, on: [report] }
  - name: issues
    template: feedback-triage
    params:
      sources: [{ github: ${REPO}, discussions: true }]
      label: true
    notify: { to: me, on: [report] }
  - name: commented
    template: feedback-triage
    params:
      sources: [{ github: acme/docs }]
      comment: true
`,
    );
    writeFileSync(join(root, "feedback.jsonl"), "");
    writeFileSync(join(root, "embedded.jsonl"), "");
    const applied = await loopd("apply");
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    await github?.close();
    await model?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("triages a JSONL file offline, sends the digest, keeps ids, reports a new theme, and sends nothing when nothing is new", async () => {
    const first = labelledFeedback({ seed: 7, themes: THEMES.slice(0, 3), perTheme: 10, duplicates: 0.1 });
    appendFileSync(join(root, "feedback.jsonl"), jsonl(first));

    const one = await tick("survey");
    expect(one.status).toBe("succeeded");
    expect(one.summary).toContain("## Feedback triage — survey");
    expect(one.summary).toContain("### New");
    expect(one.summary).toMatch(/\]\(https:\/\/example\.com\/f\/fb-\d+\)/);
    expect(await reports("survey")).toHaveLength(1);
    const before = await themes("survey");
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.every((theme) => theme.status === "new")).toBe(true);

    const idle = await tick("survey");
    expect(idle.status).toBe("succeeded");
    expect(idle.summary).toMatch(/^no new feedback/);
    expect(await reports("survey")).toHaveLength(1);

    // A new theme and more of an old one: the new one is new, the others keep their ids.
    const fresh = labelledFeedback({
      seed: 8,
      themes: [THEMES[5]!],
      perTheme: 8,
      duplicates: 0,
      idPrefix: "n",
    });
    const more = labelledFeedback({
      seed: 9,
      themes: [THEMES[0]!],
      perTheme: 4,
      duplicates: 0,
      idPrefix: "m",
    });
    appendFileSync(join(root, "feedback.jsonl"), jsonl([...fresh, ...more]));
    const three = await tick("survey");
    expect(three.summary).toContain("### New");
    expect(three.summary).toContain("### Growing");
    expect(await reports("survey")).toHaveLength(2);
    const after = await themes("survey");
    const added = after.filter((theme) => theme.status === "new");
    expect(added.length).toBeGreaterThanOrEqual(1);
    expect(
      added.some((theme) =>
        theme.representatives.every((item) => item.key.startsWith("file:feedback.jsonl:n")),
      ),
    ).toBe(true);
    const largest = before[0]!;
    expect(after.find((theme) => theme.id === largest.id)?.status).toMatch(/^(growing|steady)$/);
  });

  it("embeds only new items with the routine's embedding model, and asks it nothing when nothing is new", async () => {
    const first = labelledFeedback({ seed: 17, themes: THEMES.slice(0, 3), perTheme: 6, duplicates: 0 });
    writeFileSync(join(root, "embedded.jsonl"), jsonl(first));
    const embeddings = () => model.requests.filter((request) => request.protocol === "openai-embeddings");
    const inputs = () => embeddings().flatMap((request) => request.body.input as string[]);

    expect((await tick("embedded")).status).toBe("succeeded");
    expect(embeddings().length).toBeGreaterThan(0);
    expect(embeddings()[0]?.model).toBe("text-embedding-3-small");
    expect(embeddings()[0]?.headers.authorization).toBe("Bearer sk-fake-embeddings-key");
    expect(inputs()).toHaveLength(first.length);
    expect(await reports("embedded")).toHaveLength(1);

    const requests = model.requests.length;
    const idle = await tick("embedded");
    expect(idle.summary).toMatch(/^no new feedback/);
    expect(model.requests).toHaveLength(requests);
    expect(await reports("embedded")).toHaveLength(1);

    const later = labelledFeedback({
      seed: 18,
      themes: [THEMES[1]!],
      perTheme: 4,
      duplicates: 0,
      idPrefix: "x",
    });
    appendFileSync(join(root, "embedded.jsonl"), jsonl(later));
    expect((await tick("embedded")).status).toBe("succeeded");
    expect(inputs()).toHaveLength(first.length + later.length);
    expect(inputs().slice(first.length).sort()).toEqual(later.map((item) => item.text).sort());
  });

  it("triages open GitHub issues and discussions, labels each issue with its theme, never closing or commenting", async () => {
    const items = labelledFeedback({ seed: 9, themes: THEMES.slice(1, 3), perTheme: 6, duplicates: 0 });
    items.forEach((item, index) => {
      github.state.issues[`${REPO}#${index + 1}`] = {
        title: item.text.slice(0, 40),
        body: item.text,
        state: "open",
      };
    });
    const ideas = labelledFeedback({ seed: 10, themes: THEMES.slice(1, 3), perTheme: 2, duplicates: 0 });
    ideas.forEach((item, index) => {
      github.state.discussions[`${REPO}#${100 + index}`] = { title: item.text.slice(0, 40), body: item.text };
    });
    github.state.discussions[`${REPO}#200`] = { title: "Old idea", body: "closed", closed: true };
    const run = await tick("issues");
    expect(run.status).toBe("succeeded");
    expect(run.summary).toContain("16 new items");
    expect(run.summary).toContain(`https://github.com/${REPO}/issues/`);
    const found = await themes("issues");
    expect(found).toHaveLength(2);
    const labelled = Object.values(github.state.issues).filter((issue) =>
      (issue.labels ?? []).some((label) => /^feedback:c\d+$/.test(label)),
    );
    // Issues in a reported theme are labelled with it (how many are themed is triage.test.ts's business).
    expect(labelled.length).toBeGreaterThanOrEqual(6);
    const ids = new Set(found.map((theme) => theme.id));
    for (const issue of labelled) {
      expect(ids.has(issue.labels!.find((label) => label.startsWith("feedback:"))!.slice(9))).toBe(true);
    }
    expect(Object.values(github.state.issues).every((issue) => issue.state === "open")).toBe(true);
    expect(Object.keys(github.state.comments)).toHaveLength(0);

    const requests = github.requests.length;
    const idle = await tick("issues");
    expect(idle.summary).toMatch(/^no new feedback/);
    // The issue list (conditional) and the discussions query: reads only.
    expect(
      github.requests
        .slice(requests)
        .every((request) => request.method === "GET" || request.path === "/graphql"),
    ).toBe(true);
    expect(await reports("issues")).toHaveLength(1);
  });

  it("with comment: true, comments once on each issue of a theme, and labels nothing", async () => {
    const items = labelledFeedback({ seed: 19, themes: [THEMES[0]!], perTheme: 5, duplicates: 0 });
    items.forEach((item, index) => {
      github.state.issues[`acme/docs#${index + 1}`] = {
        title: item.text.slice(0, 40),
        body: item.text,
        state: "open",
      };
    });
    expect((await tick("commented")).status).toBe("succeeded");
    const found = await themes("commented");
    expect(found.length).toBeGreaterThan(0);
    // An issue in a theme, or a duplicate folded into one, gets one comment naming it.
    const commented = Object.entries(github.state.comments).filter(([key]) => key.startsWith("acme/docs#"));
    expect(commented.length).toBeGreaterThanOrEqual(found[0]!.size);
    for (const [, comments] of commented) {
      expect(comments).toHaveLength(1);
      expect(
        found.some((theme) => comments[0]!.body.includes(`this issue is in theme **${theme.id}**`)),
      ).toBe(true);
    }
    const docs = Object.entries(github.state.issues).filter(([key]) => key.startsWith("acme/docs#"));
    expect(docs.every(([, issue]) => (issue.labels ?? []).length === 0 && issue.state === "open")).toBe(true);
  });

  it("shows the same themes through a daemon's API with LOOPD_URL alone", async () => {
    const local = await themes("survey");
    expect(local.length).toBeGreaterThan(0);
    const daemon = spawnLoopd(["serve", "--port", "0"], { env, cwd: root });
    try {
      const url = String((await daemon.waitFor((event) => event.type === "ready")).url);
      const token = readFileSync(join(env.LOOPD_HOME!, "api-token"), "utf8").trim();
      const remote = await runCli(["feedback", "--json", "--routine", "survey"], {
        env: { ...env, LOOPD_HOME: join(root, "nowhere"), LOOPD_URL: url, LOOPD_TOKEN: token },
        cwd: root,
      });
      expect(remote.code, remote.stderr).toBe(0);
      expect(json<FeedbackClusterView[]>(remote)).toEqual(local);
    } finally {
      await daemon.stop();
    }
  });
});
