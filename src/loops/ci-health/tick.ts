/**
 * One tick of `ci-health` (source local): run the test command in the routine's repo, read
 * the JUnit XML it wrote, re-run only the tests that failed (where the runner can select
 * them, else the whole command) up to `reruns` times, record every outcome with the commit,
 * classify the window (domain/test-health.ts) and, when a test became flaky or broken or
 * recovered since the last digest, send one (`report` notify rules) and make it the run's
 * summary. With `quarantine`, the flaky tests are written to a file the runner reads.
 * Nothing here asks a model.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { CiHealthParams } from "../../domain/templates/ci-health.js";
import {
  classifyTests,
  digestChanges,
  hasChanges,
  reportedClasses,
  type TestClass,
  type TestHealth,
  type TestObservation,
} from "../../domain/test-health.js";
import type { HarnessResult } from "../../harness/harness.js";
import { runShellCommand } from "../../lib/shell-command.js";
import type { CommandSandbox, LoopContext, LoopOutcome, LoopTick } from "../loop.js";
import { readActions } from "./actions.js";
import { fixCandidate, fixFlakyTest } from "./fix.js";
import { type JUnitCase, readJUnitReport } from "./junit.js";
import { renderDigest, suiteLine } from "./report.js";
import { rerunPlan } from "./rerun.js";

/** Loop item holding the classes the last digest reported. */
const DIGEST_ITEM = "digest";

interface DigestMemory {
  classes: Record<string, TestClass>;
  runId: number;
}

export const ciHealthTick: LoopTick = async (context) => {
  const params = context.loop as unknown as CiHealthParams;
  const repo = context.spec.repo;
  let read: LocalRead;
  if (params.source === "github-actions") {
    const actions = await readActions(context, params);
    read = {
      observations: actions.observations,
      commit: actions.commit,
      cases: [],
      testScript: null,
      ran: `${actions.runs} new workflow run(s), ${actions.fromArtifacts} from JUnit artifacts${actions.notes.length > 0 ? `; ${actions.notes.join("; ")}` : ""}`,
    };
  } else {
    const local = await runLocal(context, params, repo);
    if ("error" in local) return local.error;
    read = local;
  }
  const { observations, commit, testScript } = read;
  const first = { cases: read.cases };
  await context.tests.record(observations);

  const history = await context.tests.recent(params.window);
  const health = classifyTests(history);
  const items = await context.items.all();
  const memory = (items.get(DIGEST_ITEM) as DigestMemory | undefined) ?? null;
  const changes = digestChanges(memory?.classes ?? {}, health);
  if (params.quarantine && existsSync(repo)) await writeQuarantine(context, repo, params, health);
  // Written once the digest is sent: a tick that fails before that reports the change next time.
  const remember = async () => {
    const classes = reportedClasses(health);
    if (JSON.stringify(classes) !== JSON.stringify(memory?.classes ?? {})) {
      await context.items.put(DIGEST_ITEM, { classes, runId: context.run.id } satisfies DigestMemory);
    }
  };
  // fix: true — the worst flaky test not tried on this commit yet; none, no model request.
  let agent: HarnessResult | null = null;
  let fixLine: string | null = null;
  // Only a local suite can confirm a fix by re-running the test.
  const candidate = params.fix && params.source === "local" ? fixCandidate(health, items, commit) : null;
  const testCase = candidate ? first.cases.find((found) => found.id === candidate.testId) : undefined;
  if (candidate && testCase) {
    try {
      const fixed = await fixFlakyTest({
        context,
        params,
        repo,
        commit,
        test: candidate,
        testCase,
        history,
        testScript,
        runTests: async (cwd, command, shell) => {
          const result = await runSuite(context, cwd, params, command, shell);
          return "error" in result ? null : result.cases;
        },
      });
      agent = fixed.agent;
      fixLine = fixed.line;
      context.log(`[ci-health] ${fixLine}`);
    } catch (error) {
      context.signal.throwIfAborted();
      // A fix that could not be delivered (a refused push) is news, not a failed health check.
      fixLine = `fix of \`${candidate.testId}\` not delivered: ${error instanceof Error ? error.message : String(error)}`;
      context.log(`[ci-health] ${fixLine}`);
    }
  }
  const ran = read.ran;
  if (!hasChanges(changes) && fixLine === null) {
    const summary = `${suiteLine(health)}; no change since the last digest (${ran})`;
    context.log(`[ci-health] ${summary}`);
    await remember();
    return { summary, agent };
  }
  const digest = renderDigest({
    routine: context.run.routineName,
    command: params.source === "github-actions" ? `${params.repo} workflows` : (params.test ?? ""),
    commit,
    changes,
    health,
    fix: fixLine,
  });
  context.log(
    `[ci-health] digest: ${changes.newlyBroken.length} newly broken, ${changes.newlyFlaky.length} newly flaky, ${changes.recovered.length} recovered`,
  );
  await context.notify({ kind: "report", summary: digest, url: null });
  await remember();
  return { summary: digest, agent };
};

interface LocalRead {
  observations: TestObservation[];
  commit: string;
  /** The suite's own run (try 0): the cases a fix can name. */
  cases: JUnitCase[];
  testScript: string | null;
  ran: string;
}

/** source local: the suite, then re-runs of what failed, as observations on the checkout's HEAD. */
async function runLocal(
  context: LoopContext,
  params: CiHealthParams,
  repo: string,
): Promise<LocalRead | { error: LoopOutcome }> {
  if (!params.test || !params.junit) {
    return {
      error: failure("ci-health with source local needs `test` and `junit` params", {
        hint: "Set `test` (the command) and `junit` (the report it writes); `loopd init --template ci-health` picks both.",
      }),
    };
  }
  if (!existsSync(repo)) {
    return {
      error: failure(`ci-health runs the tests in a local checkout: routine repo ${repo} is not a folder`, {
        hint: "Set the routine's `repo:` to the checkout's path.",
      }),
    };
  }
  const commit = await headCommit(context, repo);
  const observations: TestObservation[] = [];
  const record = (cases: readonly JUnitCase[], attempt: number) => {
    const at = context.now();
    for (const testcase of cases) {
      // Surefire re-ran it itself: each failed re-run, then the pass, is one more try.
      testcase.flakyFailures.forEach((message, index) => {
        observations.push(observation(testcase.id, attempt + index, "failed", commit, message, at));
      });
      observations.push(
        observation(
          testcase.id,
          attempt + testcase.flakyFailures.length,
          testcase.outcome,
          commit,
          testcase.message,
          at,
        ),
      );
    }
  };

  const first = await runSuite(context, repo, params, params.test);
  if ("error" in first) return first;
  record(first.cases, 0);
  let failed = first.cases.filter((testcase) => testcase.outcome === "failed");
  const testScript = packageTestScript(repo);
  for (let attempt = 1; attempt <= params.reruns && failed.length > 0; attempt++) {
    context.signal.throwIfAborted();
    const plan = rerunPlan(params.test, failed, {
      testScript,
      fileExists: (path) => existsSync(join(repo, path)),
    });
    context.log(
      `[ci-health] re-run ${attempt}/${params.reruns} of ${failed.length} failed test(s)${plan.selects ? "" : ` (${plan.runner === "other" ? "the runner cannot select tests" : "no selection"}: the whole command)`}`,
    );
    const again = await runSuite(context, repo, params, plan.command);
    if ("error" in again) return again;
    const byId = new Map(again.cases.map((testcase) => [testcase.id, testcase]));
    const rerun = failed.flatMap((testcase) => {
      const found = byId.get(testcase.id);
      return found ? [found] : [];
    });
    record(rerun, attempt);
    failed = rerun.filter((testcase) => testcase.outcome === "failed");
  }
  return {
    observations,
    commit,
    cases: first.cases,
    testScript,
    ran: `${first.cases.length} test(s) on ${commit.slice(0, 12)}`,
  };
}

type SuiteResult = { cases: JUnitCase[] } | { error: LoopOutcome };

async function runSuite(
  context: LoopContext,
  repo: string,
  params: CiHealthParams,
  command: string,
  /** Where a fix's confirming re-runs go (the routine's sandbox); else unconfined, like the suite. */
  shell?: CommandSandbox,
): Promise<SuiteResult> {
  const junit = params.junit ?? "";
  const report = isAbsolute(junit) ? junit : resolve(repo, junit);
  // A single report file is the runner's to write afresh: an old one must not pass for this run's.
  const info = await stat(report).catch(() => null);
  if (info?.isFile()) await rm(report, { force: true });
  const started = context.now();
  context.log(`[ci-health] $ ${command}`);
  const onLine = (_stream: "stdout" | "stderr", line: string) => context.log(line);
  const result = shell
    ? await shell.run(command, { onLine })
    : await runShellCommand(command, {
        cwd: repo,
        // Runners that honour the quarantine list skip nothing for loopd itself (docs/quarantine.md).
        env: { ...context.commandEnv, LOOPD_CI_HEALTH: "1" },
        signal: context.signal,
        onLine,
      });
  context.signal.throwIfAborted();
  if (result.spawnError !== null) {
    return { error: failure(`could not start \`${command}\`: ${result.spawnError}`) };
  }
  // Folder reports: only files written since the command started (a second's slack for coarse mtimes).
  const cases = await readJUnitReport(report, Math.min(started, Date.now()) - 1000);
  if (cases === null) {
    return {
      error: failure(
        `\`${command}\` exited ${result.exitCode ?? "by a signal"} and wrote no JUnit XML at ${junit}`,
        {
          hint: "Make the test command write a JUnit report (Vitest `--reporter=junit --outputFile=…`, pytest `--junitxml=…`, go-junit-report) at the routine's `junit` path; `loopd init --template ci-health` picks one for you.",
        },
      ),
    };
  }
  context.log(
    `[ci-health] ${cases.length} test(s): ${cases.filter((c) => c.outcome === "failed").length} failed (exit ${result.exitCode ?? "signal"})`,
  );
  return { cases };
}

async function writeQuarantine(
  context: LoopContext,
  repo: string,
  params: CiHealthParams,
  health: readonly TestHealth[],
): Promise<void> {
  const path = isAbsolute(params.quarantineFile)
    ? params.quarantineFile
    : resolve(repo, params.quarantineFile);
  const flaky = health.filter((test) => test.class === "flaky");
  const content = `${JSON.stringify(
    {
      comment: `Written by loopd's ci-health routine ${context.run.routineName}: tests that failed and passed on the same commit. Your test runner reads this to skip them; loopd never edits tests.`,
      tests: flaky.map((test) => {
        const [classname, name] = splitId(test.testId);
        return {
          id: test.testId,
          classname,
          name,
          flakeRate: Math.round(test.flakeRate * 1000) / 1000,
          since: test.since ? new Date(test.since.at).toISOString() : null,
        };
      }),
    },
    null,
    2,
  )}\n`;
  // Unchanged lists are not rewritten: a watcher on the file sees only real changes.
  if ((await readFile(path, "utf8").catch(() => null)) === content) return;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  context.log(`[ci-health] quarantine: ${flaky.length} flaky test(s) in ${params.quarantineFile}`);
}

function splitId(id: string): [string, string] {
  const at = id.indexOf("::");
  return at < 0 ? ["", id] : [id.slice(0, at), id.slice(at + 2)];
}

function observation(
  testId: string,
  attempt: number,
  outcome: JUnitCase["outcome"],
  commit: string,
  message: string | null,
  at: number,
): TestObservation {
  return { runId: 0, testId, try: attempt, outcome, commit, message, at };
}

async function headCommit(context: LoopContext, repo: string): Promise<string> {
  const { execa } = await import("execa");
  const result = await execa("git", ["rev-parse", "HEAD"], {
    cwd: repo,
    reject: false,
    cancelSignal: context.signal,
  });
  // Not a git checkout: every run counts as the same code, so failures and passes still compare.
  return result.exitCode === 0 ? String(result.stdout).trim() : "working-tree";
}

/** The package's `test` script, to know which runner `npm test` starts. */
function packageTestScript(repo: string): string | null {
  try {
    const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
      scripts?: Record<string, unknown>;
    };
    const script = manifest.scripts?.test;
    return typeof script === "string" ? script : null;
  } catch {
    return null;
  }
}

function failure(message: string, options: { hint?: string } = {}): LoopOutcome {
  return {
    summary: message,
    agent: null,
    error: { code: "LOOPD_RUN_FAILED", message, ...(options.hint ? { hint: options.hint } : {}) },
  };
}
