/**
 * The `ci-health` template end to end: `loopd serve` runs the routine against a real git
 * repository whose test command (a small node script) writes JUnit XML with one steady test,
 * one broken test and one that fails on alternate runs (its state in a file outside the
 * repository, counted per loopd run through LOOPD_RUN_ID, so a re-run within a run agrees).
 * After three runs `loopd flaky --json` classifies them (through the store and through
 * LOOPD_URL alone); a Standard Webhooks receiver gets one digest per change and nothing for a
 * fourth run that changes nothing; no model request is ever made.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { editFlaky, flakyScript } from "./helpers/ci-health-fixtures.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv } from "./helpers/fake-agent.js";
import { git } from "./helpers/git-repo.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { waitUntil } from "./helpers/wait.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const SECRET = `whsec_${Buffer.from("ci-health-secret-32-bytes-long-!!").toString("base64")}`;

/** Writes junit.xml: `steady` passes, `broken` fails, `alternating` fails on even-numbered loopd runs. */
function testScript(stateFile: string, argsLog: string): string {
  return `const fs = require("node:fs");
fs.appendFileSync(${JSON.stringify(argsLog)}, JSON.stringify(process.argv.slice(2)) + "\\n");
let state = { run: null, count: 0 };
try { state = JSON.parse(fs.readFileSync(${JSON.stringify(stateFile)}, "utf8")); } catch {}
if (state.run !== process.env.LOOPD_RUN_ID) state = { run: process.env.LOOPD_RUN_ID, count: state.count + 1 };
fs.writeFileSync(${JSON.stringify(stateFile)}, JSON.stringify(state));
const alternatingFails = state.count % 2 === 0;
const cases = [
  '<testcase classname="cart" name="steady" time="0.001"/>',
  '<testcase classname="cart" name="broken" time="0.002"><failure message="expected 3, got -1">AssertionError: expected 3, got -1</failure></testcase>',
  alternatingFails
    ? '<testcase classname="cart" name="alternating" time="0.1"><failure message="timed out after 100 ms">Error: timed out after 100 ms</failure></testcase>'
    : '<testcase classname="cart" name="alternating" time="0.1"/>',
];
fs.writeFileSync("junit.xml", '<?xml version="1.0"?><testsuites><testsuite name="cart" tests="3">' + cases.join("") + "</testsuite></testsuites>");
process.exit(1);
`;
}

interface Digest {
  id: string;
  body: Record<string, unknown>;
}

interface FlakyJson {
  routine: string;
  testId: string;
  class: string;
  flakeRate: number;
  lastFailure: string | null;
  since: string | null;
}

describe("ci-health", () => {
  const digests: Digest[] = [];
  let http: Server;
  let model: FakeModelServer;
  let root: string;
  let repo: string;
  let argsLog: string;
  let env: Record<string, string>;
  let daemon: LoopdProcess;
  let url: string;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  const tick = async () => {
    const result = await loopd("run", "health", "--wait", "--json");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return json<{ id: number; status: string; summary: string | null }>(result);
  };
  const flaky = async (extra: Record<string, string> = {}) => {
    const result = await runCli(["flaky", "--json"], { env: { ...env, ...extra }, cwd: root });
    expect(result.code, result.stderr).toBe(0);
    return Object.fromEntries(json<FlakyJson[]>(result).map((test) => [test.testId, test]));
  };
  const reportRows = async () =>
    json<Array<{ type: string; status: string }>>(await loopd("deliveries", "--json")).filter(
      (row) => row.type === "loop.report",
    );

  beforeAll(async () => {
    http = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        try {
          const verified = new Webhook(SECRET).verify(body, headers) as Record<string, unknown>;
          if (!digests.some((digest) => digest.id === headers["webhook-id"])) {
            digests.push({ id: headers["webhook-id"]!, body: verified });
          }
          res.writeHead(204).end();
        } catch {
          res.writeHead(401).end();
        }
      });
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    model = await startFakeModelServer({ script: [] });

    root = mkdtempSync(join(tmpdir(), "loopd-ci-health-"));
    repo = join(root, "shop");
    argsLog = join(root, "args.log");
    mkdirSync(repo);
    git(repo, "init", "--quiet", "-b", "main");
    writeFileSync(join(repo, "run-tests.js"), testScript(join(root, "alternating.json"), argsLog));
    writeFileSync(join(repo, ".gitignore"), "junit.xml\n");
    git(repo, "add", "-A");
    git(repo, "commit", "--quiet", "-m", "tests");

    env = fakeAgentEnv(root, model.url);
    writeFileSync(
      join(root, "loopd.yaml"),
      `channels:
  hook: { type: webhook, url: "http://127.0.0.1:${(http.address() as AddressInfo).port}/hook", secret: "${SECRET}" }
routines:
  - name: health
    template: ci-health
    params:
      test: node run-tests.js
      junit: junit.xml
      reruns: 2
      quarantine: true
    repo: ${repo}
    harness: claude
    model: claude-haiku-4-5
    every: 1d
    notify: { to: hook, on: [report] }
`,
    );
    daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], { env, cwd: root });
    url = String((await daemon.waitFor((event) => event.type === "ready")).url);
  });

  afterAll(async () => {
    await daemon?.stop();
    http?.close();
    await model?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("tells the flaky test from the broken one, sends each change once, and nothing when nothing changed", async () => {
    // Run 1: alternating passes, broken fails every try (the whole command re-run twice).
    const first = await tick();
    expect(first.status, first.summary ?? "").toBe("succeeded");
    expect(first.summary).toContain("Newly broken (1)");
    expect(first.summary).toContain("`cart::broken` failing since");
    expect(first.summary).toContain("expected 3, got -1");
    expect(readFileSync(argsLog, "utf8").trim().split("\n")).toHaveLength(3);
    await waitUntil(() => digests.length === 1, "the first digest", { everyMs: 100, state: () => digests });
    expect(digests[0]!.body).toMatchObject({ type: "loop.report", routine: "health" });
    expect(String((digests[0]!.body.payload as { summary?: string }).summary)).toContain("Newly broken (1)");

    // Run 2: alternating fails every try on the commit it passed on: flaky, said once.
    const second = await tick();
    expect(second.summary).toContain("Newly flaky (1)");
    expect(second.summary).toMatch(
      /`cart::alternating` flake rate 50% over 2 run\(s\): timed out after 100 ms/,
    );
    expect(second.summary).not.toContain("Newly broken");
    await waitUntil(() => digests.length === 2, "the second digest", { everyMs: 100, state: () => digests });

    // Run 3: alternating passes again; nothing new to say.
    const third = await tick();
    expect(third.summary).toMatch(/3 tests: 1 broken, 1 flaky; no change since the last digest/);

    const classified = await flaky();
    expect(classified["cart::steady"]).toMatchObject({ class: "passing", flakeRate: 0, routine: "health" });
    expect(classified["cart::broken"]).toMatchObject({
      class: "broken",
      flakeRate: 0,
      lastFailure: "expected 3, got -1\nAssertionError: expected 3, got -1",
    });
    expect(classified["cart::alternating"]).toMatchObject({
      class: "flaky",
      lastFailure: expect.stringContaining("timed out"),
    });
    expect(classified["cart::alternating"]!.flakeRate).toBeCloseTo(1 / 3);
    // The same table through the daemon's API alone.
    const token = readFileSync(join(env.LOOPD_HOME!, "api-token"), "utf8").trim();
    expect(await flaky({ LOOPD_HOME: join(root, "nowhere"), LOOPD_URL: url, LOOPD_TOKEN: token })).toEqual(
      classified,
    );

    // The quarantine list names the flaky test only, for the runner to skip.
    const quarantine = JSON.parse(readFileSync(join(repo, ".loopd-quarantine.json"), "utf8")) as {
      tests: Array<{ id: string; classname: string; name: string }>;
    };
    expect(quarantine.tests).toEqual([
      expect.objectContaining({ id: "cart::alternating", classname: "cart", name: "alternating" }),
    ]);
    expect(git(repo, "status", "--porcelain")).toBe("?? .loopd-quarantine.json");

    // Run 4: alternating fails again, still flaky: no digest. Its outbox row would exist by now.
    const fourth = await tick();
    expect(fourth.summary).toContain("no change since the last digest");
    expect(await reportRows()).toHaveLength(2);
    await waitUntil(
      async () => (await reportRows()).every((row) => row.status === "delivered"),
      "both digests delivered",
      { everyMs: 100 },
    );
    expect(digests).toHaveLength(2);
    expect(model.requests).toHaveLength(0);
    // Four runs, each the suite plus re-runs through a daemon: a loaded machine takes a while.
  }, 120_000);

  it("fix: true hands the flaky test to the agent once, confirms the fix by re-running it, and keeps it on the run branch", async () => {
    const lib = join(root, "lib");
    mkdirSync(lib);
    git(lib, "init", "--quiet", "-b", "main");
    writeFileSync(join(lib, "flaky.js"), "module.exports = (count) => count % 2 === 1;\n");
    writeFileSync(join(lib, "run-tests.js"), flakyScript(".timing-count"));
    writeFileSync(join(lib, ".gitignore"), "junit.xml\n.timing-count\n");
    git(lib, "add", "-A");
    git(lib, "commit", "--quiet", "-m", "clock tests");
    const head = git(lib, "rev-parse", "HEAD");
    writeFileSync(
      join(root, "fix.yaml"),
      `routines:
  - name: fixer
    template: ci-health
    params: { test: node run-tests.js, junit: junit.xml, reruns: 1, fix: true, confirm: 3 }
    repo: ${lib}
    harness: claude
    model: claude-haiku-4-5
    maxTurns: 6
    timeout: 2m
    every: 1d
`,
    );
    expect((await loopd("apply", "-f", "fix.yaml")).code).toBe(0);
    model.setScript(
      editFlaky("module.exports = () => true;\n", "flaky.js failed every other call; it always passes now."),
    );

    const result = await loopd("run", "fixer", "--wait", "--json");
    const run = json<{ id: number; status: string; summary: string | null }>(result);
    expect(run.status, run.summary ?? result.stderr).toBe("succeeded");
    expect(run.summary).toContain("Newly flaky (1)");
    expect(run.summary).toContain(
      `fix of \`clock::timing\`: confirmed: 3/3 passes with the fix, on branch loopd/fixer/${run.id}`,
    );
    const prompt = JSON.stringify(model.turns()[0]?.body.messages ?? "");
    expect(prompt).toContain("clock::timing");
    expect(prompt).toContain("expected the tick within 10 ms");
    expect(git(lib, "show", `loopd/fixer/${run.id}:flaky.js`)).toBe("module.exports = () => true;");
    expect(git(lib, "rev-parse", `loopd/fixer/${run.id}^`)).toBe(head);
    // The checkout the tests run in is left as it was.
    expect(git(lib, "rev-parse", "HEAD")).toBe(head);
    expect(git(lib, "status", "--porcelain")).toBe("");
    // The scratch worktree the fix was confirmed in is gone: the checkout and the agent's pool slot remain.
    const worktrees = git(lib, "worktree", "list").split("\n");
    expect(worktrees.filter((line) => !line.startsWith(root))).toEqual([]);
    expect(worktrees).toHaveLength(2);

    // The next tick on the same commit does not ask again.
    const requests = model.requests.length;
    const again = json<{ status: string }>(await loopd("run", "fixer", "--wait", "--json"));
    expect(again.status).toBe("succeeded");
    expect(model.requests.length).toBe(requests);
  }, 120_000);

  it("init --template ci-health picks the repo's runner and says so", async () => {
    const project = join(root, "vitest-project");
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ scripts: { test: "vitest" }, devDependencies: { vitest: "4.0.0" } }),
    );
    const init = await runCli(["init", "--template", "ci-health"], { env, cwd: project });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("Test command: package.json's test script runs Vitest");
    const written = readFileSync(join(project, "loopd.yaml"), "utf8");
    expect(written).toContain(
      'test: "npm test -- --run --reporter=default --reporter=junit --outputFile.junit=.loopd-junit.xml"',
    );
    const applied = await runCli(["apply", "--dry-run"], { env, cwd: project });
    expect(applied.code, applied.stderr).toBe(0);

    const python = join(root, "py-project");
    mkdirSync(join(python, "tests"), { recursive: true });
    writeFileSync(join(python, "tests", "test_prices.py"), "def test_ok():\n    assert True\n");
    const pyInit = await runCli(["init", "--template", "ci-health", "--json"], { env, cwd: python });
    expect(json<{ testCommand: string }>(pyInit).testCommand).toContain("pytest --junitxml=.loopd-junit.xml");

    const go = join(root, "go-project");
    mkdirSync(go);
    writeFileSync(join(go, "go.mod"), "module example.com/shop\n\ngo 1.22\n");
    const goInit = await runCli(["init", "--template", "ci-health", "--json"], { env, cwd: go });
    expect(json<{ testCommand: string }>(goInit).testCommand).toContain("go-junit-report");
    expect(readFileSync(join(go, "loopd.yaml"), "utf8")).toContain("go test -v ./...");
  });
});
