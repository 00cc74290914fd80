/**
 * `ci-health`: runs the test suite on a schedule and keeps each test's history, so flaky tests
 * (failed and passed on the same commit) are told apart from broken ones (failing every time
 * since a commit). Each tick (src/loops/ci-health/) runs `test` in the routine's repo, reads
 * the JUnit XML it writes, re-runs only what failed up to `reruns` times, records every
 * outcome and sends a digest to the notify rules asking for `report` — only when a test
 * became flaky or broken, or recovered. No model request unless `fix: true` finds a flaky test.
 */
import { z } from "zod";
import { envName } from "../config-values.js";
import type { RoutineTemplate } from "./template.js";

export const ciHealthParams = z.strictObject({
  test: z.string({ error: "the test command, e.g. npm test" }).min(1).optional().meta({
    description:
      "The test command, run in the routine's repo; it must write JUnit XML at `junit` (needed with source local).",
  }),
  junit: z.string({ error: "the path of the JUnit XML the test command writes" }).min(1).optional().meta({
    description:
      "The JUnit XML report the command writes (relative to the repo), or a folder of them (Surefire).",
  }),
  reruns: z.int().min(0).max(10).default(2).meta({
    description:
      "Re-runs of the tests that failed, only those where the runner can select them (default 2); a pass on re-run marks a test flaky.",
  }),
  source: z.enum(["local", "github-actions"]).default("local").meta({
    description:
      "local: run `test` in the routine's repo (default). github-actions: read the branch's completed workflow runs: their JUnit artifacts test by test, else each job is one entry, its failed tests named from the log.",
  }),
  repo: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { error: "the repository as owner/name, e.g. acme/shop" })
    .optional()
    .meta({ description: "source github-actions: the GitHub repository as owner/name." }),
  branch: z.string().min(1).optional().meta({
    description:
      "source github-actions: the branch whose runs are read (default the repository's default branch).",
  }),
  artifact: z.string().min(1).optional().meta({
    description:
      "source github-actions: the artifacts holding JUnit XML, a name glob (`junit-*`; default any artifact with JUnit XML inside); a run without one is read from its job logs.",
  }),
  tokenEnv: envName.optional().meta({
    description:
      "source github-actions: environment variable of the daemon holding the GitHub token (default GITHUB_TOKEN, GH_TOKEN, `gh auth token`).",
  }),
  fix: z.boolean().default(false).meta({
    description:
      "Let the routine's agent try to fix the worst flaky test, once per commit; loopd re-runs it `confirm` times before delivering (default false).",
  }),
  confirm: z.int().min(1).max(50).default(5).meta({
    description: "Re-runs of a fixed test that must all pass before the fix is delivered (default 5).",
  }),
  quarantine: z.boolean().default(false).meta({
    description:
      "Write the flaky tests to `quarantineFile` for the test runner to skip (loopd never edits tests; default false).",
  }),
  // Not under .loopd/: a .loopd folder in the repo would become loopd's home for commands run there.
  quarantineFile: z.string().min(1).default(".loopd-quarantine.json").meta({
    description:
      "Where the quarantine list is written, relative to the repo (default .loopd-quarantine.json).",
  }),
  window: z.int().min(2).max(500).default(20).meta({
    description: "How many recent runs the classification and flake rates look at (default 20).",
  }),
});

export type CiHealthParams = z.output<typeof ciHealthParams>;

export const CI_HEALTH_PROMPT = `You fix a flaky test: it fails sometimes and passes other times on the same commit.
You are on a fresh branch in a git worktree of the repository. Its failure messages and history are below.
- Find why the test is not deterministic (timing, order, shared state, the clock, randomness, the network) and make the smallest change that makes it pass every time; fix the code under test when the bug is there.
- Do not skip, delete or weaken the test, and do not add retries to it.
- Do not commit or push: loopd commits your changes and re-runs the test several times to confirm.`;

export const ciHealth: RoutineTemplate = {
  name: "ci-health",
  description: "Run the tests on a schedule, tell flaky from broken tests, and report what changed.",
  ready: true,
  params: ciHealthParams as unknown as RoutineTemplate["params"],
  expand(params) {
    return {
      description:
        params.source === "github-actions"
          ? `Workflow health of ${String(params.repo)}`
          : `Test health of \`${String(params.test)}\``,
      prompt: CI_HEALTH_PROMPT,
      every: "1h",
      timeout: "30m",
      // The tick runs the tests in the repo as it is; an agent's fix (fix: true) gets a worktree.
      budget: { perRun: 2, perDay: 10 },
      loop: { kind: "ci-health", ...params },
    };
  },
  example: ciHealthExample({
    test: "npm test -- --run --reporter=default --reporter=junit --outputFile.junit=.loopd-junit.xml",
    junit: ".loopd-junit.xml",
    comment: "must write JUnit XML (`loopd init --template ci-health` picks it for your repo)",
  }),
};

/** The routine `loopd init --template ci-health` writes, with the test command it chose for the repo. */
export function ciHealthExample(choice: { test: string; junit: string; comment: string }): string {
  return `name: ci-health
template: ci-health
params:
  test: ${JSON.stringify(choice.test)}   # ${choice.comment}
  junit: ${JSON.stringify(choice.junit)}   # the report it writes (a folder of them for Surefire)
  reruns: 2                # re-runs of what failed, to tell flaky from broken
  # quarantine: true       # write flaky tests to .loopd-quarantine.json for your runner to skip
# The digest goes to notify rules asking for \`report\`, only when something changed:
# notify: { to: team, on: [report, failure] }
# every: 1h                # the template's schedule; override it here
`;
}
